using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>MapAsync and its AsyncResult: awaiting, Get with timeouts, readiness, callbacks.</summary>
[Collection(SharedPoolCollection.Name)]
public sealed class AsyncResultTests(SharedPoolFixture fixture)
{
    [Fact]
    public Task MapAsync_can_be_awaited() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Awaited(pool.MapAsync(x => x + 1, Enumerable.Range(0, 100)));

        Assert.Equal(Enumerable.Range(1, 100), results);
    });

    [Fact]
    public Task MapAsync_Get_with_a_timeout_returns_the_results() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.MapAsync(x => -x, Enumerable.Range(0, 100));

        var results = await Call(() => result.Get(TimeSpan.FromSeconds(50)));

        Assert.Equal(Enumerable.Range(0, 100).Select(x => -x), results);
        Assert.True(result.IsReady);
        Assert.True(result.IsSuccessful);
        Assert.True(result.Wait(TimeSpan.Zero));
    });

    [Fact]
    public Task Get_with_a_short_timeout_on_a_slow_map_throws_TimeoutException_and_a_later_Get_returns() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.MapAsync(x =>
        {
            Thread.Sleep(1500);
            return x * 3;
        }, new[] { 1, 2 }, chunksize: 1);

        await Assert.ThrowsAsync<TimeoutException>(() => Call(() => result.Get(TimeSpan.FromMilliseconds(50))));
        Assert.False(await Call(() => result.Wait(TimeSpan.FromMilliseconds(10))));

        Assert.Equal(new[] { 3, 6 }, await Call(() => result.Get(TimeSpan.FromSeconds(50))));
        // Once ready, a zero timeout is enough.
        Assert.Equal(new[] { 3, 6 }, result.Get(TimeSpan.Zero));
    });

    [Fact]
    public Task IsReady_and_IsSuccessful_follow_the_call() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.MapAsync(x =>
        {
            Thread.Sleep(1000);
            return x;
        }, new[] { 5 });

        Assert.False(result.IsReady);
        Assert.Throws<InvalidOperationException>(() => result.IsSuccessful);

        await Eventually(() => result.IsReady, CallLimit, () => "the map never became ready");
        Assert.True(result.IsSuccessful);
        Assert.Equal(new[] { 5 }, result.Get(TimeSpan.Zero));
    });

    [Fact]
    public Task A_failed_call_is_ready_and_not_successful() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.MapAsync(x => x == 2 ? throw new InvalidOperationException("two") : x, new[] { 1, 2, 3 });

        Assert.True(await Call(() => result.Wait(TimeSpan.FromSeconds(50))));
        Assert.True(result.IsReady);
        Assert.False(result.IsSuccessful);
        var error = Assert.Throws<InvalidOperationException>(() => result.Get(TimeSpan.Zero));
        Assert.Equal("two", error.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Awaited(result));
    });

    [Fact]
    public Task Callback_runs_once_in_the_caller_with_the_results() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var calls = new List<(IReadOnlyList<int> Results, int Pid)>();
        var errors = 0;

        var result = pool.MapAsync(x => x * x, Enumerable.Range(0, 10),
            callback: r =>
            {
                lock (calls)
                    calls.Add((r, Environment.ProcessId));
            },
            errorCallback: _ => Interlocked.Increment(ref errors));
        await Awaited(result);

        await Eventually(() => { lock (calls) return calls.Count > 0; }, CallLimit, () => "the callback did not run");
        lock (calls)
        {
            var call = Assert.Single(calls);
            Assert.Equal(Enumerable.Range(0, 10).Select(x => x * x), call.Results);
            Assert.Equal(Environment.ProcessId, call.Pid);
        }
        Assert.Equal(0, Volatile.Read(ref errors));
    });

    [Fact]
    public Task ErrorCallback_runs_once_in_the_caller_with_the_exception() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var errors = new List<Exception>();
        var callbacks = 0;

        var result = pool.MapAsync(x => x > 0 ? throw new InvalidOperationException($"no {x}") : x, new[] { 0, 1, 2 },
            callback: _ => Interlocked.Increment(ref callbacks),
            errorCallback: e =>
            {
                lock (errors)
                    errors.Add(e);
            });
        await Assert.ThrowsAsync<InvalidOperationException>(() => Awaited(result));

        await Eventually(() => { lock (errors) return errors.Count > 0; }, CallLimit, () => "the error callback did not run");
        lock (errors)
        {
            var error = Assert.IsType<InvalidOperationException>(Assert.Single(errors));
            Assert.Equal("no 1", error.Message);
        }
        Assert.Equal(0, Volatile.Read(ref callbacks));
    });

    [Fact]
    public Task Progress_reaches_the_item_count() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var progress = new Recorder();

        await Awaited(pool.MapAsync(x => x, Enumerable.Range(0, 30), chunksize: 4, progress: progress));

        await Eventually(() => progress.Last == 30, CallLimit, () => $"progress reported {progress.Last}");
    });

    private sealed class Recorder : IProgress<int>
    {
        private int _last;

        public int Last => Volatile.Read(ref _last);

        public void Report(int value)
        {
            int seen;
            do
            {
                seen = Volatile.Read(ref _last);
            }
            while (value > seen && Interlocked.CompareExchange(ref _last, value, seen) != seen);
        }
    }
}
