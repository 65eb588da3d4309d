using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// Imap, ImapUnordered and their async forms over real worker processes: order, lazy input,
/// exceptions, leaving early, cancellation.
/// </summary>
/// <remarks>
/// <para>The inputs here run in the test process (the consumer reads them), so a <see cref="Source"/>
/// can count how much of an endless input a call has read.</para>
/// <para>How much input a call may read: it keeps at most a window of
/// <c>processes × (multiproc.pool.prefetch + 1)</c> chunks out (read, result not yet taken), so it has
/// read at most the chunks whose results were taken plus one window.</para>
/// <para>Task closures that capture anything are built in static methods (see FunctionTests).</para>
/// </remarks>
public sealed class ImapTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>
{
    private static readonly int Prefetch = MultiprocContext.DefaultConfig.GetInt("multiproc.pool.prefetch");

    /// <summary>Chunks a streaming call keeps out at most.</summary>
    private int Window => fixture.Pool.Processes * (Prefetch + 1);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public Task Imap_yields_results_in_input_order_when_later_items_finish_first(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Call(() => pool.Imap(SlowerForLowerItems, Enumerable.Range(0, 12), chunksize).ToList());

        Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 10), results);
    });

    [Fact]
    public Task ImapAsync_yields_results_in_input_order() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Within(ToListAsync(pool.ImapAsync(x => -x, Enumerable.Range(0, 1000), chunksize: 10)));
        var slow = await Within(ToListAsync(pool.ImapAsync(SlowerForLowerItems, Enumerable.Range(0, 12))));

        Assert.Equal(Enumerable.Range(0, 1000).Select(x => -x), results);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 10), slow);
    });

    [Fact]
    public Task ImapUnordered_and_ImapUnorderedAsync_yield_every_result_once() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Call(() => pool.ImapUnordered(x => x * x, Enumerable.Range(0, 100), chunksize: 3).ToList());
        var asyncResults = await Within(ToListAsync(pool.ImapUnorderedAsync(x => x * x, Enumerable.Range(0, 100))));

        Assert.Equal(Enumerable.Range(0, 100).Select(x => x * x), results.Order());
        Assert.Equal(Enumerable.Range(0, 100).Select(x => x * x), asyncResults.Order());
    });

    [Fact]
    public Task Imap_of_an_empty_input_yields_nothing() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        Assert.Empty(await Call(() => pool.Imap(x => x, Array.Empty<int>()).ToList()));
        Assert.Empty(await Call(() => pool.ImapUnordered(x => x, Array.Empty<int>()).ToList()));
        Assert.Empty(await Within(ToListAsync(pool.ImapAsync(x => x, Array.Empty<int>()))));
        Assert.Empty(await Within(ToListAsync(pool.ImapUnorderedAsync(x => x, Array.Empty<int>()))));
    });

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 4)]
    public Task Imap_over_an_endless_input_taking_10_results_reads_only_a_few_chunks_of_it(bool ordered, int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();

        var results = await Call(() =>
            (ordered ? pool.Imap(x => x * 2, source.Endless(), chunksize) : pool.ImapUnordered(x => x * 2, source.Endless(), chunksize))
            .Take(10).ToList());

        if (ordered)
            Assert.Equal(Enumerable.Range(0, 10).Select(x => x * 2), results);
        else
            Assert.Equal(10, results.Distinct().Count(x => x % 2 == 0));
        // Ten results are ceil(10 / chunksize) chunks; the call reads at most those plus a window. (A
        // result that arrived ahead of an earlier one and waits to be yielded still counts against
        // the window: otherwise a worker that lags lets the call read on without bound; see the
        // slow-first-item test below.)
        var taken = (10 + chunksize - 1) / chunksize;
        var bound = (taken + Window) * chunksize;
        Assert.True(source.Read >= 10 && source.Read <= bound,
            $"read {source.Read} items; expected at most {bound}: {taken} chunks of {chunksize} taken plus a window of {Window} chunks");
        Assert.True(source.Disposed, "taking 10 results left the input's enumerator undisposed");
        await AssertUsable(pool);
    });

    [Fact]
    public Task Imap_over_an_endless_input_whose_first_item_is_slow_reads_a_bounded_amount_of_it() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();

        // Item 0 takes 2 s; meanwhile the other worker finishes later items as fast as it gets them.
        var results = await Call(() => pool.Imap(FirstTakesTwoSeconds, source.Endless()).Take(3).ToList());

        Assert.Equal(new[] { 0, 1, 2 }, results);
        // "Memory stays flat": results that wait for a slow earlier one are held by the call, so they
        // must count against the window like chunks still running; otherwise input is read (and
        // results buffered) without bound for as long as item 0 runs.
        Assert.InRange(source.Read, 3, 3 + Window);
        Assert.True(source.Disposed);
        await AssertUsable(pool);
    });

    [Fact]
    public Task ImapUnordered_yields_a_fast_result_before_a_slow_one() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var gate = new TaskDirectory();
        // Item 0 waits at the gate, which opens only once the first result is in: if ImapUnordered
        // waited for item 0, the first result would never come (the task gives up after 60 s).
        var func = FirstWaitsAtGate(gate.Path);

        var (first, rest) = await Call(() =>
        {
            using var results = pool.ImapUnordered(func, Enumerable.Range(0, 8)).GetEnumerator();
            Assert.True(results.MoveNext());
            var firstResult = results.Current;
            gate.Open();
            var others = new List<int>();
            while (results.MoveNext())
                others.Add(results.Current);
            return (firstResult, others);
        });

        Assert.NotEqual(0, first);
        Assert.Equal(Enumerable.Range(0, 8), rest.Append(first).Order());
    });

    [Fact]
    public Task ImapUnorderedAsync_yields_a_fast_result_before_a_slow_one() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var results = new List<int>();

        // Item 0 sleeps 2 s in its worker; the others are instant.
        await foreach (var result in pool.ImapUnorderedAsync(FirstTakesTwoSeconds, Enumerable.Range(0, 8)).WithCancellation(CallLimitToken()))
            results.Add(result);

        Assert.NotEqual(0, results[0]);
        Assert.Equal(Enumerable.Range(0, 8), results.Order());
    });

    [Fact]
    public Task A_task_exception_is_thrown_by_Imap_at_its_position_after_the_results_before_it() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        // Items 3 (after 300 ms) and 7 (at once) throw: 7's failure arrives first, 3's position comes first.
        var (results, error) = await Call(() => Collect(pool.Imap(ThreeAndSevenFail, Enumerable.Range(0, 10))));
        var (asyncResults, asyncError) = await Within(CollectAsync(pool.ImapAsync(ThreeAndSevenFail, Enumerable.Range(0, 10))));

        Assert.Equal(new[] { 0, 10, 20 }, results);
        Assert.Equal("no 3", Assert.IsType<InvalidOperationException>(error).Message);
        Assert.Equal(new[] { 0, 10, 20 }, asyncResults);
        Assert.Equal("no 3", Assert.IsType<InvalidOperationException>(asyncError).Message);
        await AssertUsable(pool);
    });

    [Fact]
    public Task A_task_exception_is_thrown_by_ImapUnordered_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var (results, error) = await Call(() => Collect(pool.ImapUnordered(ThreeAndSevenFail, Enumerable.Range(0, 10))));

        var failure = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains(failure.Message, new[] { "no 3", "no 7" });
        Assert.Subset(new[] { 0, 10, 20, 40, 50, 60, 80, 90 }.ToHashSet(), results.ToHashSet());
        Assert.Equal(results.Count, results.Distinct().Count());
        await AssertUsable(pool);
    });

    [Fact]
    public Task An_exception_thrown_by_the_input_reaches_the_caller_as_the_same_exception_after_the_completed_prefix() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var forImap = new Source();
        var forAsync = new Source();
        var forUnordered = new Source();

        var (results, error) = await Call(() => Collect(pool.Imap(x => x * 10, forImap.BreaksAfter(5))));
        var (asyncResults, asyncError) = await Within(CollectAsync(pool.ImapAsync(x => x * 10, forAsync.BreaksAfter(5), chunksize: 2)));
        var (unordered, unorderedError) = await Call(() => Collect(pool.ImapUnordered(x => x * 10, forUnordered.BreaksAfter(5))));

        Assert.Equal(new[] { 0, 10, 20, 30, 40 }, results);
        Assert.Same(forImap.Thrown, error);
        Assert.Equal(new[] { 0, 10, 20, 30, 40 }, asyncResults);
        Assert.Same(forAsync.Thrown, asyncError);
        Assert.Equal(new[] { 0, 10, 20, 30, 40 }, unordered.Order());
        Assert.Same(forUnordered.Thrown, unorderedError);
        await AssertUsable(pool);
    });

    [Fact]
    public Task Leaving_an_Imap_loop_early_stops_reading_input_and_drops_the_calls_remaining_work() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();
        using var dir = new TaskDirectory();
        // Item 0 returns at once; every other item marks that it ran, then waits at the gate: while
        // the gate is shut no worker frees a slot, so what the pool still queues when the loop is
        // left stays queued until the call's end reaches the pool.
        var func = MarkThenWaitUnlessFirst(dir.Path);
        int first;
        try
        {
            first = await Call(() =>
            {
                var firstResult = -1;
                foreach (var result in pool.Imap(func, source.Endless()))
                {
                    firstResult = result;
                    break;
                }
                return firstResult;
            });
            Assert.True(source.Disposed, "leaving the loop left the input's enumerator undisposed");
        }
        finally
        {
            dir.Open();
        }
        var read = source.Read;

        Assert.Equal(0, first);
        Assert.InRange(read, 1, Window);
        // Every worker runs its chunks in order: once each has run a task of a later call, the
        // abandoned call's work that was handed out has run.
        await WorkerPids.Of(pool);
        var ran = dir.Marks();
        Assert.True(ran.Count < read,
            $"every item read ran ({string.Join(", ", ran)} of {read} read): the call's queued work was not dropped");
        Assert.All(ran, item => Assert.InRange(item, 0, read - 1));
        Assert.Equal(read, source.Read);
        await AssertUsable(pool);
    });

    [Fact]
    public Task Cancelling_ImapAsync_mid_stream_throws_OperationCanceledException_and_drops_the_remaining_work() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();
        using var dir = new TaskDirectory();
        var func = MarkThenWaitUnlessFirst(dir.Path);
        using var cancel = new CancellationTokenSource();
        var seen = new List<int>();
        try
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(Consume()));
            Assert.True(source.Disposed, "cancelling left the input's enumerator undisposed");
        }
        finally
        {
            dir.Open();
        }
        var read = source.Read;

        Assert.Equal(new[] { 0 }, seen);
        // One more chunk may be read between the cancel and the wait that sees it.
        Assert.InRange(read, 1, Window + 1);
        await WorkerPids.Of(pool);
        var ran = dir.Marks();
        Assert.True(ran.Count < read,
            $"every item read ran ({string.Join(", ", ran)} of {read} read): the call's queued work was not dropped");
        Assert.Equal(read, source.Read);
        await AssertUsable(pool);

        async Task Consume()
        {
            await foreach (var result in pool.ImapAsync(func, source.Endless(), cancellationToken: cancel.Token))
            {
                seen.Add(result);
                await cancel.CancelAsync();
            }
        }
    });

    [Fact]
    public Task Cancelling_ImapUnorderedAsync_over_an_endless_input_stops_it_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();
        using var cancel = new CancellationTokenSource();
        var seen = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(Consume()));

        Assert.Equal(5, seen);
        Assert.True(source.Disposed, "cancelling left the input's enumerator undisposed");
        var read = source.Read;
        await AssertUsable(pool);
        Assert.Equal(read, source.Read);

        async Task Consume()
        {
            await foreach (var _ in pool.ImapUnorderedAsync(x => x, source.Endless(), cancellationToken: cancel.Token))
            {
                if (++seen == 5)
                    await cancel.CancelAsync();
            }
        }
    });

    [Fact]
    public Task ImapAsync_with_an_already_cancelled_token_throws_OperationCanceledException_without_reading_input() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var ordered = new Source();
        var unordered = new Source();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(ToListAsync(pool.ImapAsync(x => x, ordered.Endless(), cancellationToken: cancel.Token))));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(ToListAsync(pool.ImapUnorderedAsync(x => x, unordered.Endless(), cancellationToken: cancel.Token))));

        // Cancelled before it started: no input read, so no work sent.
        Assert.Equal(0, ordered.Read);
        Assert.Equal(0, unordered.Read);
        await AssertUsable(pool);
    });

    [Fact]
    public Task Leaving_an_ImapAsync_loop_early_stops_reading_input_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();

        var taken = await Within(TakeAsync(pool.ImapAsync(x => x + 1, source.Endless()), 5));

        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, taken);
        Assert.True(source.Disposed, "leaving the loop left the input's enumerator undisposed");
        var read = source.Read;
        await AssertUsable(pool);
        Assert.Equal(read, source.Read);
    });

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public Task Chunksize_below_one_throws_ArgumentOutOfRangeException_at_the_call(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var source = new Source();

        // Thrown by the call itself, before anything is enumerated.
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Imap(x => x, source.Endless(), chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.ImapUnordered(x => x, source.Endless(), chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.ImapAsync(x => x, source.Endless(), chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.ImapUnorderedAsync(x => x, source.Endless(), chunksize));

        Assert.Equal(0, source.Read);
        await AssertUsable(pool);
    });

    private static async Task AssertUsable(ProcessPool pool)
    {
        Assert.Equal(new[] { 2, 4, 6 }, await Call(() => pool.Map(x => x * 2, new[] { 1, 2, 3 })));
        Assert.Equal(new[] { 1, 2, 3 }, await Call(() => pool.Imap(x => x + 1, new[] { 0, 1, 2 }).ToList()));
    }

    private static CancellationToken CallLimitToken() => new CancellationTokenSource(CallLimit).Token;

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> sequence)
    {
        var list = new List<T>();
        await foreach (var item in sequence)
            list.Add(item);
        return list;
    }

    private static async Task<List<T>> TakeAsync<T>(IAsyncEnumerable<T> sequence, int count)
    {
        var list = new List<T>();
        await foreach (var item in sequence)
        {
            list.Add(item);
            if (list.Count == count)
                break;
        }
        return list;
    }

    private static (List<T> Results, Exception? Error) Collect<T>(IEnumerable<T> sequence)
    {
        var results = new List<T>();
        try
        {
            foreach (var item in sequence)
                results.Add(item);
        }
        catch (Exception e)
        {
            return (results, e);
        }
        return (results, null);
    }

    private static async Task<(List<T> Results, Exception? Error)> CollectAsync<T>(IAsyncEnumerable<T> sequence)
    {
        var results = new List<T>();
        try
        {
            await foreach (var item in sequence)
                results.Add(item);
        }
        catch (Exception e)
        {
            return (results, e);
        }
        return (results, null);
    }

    private static int SlowerForLowerItems(int i)
    {
        Thread.Sleep((12 - i) * 25);
        return i * 10;
    }

    private static int FirstTakesTwoSeconds(int x)
    {
        if (x == 0)
            Thread.Sleep(2000);
        return x;
    }

    private static int ThreeAndSevenFail(int x)
    {
        if (x == 3)
        {
            Thread.Sleep(300);
            throw new InvalidOperationException("no 3");
        }
        if (x == 7)
            throw new InvalidOperationException("no 7");
        return x * 10;
    }

    private static Func<int, int> FirstWaitsAtGate(string dir) => x =>
    {
        if (x == 0)
            TaskDirectory.WaitAtGate(dir);
        return x;
    };

    private static Func<int, int> MarkThenWaitUnlessFirst(string dir) => x =>
    {
        TaskDirectory.Mark(dir, x);
        if (x != 0)
            TaskDirectory.WaitAtGate(dir);
        return x;
    };

    /// <summary>Inputs read in the test process that count how many items the pool has taken from them.</summary>
    private sealed class Source
    {
        private int _read;
        private int _disposed;

        public int Read => Volatile.Read(ref _read);

        public bool Disposed => Volatile.Read(ref _disposed) != 0;

        public Exception? Thrown { get; private set; }

        /// <summary>0, 1, 2, ... for ever; notes when its enumerator is disposed.</summary>
        public IEnumerable<int> Endless()
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    Interlocked.Increment(ref _read);
                    yield return i;
                }
            }
            finally
            {
                Volatile.Write(ref _disposed, 1);
            }
        }

        /// <summary>0 .. count-1, then an exception the test can compare by reference.</summary>
        public IEnumerable<int> BreaksAfter(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Interlocked.Increment(ref _read);
                yield return i;
            }
            Thrown = new InvalidDataException($"the input broke after {count} items");
            throw Thrown;
        }
    }
}
