// A program the end-to-end tests run as a separate process, to see what happens to workers when
// their parent dies, and what a program's own output looks like. Usage: Multiproc.Actors.TestApp <mode>
//   hold-pool: start a 2-worker pool, run one map on it, print "ready", then wait until killed.
//   busy-pool: start a 2-worker pool on a map of tasks that spin for a minute, print "ready" once
//              both workers are busy, then wait until killed.
//   close-join <rounds> <processes>: <rounds> times, start a pool, run one map on it, Close() and
//              Join() it, and print "round <i>: <n> results"; then print "done" and exit 0. What a
//              user sees on standard output is then those lines only.
using Multiproc.Actors;

switch (args.FirstOrDefault())
{
    case "hold-pool":
    {
        var pool = new ProcessPool(processes: 2);
        pool.Map(x => x + 1, Enumerable.Range(0, 100));
        Console.WriteLine("ready");
        Console.Out.Flush();
        new ManualResetEventSlim().Wait();   // until killed
        GC.KeepAlive(pool);
        return 0;
    }
    case "busy-pool":
    {
        var pool = new ProcessPool(processes: 2);
        var marks = Directory.CreateTempSubdirectory("multiproc-busy-app-").FullName;
        var pending = pool.MapAsync(Busy(marks), Enumerable.Range(0, 8), chunksize: 1);
        if (!SpinWait.SpinUntil(() => Directory.GetFiles(marks).Length >= 2, TimeSpan.FromSeconds(60)))
            return 3;
        Console.WriteLine("ready");
        Console.Out.Flush();
        pending.Wait();
        return 0;
    }
    case "close-join" when args.Length == 3 && int.TryParse(args[1], out var rounds) && int.TryParse(args[2], out var processes):
    {
        for (var round = 1; round <= rounds; round++)
        {
            using var pool = new ProcessPool(processes);
            var results = pool.Map(x => x * 2, Enumerable.Range(0, 4 * processes), chunksize: 1);
            pool.Close();
            pool.Join();
            Console.WriteLine($"round {round}: {results.Count} results");
        }
        Console.WriteLine("done");
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: Multiproc.Actors.TestApp hold-pool | busy-pool | close-join <rounds> <processes>");
        return 2;
}

// Marks its worker as busy, then spins (CPU-bound, not sleeping) for a minute.
static Func<int, int> Busy(string marks) => x =>
{
    File.WriteAllText(Path.Combine(marks, Environment.ProcessId.ToString()), "");
    var until = Environment.TickCount64 + 60_000;
    while (Environment.TickCount64 < until)
    {
    }
    return x;
};
