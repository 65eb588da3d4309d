using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// <c>multiproc.warm-workers</c>: idle workers of a closed pool serve the context's next pool, which
/// then starts without launching processes.
/// </summary>
public sealed class WarmWorkerTests
{
    private static MultiprocContext WarmContext(int max = 2, string idleTimeout = "5 m") =>
        MultiprocContext.Create(ConfigurationFactory.ParseString($"multiproc.warm-workers {{ max = {max}, idle-timeout = {idleTimeout} }}"));

    [Fact]
    public Task The_next_pool_takes_the_workers_of_a_closed_pool_and_runs_its_own_functions() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            var pool = await Call(() => context.Pool(2));
            // Job ids start over in every pool: the second pool's job 1 must not run the first's function.
            Assert.Equal(new[] { 2, 3, 4 }, await Call(() => pool.Map(x => x + 1, new[] { 1, 2, 3 })));
            first = await WorkerPids.Of(pool);
            await Call(() => pool.Close());
            await Call(() => pool.Join());
            Assert.All(first, pid => Assert.True(ProcFs.IsWorkerAlive(pid), $"worker {pid} exited instead of staying warm"));

            using var next = await Call(() => context.Pool(2));
            Assert.Equal(new[] { 10, 20, 30 }, await Call(() => next.Map(x => x * 10, new[] { 1, 2, 3 })));
            Assert.Equal(first, await WorkerPids.Of(next));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
        await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));
    });

    [Fact]
    public Task A_terminated_pools_idle_workers_are_kept_and_a_pool_with_an_initializer_can_take_them() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            using (var pool = await Call(() => context.Pool(2)))
                first = await WorkerPids.Of(pool);

            using var next = await Call(() => context.Pool(2, initializer: WarmState.Set, initargs: ["fresh"]));
            Assert.Equal(new[] { "fresh", "fresh" }, await Call(() => next.Map(_ => WarmState.Value, new[] { 0, 1 })));
            Assert.Equal(first, await WorkerPids.Of(next));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task Kept_workers_carry_large_payloads_through_the_next_pools_shared_memory_and_let_go_of_the_last_ones() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            var big = Enumerable.Range(0, 4).Select(i => Enumerable.Repeat((byte)i, 300_000).ToArray()).ToArray();
            var pool = await Call(() => context.Pool(2));
            Assert.Equal(big, await Call(() => pool.Map(b => b, big, chunksize: 1)));
            first = await WorkerPids.Of(pool);
            var firstDirectory = Path.Combine(context.SharedMemory!.Directory, pool.Actor.Path.Name);
            await Call(() => pool.Close());
            await Call(() => pool.Join());
            await Eventually(() => !Directory.Exists(firstDirectory), TimeSpan.FromSeconds(10), () => $"{firstDirectory} is still there");

            using var next = await Call(() => context.Pool(2));
            var reversed = await Call(() => next.Map(b => b.Reverse().ToArray(), big, chunksize: 1));
            Assert.Equal(big.Select(b => b.Reverse().ToArray()), reversed);
            Assert.Equal(first, await WorkerPids.Of(next));
            // The kept workers hold no mapping of the first pool's deleted files.
            Assert.All(first, pid => Assert.DoesNotContain(firstDirectory, File.ReadAllText($"/proc/{pid}/maps")));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task A_pool_closed_before_its_warm_workers_reached_it_hands_them_back() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            using (var pool = await Call(() => context.Pool(2)))
                first = await WorkerPids.Of(pool);
            for (var i = 0; i < 3; i++)
            {
                var idle = await Call(() => context.Pool(2));
                await Call(() => idle.Close());
                await Call(() => idle.Join());
            }

            using var next = await Call(() => context.Pool(2));
            Assert.Equal(first, await WorkerPids.Of(next));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task Workers_that_ran_an_initializer_are_not_kept() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            var pool = await Call(() => context.Pool(2, initializer: WarmState.Set, initargs: ["pool one"]));
            first = await WorkerPids.Of(pool);
            await Call(() => pool.Close());
            await Call(() => pool.Join());
            await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));

            using var next = await Call(() => context.Pool(1));
            Assert.Equal(new[] { (string?)null }, await Call(() => next.Map(_ => WarmState.Value, new[] { 0 })));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task No_more_than_max_workers_are_kept_and_kept_ones_exit_after_the_idle_timeout() => Bounded(async () =>
    {
        var context = WarmContext(max: 1, idleTimeout: "2 s");
        int[] first = [];
        try
        {
            var pool = await Call(() => context.Pool(2));
            first = await WorkerPids.Of(pool);
            await Call(() => pool.Close());
            await Call(() => pool.Join());
            await Eventually(() => first.Count(ProcFs.IsWorkerAlive) == 1, TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));
            await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(15), () => ProcFs.Alive(first));

            using var next = await Call(() => context.Pool(1));
            Assert.Equal(new[] { 4 }, await Call(() => next.Map(x => x * x, new[] { 2 })));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task A_warm_worker_killed_while_kept_is_replaced_by_a_fresh_one() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            var pool = await Call(() => context.Pool(2));
            first = await WorkerPids.Of(pool);
            await Call(() => pool.Close());
            await Call(() => pool.Join());
            System.Diagnostics.Process.GetProcessById(first[0]).Kill();
            await Eventually(() => !ProcFs.IsWorkerAlive(first[0]), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));

            using var next = await Call(() => context.Pool(2));
            var now = await WorkerPids.Of(next);
            Assert.Contains(first[1], now);
            Assert.DoesNotContain(first[0], now);
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });

    [Fact]
    public Task Disposing_the_context_ends_its_warm_workers() => Bounded(async () =>
    {
        var context = WarmContext();
        int[] first = [];
        try
        {
            using (var pool = await Call(() => context.Pool(2)))
                first = await WorkerPids.Of(pool);
            Assert.All(first, pid => Assert.True(ProcFs.IsWorkerAlive(pid)));

            await Deadline.Dispose(context);

            await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(first);
        }
    });
}

/// <summary>Per-worker state an initializer sets.</summary>
public static class WarmState
{
    /// <summary>What the initializer stored in this worker; null if none ran here.</summary>
    public static string? Value { get; private set; }

    /// <summary>The initializer.</summary>
    public static void Set(string value) => Value = value;
}
