using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Starmap (pairs and triples) and StarmapAsync over real worker processes.</summary>
public sealed class StarmapTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>
{
    [Fact]
    public Task Starmap_of_pairs_returns_the_results_in_input_order() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var pairs = Enumerable.Range(0, 200).Select(i => (i, i % 7)).ToArray();

        var results = await Call(() => pool.Starmap((int a, int b) => a * 10 + b, pairs));

        Assert.Equal(pairs.Select(p => p.Item1 * 10 + p.Item2), results);
    });

    [Fact]
    public Task Starmap_of_triples_returns_the_results_in_input_order() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var triples = Enumerable.Range(0, 150).Select(i => (i, $"s{i}", i % 2 == 0)).ToArray();

        var results = await Call(() => pool.Starmap(Join, triples));

        Assert.Equal(triples.Select(t => Join(t.Item1, t.Item2, t.Item3)), results);
    });

    [Fact]
    public Task Starmap_runs_in_worker_processes() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var pids = await Call(() => pool.Starmap((int a, int b) => Environment.ProcessId, new[] { (1, 2), (3, 4), (5, 6) }, chunksize: 1));

        Assert.DoesNotContain(Environment.ProcessId, pids);
    });

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    public Task Chunksize_does_not_change_the_results_of_Starmap(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var pairs = Enumerable.Range(0, 40).Select(i => ($"k{i}", i)).ToArray();
        var triples = Enumerable.Range(0, 40).Select(i => (i, i + 1, i + 2)).ToArray();

        var fromPairs = await Call(() => pool.Starmap((string k, int v) => $"{k}={v}", pairs, chunksize));
        var fromTriples = await Call(() => pool.Starmap((int a, int b, int c) => a * b * c, triples, chunksize));

        Assert.Equal(pairs.Select(p => $"{p.Item1}={p.Item2}"), fromPairs);
        Assert.Equal(triples.Select(t => t.Item1 * t.Item2 * t.Item3), fromTriples);
    });

    [Fact]
    public Task StarmapAsync_can_be_awaited_and_read_with_Get() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var pairs = Enumerable.Range(0, 60).Select(i => (i, -i)).ToArray();

        var awaited = await Awaited(pool.StarmapAsync((int a, int b) => a - b, pairs));
        var result = pool.StarmapAsync(MakePoint, pairs, chunksize: 5);
        var got = await Call(() => result.Get(CallLimit));

        Assert.Equal(pairs.Select(p => p.Item1 * 2), awaited);
        Assert.Equal(pairs.Select(p => new Point(p.Item1, p.Item2)), got);
        Assert.True(result.IsSuccessful);
    });

    [Fact]
    public Task Starmap_of_an_empty_input_returns_an_empty_list() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var pairs = await Call(() => pool.Starmap((int a, int b) => a + b, Array.Empty<(int, int)>()));
        var triples = await Call(() => pool.Starmap((int a, int b, int c) => a + b + c, Array.Empty<(int, int, int)>()));
        var awaited = await Awaited(pool.StarmapAsync((int a, int b) => a + b, Enumerable.Empty<(int, int)>()));

        Assert.Empty(pairs);
        Assert.Empty(triples);
        Assert.Empty(awaited);
    });

    [Fact]
    public Task A_failing_Starmap_reports_the_lowest_input_index_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var pairs = Enumerable.Range(0, 20).Select(i => (i, i)).ToArray();
        var triples = Enumerable.Range(0, 20).Select(i => (i, i, i)).ToArray();

        var fromPairs = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() =>
            pool.Starmap((int a, int b) => a is 13 or 4 or 17 ? throw new InvalidOperationException($"pair {a}") : a + b, pairs, chunksize: 3)));
        var fromTriples = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() =>
            pool.Starmap((int a, int b, int c) => a >= 9 ? throw new CustomTaskException($"triple {a}", null) : a, triples, chunksize: 1)));
        var fromAsync = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Awaited(pool.StarmapAsync((int a, int b) => a % 5 == 4 ? throw new InvalidOperationException($"async {a}") : a, pairs)));

        Assert.Equal("pair 4", fromPairs.Message);
        Assert.Equal("triple 9", fromTriples.Message);
        Assert.Equal("async 4", fromAsync.Message);
        Assert.Equal(new[] { 3, 7 }, await Call(() => pool.Starmap((int a, int b) => a + b, new[] { (1, 2), (3, 4) })));
    });

    [Fact]
    public Task An_input_that_throws_while_being_read_fails_the_Starmap_call_itself_with_that_exception() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var pairs = new BrokenInput<(int, int)>(i => (i, i));
        var triples = new BrokenInput<(int, int, int)>(i => (i, i, i));
        var asyncPairs = new BrokenInput<(int, int)>(i => (i, i));

        var pairError = await Assert.ThrowsAsync<InvalidDataException>(() => Call(() => pool.Starmap((int a, int b) => a + b, pairs.Items())));
        var tripleError = await Assert.ThrowsAsync<InvalidDataException>(() => Call(() => pool.Starmap((int a, int b, int c) => a, triples.Items())));
        // StarmapAsync reads its whole input at the call, as MapAsync does: the call throws, it does not return a failed result.
        var asyncError = Assert.Throws<InvalidDataException>(() => pool.StarmapAsync((int a, int b) => a + b, asyncPairs.Items()));

        Assert.Same(pairs.Thrown, pairError);
        Assert.Same(triples.Thrown, tripleError);
        Assert.Same(asyncPairs.Thrown, asyncError);
        Assert.Equal(new[] { 3 }, await Call(() => pool.Starmap((int a, int b) => a + b, new[] { (1, 2) })));
    });

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public Task Chunksize_below_one_throws_ArgumentOutOfRangeException(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Starmap((int a, int b) => a, new[] { (1, 2) }, chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Starmap((int a, int b, int c) => a, new[] { (1, 2, 3) }, chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.StarmapAsync((int a, int b) => a, new[] { (1, 2) }, chunksize));

        Assert.Equal(new[] { 2 }, await Call(() => pool.Starmap((int a, int b) => a * b, new[] { (1, 2) })));
    });

    private static string Join(int n, string s, bool flag) => $"{n}/{s}/{(flag ? "even" : "odd")}";

    private static Point MakePoint(int x, int y) => new(x, y);

    /// <summary>An input that yields three items, then throws an exception the test can compare by reference.</summary>
    private sealed class BrokenInput<T>(Func<int, T> item)
    {
        public Exception? Thrown { get; private set; }

        public IEnumerable<T> Items()
        {
            for (var i = 0; i < 3; i++)
                yield return item(i);
            Thrown = new InvalidDataException("the input broke after 3 items");
            throw Thrown;
        }
    }
}
