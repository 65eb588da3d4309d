using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Constructor checks, Close/Terminate/Join/Dispose, and what happens to the worker processes.</summary>
public sealed class ProcessPoolLifecycleTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    private static readonly TimeSpan GoneWithin = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public Task Processes_below_one_throws_ArgumentOutOfRangeException(int processes) => Bounded(async () =>
    {
        var context = fixture.Context;

        Assert.Throws<ArgumentOutOfRangeException>(() => new ProcessPool(processes, context: context));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProcessPool(new PoolOptions { Processes = processes }, context));
        await Task.CompletedTask;
    });

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public Task Maxtasksperchild_below_one_throws_ArgumentOutOfRangeException(int maxtasksperchild) => Bounded(async () =>
    {
        var context = fixture.Context;

        Assert.Throws<ArgumentOutOfRangeException>(() => new ProcessPool(1, maxtasksperchild: maxtasksperchild, context: context));
        await Task.CompletedTask;
    });

    [Fact]
    public Task Processes_is_what_was_asked_for() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(3, context: fixture.Context));
        try
        {
            Assert.Equal(3, pool.Processes);
            Assert.Equal(3, (await WorkerPids.Of(pool)).Length);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_call_after_Close_throws_InvalidOperationException_Pool_not_running() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            pool.Close();

            var map = Assert.Throws<InvalidOperationException>(() => pool.Map(x => x, new[] { 1 }));
            var mapAsync = Assert.Throws<InvalidOperationException>(() => pool.MapAsync(x => x, new[] { 1 }));
            Assert.Contains("Pool not running", map.Message);
            Assert.Contains("Pool not running", mapAsync.Message);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_call_after_Terminate_throws_InvalidOperationException_Pool_not_running() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            pool.Terminate();

            var map = Assert.Throws<InvalidOperationException>(() => pool.Map(x => x, new[] { 1 }));
            Assert.Contains("Pool not running", map.Message);
            await Call(pool.Join);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_call_after_Dispose_throws_ObjectDisposedException() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        await Deadline.Dispose(pool);

        Assert.Throws<ObjectDisposedException>(() => pool.Map(x => x, new[] { 1 }));
        Assert.Throws<ObjectDisposedException>(() => pool.MapAsync(x => x, new[] { 1 }));
    });

    [Fact]
    public Task Join_before_Close_throws_InvalidOperationException() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => Call(pool.Join));

            // The pool is not harmed by it.
            Assert.Equal(new[] { 1 }, await Call(() => pool.Map(x => x, new[] { 1 })));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Close_twice_then_Join_and_Dispose_are_fine() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            Assert.Equal(new[] { 1 }, await Call(() => pool.Map(x => x, new[] { 1 })));
            pool.Close();
            pool.Close();
            await Call(pool.Join);
            await Call(pool.Join);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Dispose_twice_is_fine() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        await Deadline.Dispose(pool);
        await Deadline.Dispose(pool);
        await Within(pool.DisposeAsync().AsTask());
    });

    [Fact]
    public Task Close_then_Join_returns_once_every_worker_process_has_exited() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        int[] pids = [];
        try
        {
            pids = await WorkerPids.Of(pool);
            Assert.All(pids, pid => Assert.True(ProcFs.IsWorkerAlive(pid), $"worker {pid} is not running"));

            pool.Close();
            await Call(pool.Join);

            Assert.All(pids, pid => Assert.False(ProcFs.IsWorkerAlive(pid), $"worker {pid} still runs after Join()"));
        }
        finally
        {
            await Deadline.Dispose(pool);
            ProcFs.KillWorkers(pids);
        }
    });

    [Fact]
    public Task Close_lets_submitted_work_finish() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        try
        {
            var result = pool.MapAsync(x =>
            {
                Thread.Sleep(100);
                return x * 2;
            }, Enumerable.Range(0, 10), chunksize: 1);
            pool.Close();

            Assert.Equal(Enumerable.Range(0, 10).Select(x => x * 2), await Awaited(result));
            await Call(pool.Join);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task After_Dispose_every_worker_process_is_gone() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        int[] pids = [];
        try
        {
            pids = await WorkerPids.Of(pool);

            await Deadline.Dispose(pool);

            await Eventually(() => !pids.Any(ProcFs.IsWorkerAlive), GoneWithin, () => ProcFs.Alive(pids));
        }
        finally
        {
            await Deadline.Dispose(pool);
            ProcFs.KillWorkers(pids);
        }
    });

    [Fact]
    public Task After_DisposeAsync_every_worker_process_is_gone() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        int[] pids = [];
        try
        {
            pids = await WorkerPids.Of(pool);

            await Within(pool.DisposeAsync().AsTask());

            await Eventually(() => !pids.Any(ProcFs.IsWorkerAlive), GoneWithin, () => ProcFs.Alive(pids));
        }
        finally
        {
            await Deadline.Dispose(pool);
            ProcFs.KillWorkers(pids);
        }
    });

    [Fact]
    public Task Dispose_fails_pending_work_with_PoolTerminatedException() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        int[] pids = [];
        try
        {
            pids = await WorkerPids.Of(pool);
            var result = pool.MapAsync(x =>
            {
                Thread.Sleep(30_000);
                return x;
            }, new[] { 1, 2 });

            await Deadline.Dispose(pool);

            var error = await Assert.ThrowsAsync<PoolTerminatedException>(() => Awaited(result));
            Assert.IsAssignableFrom<ObjectDisposedException>(error);
            await Eventually(() => !pids.Any(ProcFs.IsWorkerAlive), GoneWithin, () => ProcFs.Alive(pids));
        }
        finally
        {
            await Deadline.Dispose(pool);
            ProcFs.KillWorkers(pids);
        }
    });
}
