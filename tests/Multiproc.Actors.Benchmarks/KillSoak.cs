using System.Diagnostics;

namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// Issue 13's soak (not a speed figure, and not run by "all"): a ready worker of a
/// <c>ProcessPool(3)</c> is SIGKILLed every 300 ms, at random, for as long as a <c>Map</c> of 5,000
/// tasks of ~2 ms (chunksize 1) runs. Every run must return every result once, in order: a death
/// counts as a try only of the task that was executing, so no innocent task fails with
/// <see cref="WorkerCrashedException"/>. A run that does not fails the scenario.
/// </summary>
internal static class KillSoak
{
    private static readonly TimeSpan KillEvery = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(10);

    public static ScenarioOutput Run(Bench bench)
    {
        var tasks = bench.Smoke ? 200 : 5_000;
        var runs = new List<(double Wall, int Kills)>();
        for (var run = 0; run < bench.Runs; run++)
        {
            runs.Add(One(tasks, seed: run));
            Bench.Log($"kill_soak run {run + 1}: {runs[^1].Kills} kills, {runs[^1].Wall:F1} s, every result once and in order");
        }
        return new ScenarioOutput(new()
        {
            ["wall_s"] = Summary.Of(runs.Select(r => r.Wall)),
            ["kills"] = Summary.Of(runs.Select(r => (double)r.Kills)),
        }, null, new()
        {
            ["tasks"] = tasks,
            ["task_ms"] = 2,
            ["kill_every_ms"] = KillEvery.TotalMilliseconds,
            ["complete_runs"] = runs.Count,
        });
    }

    private static (double Wall, int Kills) One(int tasks, int seed)
    {
        var dir = Directory.CreateTempSubdirectory("multiproc-soak-").FullName;
        var kills = 0;
        using var stop = new CancellationTokenSource();
        try
        {
            using var pool = new ProcessPool(3);
            var t0 = Stopwatch.GetTimestamp();
            var pending = pool.MapAsync(MarkAndSpin(dir), Enumerable.Range(0, tasks), chunksize: 1);
            var killer = Task.Run(async () =>
            {
                var random = new Random(seed);
                using var every = new PeriodicTimer(KillEvery);
                while (await every.WaitForNextTickAsync(stop.Token))
                {
                    // Ready workers: those that have finished a task (each notes its pid then).
                    var ready = Directory.GetFiles(dir).Select(f => int.Parse(Path.GetFileName(f)))
                        .Where(pid => ProcFs.Stat(pid) is { State: not 'Z' and not 'X' }).ToArray();
                    if (ready.Length == 0)
                        continue;
                    try
                    {
                        Process.GetProcessById(ready[random.Next(ready.Length)]).Kill();
                        kills++;
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                        // Exited meanwhile.
                    }
                }
            });
            var results = pending.Get(RunLimit);
            var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            stop.Cancel();
            killer.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            if (!results.SequenceEqual(Enumerable.Range(0, tasks).Select(x => x * 2)))
                throw new InvalidOperationException("kill_soak: the results are not every input's, once, in order.");
            return (wall, kills);
        }
        finally
        {
            stop.Cancel();
            Directory.Delete(dir, recursive: true);
        }
    }

    // Built here so the closure holds only the directory.
    private static Func<int, int> MarkAndSpin(string dir) => x => MarkAndSpin(dir, x);

    private static bool _marked;

    private static int MarkAndSpin(string dir, int x)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMilliseconds(2))
        {
        }
        if (!_marked)
        {
            File.WriteAllText(Path.Combine(dir, Environment.ProcessId.ToString()), "");
            _marked = true;
        }
        return x * 2;
    }
}
