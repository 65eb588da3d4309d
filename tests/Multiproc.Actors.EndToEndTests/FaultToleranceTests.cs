using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Workers killed, frozen or terminated under load, and values that cannot travel: no hang, no lost or doubled result.</summary>
public sealed class FaultToleranceTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    [Fact]
    public Task Every_result_arrives_once_and_in_order_while_workers_are_killed_at_random() => Bounded(async () =>
    {
        const int Tasks = 5000;
        const int MaxKills = 8;
        var pool = await Call(() => new ProcessPool(3, context: fixture.Context));
        var dir = Directory.CreateTempSubdirectory("multiproc-chaos-").FullName;
        var killed = new ConcurrentBag<int>();
        using var stop = new CancellationTokenSource();
        try
        {
            var pending = pool.MapAsync(MarkAndDouble(dir), Enumerable.Range(0, Tasks), chunksize: 5);
            var killer = Task.Run(async () =>
            {
                var random = new Random(1234);
                using var every = new PeriodicTimer(TimeSpan.FromMilliseconds(300));
                while (killed.Count < MaxKills && await every.WaitForNextTickAsync(stop.Token))
                {
                    var alive = Directory.GetFiles(dir).Select(f => int.Parse(Path.GetFileName(f)))
                        .Where(ProcFs.IsWorkerAlive).ToArray();
                    if (alive.Length == 0)
                        continue;
                    var victim = alive[random.Next(alive.Length)];
                    ProcFs.KillWorkers([victim]);
                    killed.Add(victim);
                }
            });

            var results = await Awaited(pending);
            await stop.CancelAsync();
            await killer.ContinueWith(_ => { }, TaskScheduler.Default);

            Assert.Equal(Enumerable.Range(0, Tasks).Select(x => x * 2), results);
            Assert.NotEmpty(killed);
            Assert.Equal(new[] { 0, 2, 4 }, await Call(() => pool.Map(x => x * 2, new[] { 0, 1, 2 })));
        }
        finally
        {
            await stop.CancelAsync();
            await Deadline.Dispose(pool);
            Directory.Delete(dir, recursive: true);
        }
    }, TimeSpan.FromSeconds(180));

    [Fact]
    public Task A_worker_frozen_with_SIGSTOP_is_treated_as_dead_killed_and_its_work_runs_elsewhere() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        int[] pids = [];
        try
        {
            pids = await WorkerPids.Of(pool);
            var frozen = pids[0];
            Assert.Equal(0, kill(frozen, SIGSTOP));

            var results = await Call(() => pool.Map(x => x + 1, Enumerable.Range(0, 20), chunksize: 1), TimeSpan.FromSeconds(90));

            Assert.Equal(Enumerable.Range(1, 20), results);
            await Eventually(() => !ProcFs.IsWorkerAlive(frozen), TimeSpan.FromSeconds(30), () => $"frozen worker {frozen} still there");
        }
        finally
        {
            ProcFs.KillWorkers(pids);
            await Deadline.Dispose(pool);
        }
    }, TimeSpan.FromSeconds(150));

    [Fact]
    public Task Terminate_during_busy_work_returns_promptly_and_fails_what_was_pending() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        var dir = Directory.CreateTempSubdirectory("multiproc-busy-").FullName;
        try
        {
            var pending = pool.MapAsync(MarkAndSleep(dir, TimeSpan.FromSeconds(60)), Enumerable.Range(0, 4), chunksize: 1);
            await Eventually(() => Directory.GetFiles(dir).Length >= 2, TimeSpan.FromSeconds(60), () => "the tasks never started");
            var busy = Directory.GetFiles(dir).Select(f => int.Parse(Path.GetFileName(f))).ToArray();

            await Call(() => { pool.Terminate(); pool.Join(); }, TimeSpan.FromSeconds(10));

            await Assert.ThrowsAsync<PoolTerminatedException>(() => Awaited(pending));
            Assert.All(busy, pid => Assert.False(ProcFs.IsWorkerAlive(pid)));
        }
        finally
        {
            await Deadline.Dispose(pool);
            Directory.Delete(dir, recursive: true);
        }
    });

    [Fact]
    public Task An_argument_the_worker_cannot_deserialize_fails_the_call_with_SerializationException_and_the_pool_lives() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            // Hyperion refuses to rebuild types that can act on the file system when deserialized.
            var error = await Assert.ThrowsAsync<SerializationException>(() =>
                Call(() => pool.Map(f => f.Name, new[] { new FileInfo("/tmp/a"), new FileInfo("/tmp/b") })));
            Assert.Contains("FileInfo", error.Message);
            Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_result_the_caller_cannot_deserialize_fails_the_call_with_SerializationException_and_the_pool_lives() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            var error = await Assert.ThrowsAsync<SerializationException>(() =>
                Call(() => pool.Map(name => new DirectoryInfo(name), new[] { "/tmp" })));
            Assert.Contains("DirectoryInfo", error.Message);
            Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    private static Func<int, int> MarkAndDouble(string dir) => x =>
    {
        var mark = Path.Combine(dir, Environment.ProcessId.ToString());
        if (!File.Exists(mark))
            File.WriteAllText(mark, "");
        var until = Environment.TickCount64 + 1;
        while (Environment.TickCount64 < until)
        {
        }
        return x * 2;
    };

    private static Func<int, int> MarkAndSleep(string dir, TimeSpan sleep) => x =>
    {
        File.WriteAllText(Path.Combine(dir, Environment.ProcessId.ToString()), "");
        Thread.Sleep(sleep);
        return x;
    };

    private const int SIGSTOP = 19;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
