using System.Diagnostics;

namespace Multiproc.Actors.Benchmarks;

/// <summary>What every scenario runs with: the run count, smoke mode, the guard, the warm-up and the log.</summary>
internal sealed class Bench(int runs, bool smoke, Guard guard, TimeSpan warmUp)
{
    /// <summary>Timed runs per figure (1 in smoke mode).</summary>
    public int Runs => smoke ? 1 : runs;

    /// <summary>Smoke mode: every scenario once, at tiny size, without warm-up.</summary>
    public bool Smoke => smoke;

    /// <summary>Whether to warm up before the timed runs.</summary>
    public bool WarmUp => !smoke;

    public Guard Guard => guard;

    /// <summary>
    /// A throughput scenario's unmeasured runs: one (the Python scripts' warm-up), repeated until the
    /// warm-up time has passed. The runtime recompiles hot methods, optimized with what it saw them do,
    /// only after they have run a while (tiered compilation: ~3 s of a fan-out in a new worker, ~6 s in
    /// this process), and a long-lived service runs at that speed; the first run's value is returned
    /// (null in smoke mode) for the JSON line, so the speed of a process's first seconds stays on record.
    /// </summary>
    public T? WarmUpRuns<T>(Func<T> run) where T : struct
    {
        if (!WarmUp)
            return null;
        var clock = Stopwatch.StartNew();
        var first = run();
        while (clock.Elapsed < warmUp)
            run();
        return first;
    }

    /// <summary>Runs <paramref name="run"/> <see cref="Runs"/> times through the guard.</summary>
    public (List<T> Values, GuardInfo? Info) Measure<T>(Func<T> run) => guard.Measure(run, Runs);

    /// <summary>Progress, on standard error (standard output carries only the table and the JSON lines).</summary>
    public static void Log(string message) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");
}

/// <summary>Ends the program if a scenario hangs: a benchmark that never returns helps no one.</summary>
internal sealed class Watchdog : IDisposable
{
    public const int ExitCode = 3;
    private readonly Timer _timer;

    public Watchdog(TimeSpan limit, string what)
    {
        _timer = new Timer(_ =>
        {
            Console.Error.WriteLine($"watchdog: {what} did not finish within {limit}; exiting (its worker processes end with this process).");
            Console.Error.Flush();
            // Exit runs the default context's exit hook, which kills the workers.
            Environment.Exit(ExitCode);
        }, null, limit, Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _timer.Dispose();
}
