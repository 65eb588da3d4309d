using System.Diagnostics;
using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// A pool does not stay broken by accident: workers killed from outside while they start are
/// replaced, an initializer that hangs fails the calls with a clear error, and an absurd number
/// of processes is refused before anything starts.
/// </summary>
public sealed class PoolRecoveryTests
{
    [Fact]
    public Task A_pool_whose_workers_are_all_killed_before_they_are_ready_replaces_them_and_serves_calls() => Bounded(async () =>
    {
        var context = MultiprocContext.Create();
        var gate = Directory.CreateTempSubdirectory("multiproc-gate-").FullName;
        var seen = new List<int>();
        try
        {
            // Each worker notes its pid in the initializer, then waits there: registered, not ready.
            var pool = await Call(() => new ProcessPool(3, initializer: WaitAtGate, initargs: [gate], context: context));
            var pending = pool.MapAsync(x => x * 2, Enumerable.Range(0, 30), chunksize: 1);
            var first = await Arrived(gate, 3, []);
            seen.AddRange(first);
            foreach (var pid in first)
                Process.GetProcessById(pid).Kill();

            // As many kills as max-failed-starts, yet the pool launches replacements, which serve.
            var replacements = await Arrived(gate, 3, first);
            seen.AddRange(replacements);
            File.WriteAllText(Path.Combine(gate, "open"), "");
            Assert.Equal(Enumerable.Range(0, 30).Select(x => x * 2), await Awaited(pending));
            Assert.Equal(new[] { 1, 2 }, await Call(() => pool.Map(x => x + 1, new[] { 0, 1 })));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(seen);
            Directory.Delete(gate, recursive: true);
        }
    });

    [Fact]
    public Task An_initializer_that_hangs_fails_the_calls_with_a_TimeoutException_naming_the_key() => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("multiproc.pool.initializer-timeout = 2 s"));
        try
        {
            var pool = await Call(() => new ProcessPool(1, initializer: Hang, context: context));

            var error = await Assert.ThrowsAsync<TimeoutException>(() => Call(() => pool.Map(x => x, new[] { 1 })));
            Assert.Contains("initializer did not finish within", error.Message);
            Assert.Contains("multiproc.pool.initializer-timeout", error.Message);
            // Later calls fail the same way rather than wait: every worker would hang alike.
            await Assert.ThrowsAsync<TimeoutException>(() => Call(() => pool.Apply(() => 1)));
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    [Fact]
    public Task More_processes_than_max_processes_are_refused_before_any_process_starts() => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("multiproc.pool.max-processes = 4"));
        try
        {
            var tooMany = Math.Max(4, Environment.ProcessorCount) + 1;
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ProcessPool(tooMany, context: context));
            Assert.Equal("processes", error.ParamName);
            Assert.Contains("multiproc.pool.max-processes", error.Message);
            // The default bound (256) holds for the default context too, checked before it would start.
            Assert.Throws<ArgumentOutOfRangeException>(() => new ProcessPool(Math.Max(256, Environment.ProcessorCount) + 1));
            using var pool = await Call(() => new ProcessPool(4, context: context));
            Assert.Equal(4, pool.Processes);
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    [Fact]
    public Task Workers_killed_at_random_every_300_ms_fail_no_task_that_was_not_running_when_they_died() => Bounded(async () =>
    {
        // The benchmark program's kill_soak runs the full 5,000 tasks with kills until the end; this
        // is its bounded cousin. On two busy cores a worker takes longer to start than kills every
        // 300 ms leave it, so the kills stop after MaxKills and the rest of the work then completes.
        const int Tasks = 1500;
        const int MaxKills = 12;
        var context = MultiprocContext.Create();
        var dir = Directory.CreateTempSubdirectory("multiproc-soak-").FullName;
        var killed = new List<int>();
        using var stop = new CancellationTokenSource();
        try
        {
            var pool = await Call(() => new ProcessPool(3, context: context));
            var pending = pool.MapAsync(MarkAndSpin(dir), Enumerable.Range(0, Tasks), chunksize: 1);
            var killer = Task.Run(async () =>
            {
                var random = new Random(4321);
                using var every = new PeriodicTimer(TimeSpan.FromMilliseconds(300));
                while (killed.Count < MaxKills && await every.WaitForNextTickAsync(stop.Token))
                {
                    // Ready workers only: each noted its pid on its first task.
                    var ready = Directory.GetFiles(dir).Select(f => int.Parse(Path.GetFileName(f))).Where(ProcFs.IsWorkerAlive).ToArray();
                    if (ready.Length == 0)
                        continue;
                    var victim = ready[random.Next(ready.Length)];
                    ProcFs.KillWorkers([victim]);
                    lock (killed)
                        killed.Add(victim);
                }
            });

            var results = await Awaited(pending, TimeSpan.FromSeconds(90));
            await stop.CancelAsync();
            await killer.ContinueWith(_ => { }, TaskScheduler.Default);

            Assert.Equal(Enumerable.Range(0, Tasks).Select(x => x * 2), results);
            Assert.True(killed.Count >= 3, $"only {killed.Count} kills: the soak did not test much");
        }
        finally
        {
            await stop.CancelAsync();
            await Deadline.Dispose(context);
            lock (killed)
                ProcFs.KillWorkers(killed);
            Directory.Delete(dir, recursive: true);
        }
    }, TimeSpan.FromSeconds(150));

    // Built here so the closure holds only the directory.
    private static Func<int, int> MarkAndSpin(string dir) => x => MarkAndSpin(dir, x);

    private static bool _marked;

    /// <summary>
    /// A ~2 ms task that notes its worker's pid once it has finished its first task: a worker that
    /// has served is fair game, and the kills are not aimed at a fresh worker's first, cold task.
    /// </summary>
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

    private static void WaitAtGate(string gate)
    {
        File.WriteAllText(Path.Combine(gate, Environment.ProcessId.ToString()), "");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(gate, "open")) && clock.Elapsed < TimeSpan.FromSeconds(60))
            Thread.Sleep(20);
    }

    private static void Hang() => Thread.Sleep(Timeout.Infinite);

    /// <summary>The pids of <paramref name="count"/> workers, other than <paramref name="known"/>, that reached the gate.</summary>
    private static async Task<int[]> Arrived(string gate, int count, int[] known)
    {
        int[] Pids() => Directory.GetFiles(gate)
            .Select(Path.GetFileName).Where(name => name != "open").Select(name => int.Parse(name!)).Except(known).ToArray();
        await Eventually(() => Pids().Length >= count, TimeSpan.FromSeconds(60), () => $"{Pids().Length} of {count} workers at the gate");
        return Pids();
    }
}
