using System.Diagnostics;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>Finds every worker process of a pool by making each of them run a task.</summary>
internal static class WorkerPids
{
    /// <summary>
    /// The pids of all the pool's workers. Each task drops its worker's pid in a directory and waits
    /// (bounded) until every worker has: no worker can finish a task, and so take more than its
    /// prefetch, before all have one, so each worker ends up running at least one.
    /// </summary>
    public static async Task<int[]> Of(ProcessPool pool)
    {
        var dir = Directory.CreateTempSubdirectory("multiproc-e2e-").FullName;
        try
        {
            var arrive = ArriveAt(dir, pool.Processes);
            var pids = await Deadline.Call(() => pool.Map(arrive, Enumerable.Range(0, pool.Processes * 4), chunksize: 1));
            var distinct = pids.Distinct().Order().ToArray();
            Assert.Equal(pool.Processes, distinct.Length);
            return distinct;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Built here so the closure holds only the directory and the count.
    private static Func<int, int> ArriveAt(string dir, int workers) => _ => Arrive(dir, workers);

    private static int Arrive(string dir, int workers)
    {
        var pid = Environment.ProcessId;
        File.WriteAllText(Path.Combine(dir, pid.ToString()), "");
        var clock = Stopwatch.StartNew();
        while (Directory.GetFiles(dir).Length < workers && clock.Elapsed < TimeSpan.FromSeconds(30))
            Thread.Sleep(20);
        return pid;
    }
}
