// The seed's Pool workflow in C#: a pool whose initializer sets a per-worker "global", a task that
// returns [process id, value], results in input order, sanitized into rows and printed.
using Multiproc.Actors;

var urls = Enumerable.Range(1, 12).Select(i => $"https://example.com/page/{i}").ToArray();

using var pool = new ProcessPool(processes: 4, initializer: InitWorker, initargs: ["worker-greeting"]);
IReadOnlyList<object[]> results = pool.Map(Execute, urls);   // one [process id, value] row per url, in input order
pool.Close();
pool.Join();

var rows = SanitizeResults(results);
foreach (var row in rows)
    Console.WriteLine(row);
Console.WriteLine($"{rows.Count} results from {rows.Select(r => r.ProcessId).Distinct().Count()} worker processes " +
                  $"(this process is {Environment.ProcessId}).");

// Runs once in each worker process: what it sets is that worker's "global".
static void InitWorker(string greeting) => Worker.Global = greeting;

// A task: the worker's process id and the value it made.
static object[] Execute(string url) => [Environment.ProcessId, $"{Worker.Global}: fetched {url} ({url.Length} chars)"];

static List<ProcessResult<string>> SanitizeResults(IEnumerable<object[]> results) =>
    results.Select(row => new ProcessResult<string>((int)row[0], (string)row[1])).ToList();

static class Worker
{
    public static string Global = "";
}
