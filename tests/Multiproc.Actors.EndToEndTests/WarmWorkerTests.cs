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
    [Fact]
    public Task The_next_pool_takes_the_workers_of_a_closed_pool_and_runs_its_own_functions() => WithWarmContext(async (context, seen) =>
    {
        var pool = await Call(() => context.Pool(2));
        // Job ids start over in every pool: the second pool's job 1 must not run the first's function.
        Assert.Equal(new[] { 2, 3, 4 }, await Call(() => pool.Map(x => x + 1, new[] { 1, 2, 3 })));
        var first = await CloseKept(pool, seen);
        Assert.All(first, pid => Assert.True(ProcFs.IsWorkerAlive(pid), $"worker {pid} exited instead of staying warm"));

        using var next = await Call(() => context.Pool(2));
        Assert.Equal(new[] { 10, 20, 30 }, await Call(() => next.Map(x => x * 10, new[] { 1, 2, 3 })));
        Assert.Equal(first, await WorkerPids.Of(next));
    });

    [Fact]
    public Task A_terminated_pools_idle_workers_are_kept_and_a_pool_with_an_initializer_can_take_them() => WithWarmContext(async (context, seen) =>
    {
        int[] first;
        using (var pool = await Call(() => context.Pool(2)))
            seen.AddRange(first = await WorkerPids.Of(pool));

        using var next = await Call(() => context.Pool(2, initializer: WarmState.Set, initargs: ["fresh"]));
        Assert.Equal(new[] { "fresh", "fresh" }, await Call(() => next.Map(_ => WarmState.Value, new[] { 0, 1 })));
        Assert.Equal(first, await WorkerPids.Of(next));
    });

    [Fact]
    public Task Kept_workers_carry_large_payloads_through_the_next_pools_shared_memory_and_let_go_of_the_last_ones() => WithWarmContext(async (context, seen) =>
    {
        var big = Enumerable.Range(0, 4).Select(i => Enumerable.Repeat((byte)i, 300_000).ToArray()).ToArray();
        var pool = await Call(() => context.Pool(2));
        Assert.Equal(big, await Call(() => pool.Map(b => b, big, chunksize: 1)));
        var firstDirectory = Path.Combine(context.SharedMemory!.Directory, pool.Actor.Path.Name);
        var first = await CloseKept(pool, seen);
        await Eventually(() => !Directory.Exists(firstDirectory), TimeSpan.FromSeconds(10), () => $"{firstDirectory} is still there");

        using var next = await Call(() => context.Pool(2));
        var reversed = await Call(() => next.Map(b => b.Reverse().ToArray(), big, chunksize: 1));
        Assert.Equal(big.Select(b => b.Reverse().ToArray()), reversed);
        Assert.Equal(first, await WorkerPids.Of(next));
        // The kept workers hold no mapping of the first pool's deleted files.
        Assert.All(first, pid => Assert.DoesNotContain(firstDirectory, File.ReadAllText($"/proc/{pid}/maps")));
    });

    [Fact]
    public Task A_pool_closed_before_its_warm_workers_reached_it_hands_them_back() => WithWarmContext(async (context, seen) =>
    {
        var first = await CloseKept(await Call(() => context.Pool(2)), seen);
        for (var i = 0; i < 3; i++)
        {
            var idle = await Call(() => context.Pool(2));
            await Call(() => idle.Close());
            await Call(() => idle.Join());
        }

        using var next = await Call(() => context.Pool(2));
        Assert.Equal(first, await WorkerPids.Of(next));
    });

    [Fact]
    public Task Workers_that_ran_an_initializer_are_not_kept() => WithWarmContext(async (context, seen) =>
    {
        var first = await CloseKept(await Call(() => context.Pool(2, initializer: WarmState.Set, initargs: ["pool one"])), seen);
        await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));

        using var next = await Call(() => context.Pool(1));
        Assert.Equal(new[] { (string?)null }, await Call(() => next.Map(_ => WarmState.Value, new[] { 0 })));
    });

    [Fact]
    public Task No_more_than_max_workers_are_kept_and_kept_ones_exit_after_the_idle_timeout() => WithWarmContext(async (context, seen) =>
    {
        var first = await CloseKept(await Call(() => context.Pool(2)), seen);
        await Eventually(() => first.Count(ProcFs.IsWorkerAlive) == 1, TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));
        await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(15), () => ProcFs.Alive(first));

        using var next = await Call(() => context.Pool(1));
        Assert.Equal(new[] { 4 }, await Call(() => next.Map(x => x * x, new[] { 2 })));
    }, max: 1, idleTimeout: "2 s");

    [Fact]
    public Task A_warm_worker_killed_while_kept_is_replaced_by_a_fresh_one() => WithWarmContext(async (context, seen) =>
    {
        var first = await CloseKept(await Call(() => context.Pool(2)), seen);
        System.Diagnostics.Process.GetProcessById(first[0]).Kill();
        await Eventually(() => !ProcFs.IsWorkerAlive(first[0]), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));

        using var next = await Call(() => context.Pool(2));
        var now = await WorkerPids.Of(next);
        Assert.Contains(first[1], now);
        Assert.DoesNotContain(first[0], now);
    });

    [Fact]
    public Task Disposing_the_context_ends_its_warm_workers() => WithWarmContext(async (context, seen) =>
    {
        var first = await CloseKept(await Call(() => context.Pool(2)), seen);
        Assert.All(first, pid => Assert.True(ProcFs.IsWorkerAlive(pid)));

        await Deadline.Dispose(context);

        await Eventually(() => !first.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(first));
    });

    /// <summary>
    /// Runs <paramref name="body"/> in a context that keeps warm workers, then ends the context and
    /// kills every worker the body noted in its list, however the body ended.
    /// </summary>
    private static Task WithWarmContext(Func<MultiprocContext, List<int>, Task> body, int max = 2, string idleTimeout = "5 m",
        [System.Runtime.CompilerServices.CallerMemberName] string test = "") => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString($"multiproc.warm-workers {{ max = {max}, idle-timeout = {idleTimeout} }}"));
        var seen = new List<int>();
        try
        {
            await body(context, seen);
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(seen);
        }
    }, test: test);

    /// <summary>Finds the pool's workers (noting them in <paramref name="seen"/>), then closes and joins it.</summary>
    private static async Task<int[]> CloseKept(ProcessPool pool, List<int> seen)
    {
        var workers = await WorkerPids.Of(pool);
        seen.AddRange(workers);
        await Call(() => pool.Close());
        await Call(() => pool.Join());
        return workers;
    }
}

/// <summary>Per-worker state an initializer sets.</summary>
public static class WarmState
{
    /// <summary>What the initializer stored in this worker; null if none ran here.</summary>
    public static string? Value { get; private set; }

    /// <summary>The initializer.</summary>
    public static void Set(string value) => Value = value;
}
