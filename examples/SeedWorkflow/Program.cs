// The seed's Operational Workflow: a SimpleQueue shared with a pool through its initializer; each
// task returns [process id, value] and puts (process id, value) on the queue; the results come
// back in input order and are sanitized into {process-id, data} rows; then everything the queue
// holds is read with GetAll, and the queue is closed.
using Multiproc.Actors;

var urls = Enumerable.Range(1, 12).Select(i => $"https://example.com/page/{i}").ToArray();

var results = MultiExecuteTasks(urls);

Console.WriteLine("Results, in input order:");
foreach (var row in SanitizeResults(results.Rows))
    Console.WriteLine($"  {row}");

Console.WriteLine($"Shared queue ({results.Queued.Count} items):");
foreach (var (processId, value) in results.Queued)
    Console.WriteLine($"  ({processId}, {value})");

Console.WriteLine($"{results.Rows.Count} results from {results.Rows.Select(r => (int)r[0]).Distinct().Count()} worker processes " +
                  $"(this process is {Environment.ProcessId}).");

static (IReadOnlyList<object[]> Rows, IReadOnlyList<(int ProcessId, string Value)> Queued) MultiExecuteTasks(string[] urls)
{
    // A shared queue: the bridge between this process and the workers.
    var sharedQueue = new SimpleQueue<(int ProcessId, string Value)>();

    using var pool = new ProcessPool(processes: 2, initializer: InitWorker, initargs: [sharedQueue]);
    var results = pool.Map(Execute, urls);
    // Every item a task put is in the queue once its result is back.
    var queued = sharedQueue.GetAll();

    sharedQueue.Close();
    pool.Close();
    pool.Join();
    return (results, queued);
}

// Runs once in each worker process: what it sets is that worker's "global".
static void InitWorker(SimpleQueue<(int ProcessId, string Value)> sharedQueue)
{
    Worker.Queue = sharedQueue;
    Worker.Global = "";
}

// A task: the worker's process id and the value it made, returned and also put on the shared queue.
static object[] Execute(string url)
{
    var currentProcessId = Environment.ProcessId;
    var value = $"{Worker.Global}fetched {url}";
    Worker.Queue!.Put((currentProcessId, value));
    return [currentProcessId, value];
}

static List<ProcessResult<string>> SanitizeResults(IEnumerable<object[]> results)
{
    var rows = new List<ProcessResult<string>>();
    foreach (var row in results)
    {
        var currentProcessId = (int)row[0];
        var currentProcessData = (string)row[1];
        rows.Add(new ProcessResult<string>(currentProcessId, currentProcessData));
    }
    return rows;
}

static class Worker
{
    public static SimpleQueue<(int ProcessId, string Value)>? Queue;
    public static string Global = "";
}
