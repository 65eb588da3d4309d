using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// callback / errorCallback of the async calls, and MapAsync's progress: how often, in which process,
/// on which thread, and when (a callback runs before the result is ready, as in Python).
/// </summary>
/// <remarks>Task closures that capture anything are built in static methods (see FunctionTests).</remarks>
public sealed class CallbackTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>
{
    /// <summary>
    /// The library's actors run on the <c>multiproc.dispatcher</c>, whose dedicated threads Akka names
    /// "&lt;dispatcher id&gt;_&lt;n&gt;" (seen: "multiproc.dispatcher_1").
    /// </summary>
    private const string DispatcherThreadPrefix = "multiproc.dispatcher";

    [Fact]
    public Task ApplyAsync_callback_runs_once_in_the_caller_on_a_thread_pool_thread_before_the_result_is_ready() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var log = new CallbackLog<int>();

        var result = pool.ApplyAsync(() => 42, log.OnResult, log.OnError);
        log.Attach(result);
        Assert.Equal(42, await Awaited(result));

        // No waiting here: the callback has run before the result became ready.
        AssertRanOnceInTheCaller(log.Results, "callback");
        Assert.Equal(42, log.Results[0].Value);
        Assert.Empty(log.Errors);
    });

    [Fact]
    public Task A_progress_reporter_that_throws_fails_its_call_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var throwing = new ThrowingProgress();

        // One item (settled by the pool actor itself) and several (settled by an aggregator).
        foreach (var items in new[] { new[] { 1 }, new[] { 1, 2, 3 } })
        {
            var result = pool.MapAsync(x => x * 2, items, progress: throwing);
            var error = await Assert.ThrowsAnyAsync<Exception>(() => Awaited(result));
            Assert.Contains("progress broke", error.ToString());
        }

        Assert.Equal(new[] { 2, 4 }, await Call(() => pool.Map(x => x * 2, new[] { 1, 2 })));
    });

    [Fact]
    public Task ApplyAsync_errorCallback_runs_once_in_the_caller_on_a_thread_pool_thread_before_the_result_is_ready() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var log = new CallbackLog<int>();

        var result = pool.ApplyAsync((int x) => x > 0 ? throw new CustomTaskException($"bad {x}", null) : x, 3, log.OnResult, log.OnError);
        log.Attach(result);
        await Assert.ThrowsAsync<CustomTaskException>(() => Awaited(result));

        AssertRanOnceInTheCaller(log.Errors, "errorCallback");
        Assert.Equal("bad 3", Assert.IsType<CustomTaskException>(log.Errors[0].Value).Message);
        Assert.Empty(log.Results);
    });

    [Fact]
    public Task MapAsync_callback_runs_once_with_the_results_in_the_caller_before_the_result_is_ready() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var log = new CallbackLog<IReadOnlyList<int>>();

        var result = pool.MapAsync(x => x * x, Enumerable.Range(0, 20), chunksize: 3, callback: log.OnResult, errorCallback: log.OnError);
        log.Attach(result);
        // Read with Get this time: the callback has run before Get can return too.
        var results = await Call(() => result.Get(CallLimit));

        AssertRanOnceInTheCaller(log.Results, "callback");
        Assert.Equal(Enumerable.Range(0, 20).Select(x => x * x), Assert.IsAssignableFrom<IReadOnlyList<int>>(log.Results[0].Value));
        Assert.Equal(Enumerable.Range(0, 20).Select(x => x * x), results);
        Assert.Empty(log.Errors);
    });

    [Fact]
    public Task StarmapAsync_callback_and_errorCallback_each_run_once_in_the_caller_before_the_result_is_ready() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var okLog = new CallbackLog<IReadOnlyList<int>>();
        var failLog = new CallbackLog<IReadOnlyList<int>>();
        var pairs = Enumerable.Range(0, 10).Select(i => (i, i + 1)).ToArray();

        var ok = pool.StarmapAsync((int a, int b) => a * b, pairs, callback: okLog.OnResult, errorCallback: okLog.OnError);
        okLog.Attach(ok);
        var fail = pool.StarmapAsync((int a, int b) => a == 6 ? throw new InvalidOperationException($"pair {a},{b}") : a, pairs,
            callback: failLog.OnResult, errorCallback: failLog.OnError);
        failLog.Attach(fail);
        await Awaited(ok);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Awaited(fail));

        AssertRanOnceInTheCaller(okLog.Results, "callback");
        Assert.Equal(pairs.Select(p => p.Item1 * p.Item2), Assert.IsAssignableFrom<IReadOnlyList<int>>(okLog.Results[0].Value));
        Assert.Empty(okLog.Errors);
        AssertRanOnceInTheCaller(failLog.Errors, "errorCallback");
        Assert.Equal("pair 6,7", Assert.IsType<InvalidOperationException>(failLog.Errors[0].Value).Message);
        Assert.Empty(failLog.Results);
    });

    [Fact]
    public Task When_many_tasks_of_a_map_fail_the_errorCallback_runs_once_with_the_lowest_index_after_the_other_chunks_finish() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var dir = new TaskDirectory();
        var log = new CallbackLog<IReadOnlyList<int>>();
        var func = SeveralFailLastIsSlow(dir.Path);
        bool? slowItemHadFinished = null;

        var result = pool.MapAsync(func, Enumerable.Range(0, 12), chunksize: 1,
            callback: log.OnResult,
            errorCallback: e =>
            {
                // Item 11 marks its end after 1.5 s; failures 2, 5, 7, 9 come back long before.
                slowItemHadFinished = dir.HasMark(11);
                log.OnError(e);
            });
        log.Attach(result);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Awaited(result));

        Assert.Equal("no 2", error.Message);
        AssertRanOnceInTheCaller(log.Errors, "errorCallback");
        Assert.Equal("no 2", Assert.IsType<InvalidOperationException>(log.Errors[0].Value).Message);
        Assert.True(slowItemHadFinished, "the errorCallback ran before the map's other chunks had finished");
        Assert.Empty(log.Results);
    });

    [Fact]
    public Task Every_callback_of_many_concurrent_ApplyAsync_calls_runs_exactly_once() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        const int n = 40;
        var successes = new int[n];
        var failures = new int[n];
        var wrongValues = 0;

        // Even items succeed, odd ones throw.
        var results = Enumerable.Range(0, n).Select(i => pool.ApplyAsync(OddThrows, i,
            callback: value =>
            {
                if (value != i * 10)
                    Interlocked.Increment(ref wrongValues);
                Interlocked.Increment(ref successes[i]);
            },
            errorCallback: _ => Interlocked.Increment(ref failures[i]))).ToList();
        foreach (var result in results)
            await Call(() => result.Wait(CallLimit));

        Assert.All(results, result => Assert.True(result.IsReady));
        Assert.Equal(Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1 : 0), successes);
        Assert.Equal(Enumerable.Range(0, n).Select(i => i % 2 == 1 ? 1 : 0), failures);
        Assert.Equal(0, wrongValues);
    });

    [Fact]
    public Task The_callback_of_a_call_that_completes_at_once_never_runs_on_the_callers_own_thread() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        const int threads = 4;
        const int callsEach = 2500;
        var onCaller = 0;
        var offThreadPool = 0;
        var ran = 0;

        // Callers on threads of their own (a console app's main thread, say). A MapAsync of an empty
        // input completes as soon as the pool actor sees it, which may be before the call has even
        // returned: its callback must still go to the thread pool, not run inline on the caller's
        // thread. That race is rare, so many calls from several threads (contending for the cores)
        // give it chances; once the library never runs callbacks inline this passes every time.
        var callers = Enumerable.Range(0, threads).Select(n => new Thread(() =>
        {
            var self = Thread.CurrentThread;
            for (var i = 0; i < callsEach; i++)
            {
                var result = pool.MapAsync(x => x, Array.Empty<int>(), callback: _ =>
                {
                    if (Thread.CurrentThread == self)
                        Interlocked.Increment(ref onCaller);
                    if (!Thread.CurrentThread.IsThreadPoolThread)
                        Interlocked.Increment(ref offThreadPool);
                    Interlocked.Increment(ref ran);
                });
                result.Wait(CallLimit);
            }
        }) { IsBackground = true, Name = $"test caller {n}" }).ToList();
        callers.ForEach(caller => caller.Start());
        await Call(() => callers.ForEach(caller => caller.Join(CallLimit)));

        Assert.Equal(threads * callsEach, Volatile.Read(ref ran));
        Assert.True(onCaller == 0 && offThreadPool == 0,
            $"of {threads * callsEach} callbacks, {onCaller} ran inline on the caller's thread and {offThreadPool} off the thread pool");
    });

    [Theory]
    [InlineData(12, 1)]
    [InlineData(30, 4)]
    [InlineData(100, null)]
    public Task MapAsync_progress_reports_grow_to_the_item_count(int count, int? chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var progress = new ProgressLog();

        var results = await Awaited(pool.MapAsync(x => x + 1, Enumerable.Range(0, count), chunksize, progress: progress));

        Assert.Equal(Enumerable.Range(1, count), results);
        await Eventually(() => progress.Last == count, CallLimit, () => $"progress reported {string.Join(", ", progress.Values)}");
        var values = progress.Values;
        Assert.True(values.Zip(values.Skip(1)).All(pair => pair.First < pair.Second),
            $"progress went back or stood still: {string.Join(", ", values)}");
        Assert.All(values, value => Assert.InRange(value, 1, count));
        if (chunksize == 1)
            Assert.Equal(Enumerable.Range(1, count), values);
    });

    [Fact]
    public Task MapAsync_progress_is_reported_while_the_map_is_still_running() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var gate = new TaskDirectory();
        var progress = new ProgressLog();
        // Item 5 waits at the gate; items 0-4 finish at once.
        var result = pool.MapAsync(LastWaitsAtGate(gate.Path, last: 5), Enumerable.Range(0, 6), chunksize: 1, progress: progress);
        try
        {
            await Eventually(() => progress.Last == 5, CallLimit, () => $"progress reported {string.Join(", ", progress.Values)}");
            Assert.False(result.IsReady);
        }
        finally
        {
            gate.Open();
        }

        Assert.Equal(Enumerable.Range(0, 6), await Awaited(result));
        await Eventually(() => progress.Last == 6, CallLimit, () => $"progress reported {string.Join(", ", progress.Values)}");
    });

    private static void AssertRanOnceInTheCaller(IReadOnlyList<Invocation> calls, string what)
    {
        var call = Assert.Single(calls);
        Assert.Equal(Environment.ProcessId, call.Pid);
        Assert.True(call.OnThreadPool, $"the {what} ran on thread '{call.ThreadName}', which is not a thread-pool thread");
        Assert.False(call.ThreadName?.StartsWith(DispatcherThreadPrefix, StringComparison.Ordinal) ?? false,
            $"the {what} ran on the actor dispatcher thread '{call.ThreadName}'");
        Assert.True(call.ResultWasReady is false, call.ResultWasReady is null
            ? $"the {what} ran before the call had returned its AsyncResult (synchronously, on the caller's thread?)"
            : $"the {what} ran after the AsyncResult was already ready");
    }

    private static int OddThrows(int x) => x % 2 == 1 ? throw new InvalidOperationException($"odd {x}") : x * 10;

    private static Func<int, int> SeveralFailLastIsSlow(string dir) => x =>
    {
        if (x is 2 or 5 or 7 or 9)
            throw new InvalidOperationException($"no {x}");
        if (x == 11)
        {
            Thread.Sleep(1500);
            TaskDirectory.Mark(dir, 11);
        }
        return x;
    };

    private static Func<int, int> LastWaitsAtGate(string dir, int last) => x =>
    {
        if (x == last)
            TaskDirectory.WaitAtGate(dir);
        return x;
    };

    /// <summary>One run of a callback: with what, where, and whether its call's result was ready by then.</summary>
    private sealed record Invocation(object? Value, int Pid, bool OnThreadPool, string? ThreadName, bool? ResultWasReady);

    /// <summary>Records a call's callback and errorCallback runs.</summary>
    private sealed class CallbackLog<TResult>
    {
        private static readonly TimeSpan AttachLimit = TimeSpan.FromSeconds(30);

        private readonly TaskCompletionSource<AsyncResult<TResult>> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Invocation> _results = [];
        private readonly List<Invocation> _errors = [];

        public IReadOnlyList<Invocation> Results
        {
            get
            {
                lock (_results)
                    return [.. _results];
            }
        }

        public IReadOnlyList<Invocation> Errors
        {
            get
            {
                lock (_errors)
                    return [.. _errors];
            }
        }

        /// <summary>Hands the callbacks the AsyncResult they belong to, once the call has returned it.</summary>
        public void Attach(AsyncResult<TResult> result) => _result.TrySetResult(result);

        public void OnResult(TResult value) => Record(_results, value);

        public void OnError(Exception error) => Record(_errors, error);

        private void Record(List<Invocation> into, object? value)
        {
            var thread = Thread.CurrentThread;
            var (pid, onThreadPool, name) = (Environment.ProcessId, thread.IsThreadPoolThread, thread.Name);
            // The callback holds its call's result back until it returns: looking at it from here must find it not ready.
            bool? ready = _result.Task.Wait(AttachLimit) ? _result.Task.Result.IsReady : null;
            lock (into)
                into.Add(new Invocation(value, pid, onThreadPool, name, ready));
        }
    }

    /// <summary>A synchronous progress sink that keeps every value reported.</summary>
    private sealed class ProgressLog : IProgress<int>
    {
        private readonly List<int> _values = [];

        public IReadOnlyList<int> Values
        {
            get
            {
                lock (_values)
                    return [.. _values];
            }
        }

        public int Last
        {
            get
            {
                lock (_values)
                    return _values.Count == 0 ? 0 : _values[^1];
            }
        }

        public void Report(int value)
        {
            lock (_values)
                _values.Add(value);
        }
    }
}

/// <summary>A progress reporter that throws on every report.</summary>
internal sealed class ThrowingProgress : IProgress<int>
{
    public void Report(int value) => throw new InvalidOperationException("progress broke");
}
