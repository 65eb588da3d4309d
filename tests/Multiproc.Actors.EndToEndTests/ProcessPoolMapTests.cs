using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Map over real worker processes: results, order, chunking.</summary>
[Collection(SharedPoolCollection.Name)]
public sealed class ProcessPoolMapTests(SharedPoolFixture fixture)
{
    [Fact]
    public Task Map_squares_of_1000_ints_in_input_order() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var input = Enumerable.Range(0, 1000).ToArray();

        var results = await Call(() => pool.Map(x => x * x, input));

        Assert.Equal(input.Select(x => x * x), results);
    });

    [Fact]
    public Task Map_returns_results_in_input_order_when_later_items_finish_first() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        const int n = 12;
        // Lower indexes sleep longer, so workers finish them after the higher ones.
        var results = await Call(() => pool.Map(i =>
        {
            Thread.Sleep((n - i) * 25);
            return i * 10;
        }, Enumerable.Range(0, n), chunksize: 1));

        Assert.Equal(Enumerable.Range(0, n).Select(i => i * 10), results);
    });

    [Fact]
    public Task Tasks_run_in_worker_processes_other_than_the_test_process() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var pids = await Call(() => pool.Map(_ => Environment.ProcessId, Enumerable.Range(0, 40), chunksize: 1));

        Assert.Equal(40, pids.Count);
        Assert.DoesNotContain(Environment.ProcessId, pids);
        Assert.All(pids.Distinct(), pid => Assert.True(ProcFs.IsWorkerAlive(pid), $"pid {pid} is not a running worker process"));
    });

    [Fact]
    public Task All_workers_of_the_pool_are_distinct_processes() => Bounded(async () =>
    {
        var pids = await WorkerPids.Of(fixture.Pool);

        Assert.Equal(2, pids.Length);
        Assert.DoesNotContain(Environment.ProcessId, pids);
    });

    [Fact]
    public Task Map_of_an_empty_input_returns_an_empty_list() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Call(() => pool.Map(x => x * 2, Array.Empty<int>()));
        var asyncResults = await Awaited(pool.MapAsync(x => x * 2, Enumerable.Empty<int>()));

        Assert.Empty(results);
        Assert.Empty(asyncResults);
    });

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(1000)]
    public Task Chunksize_does_not_change_the_results(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var input = Enumerable.Range(-20, 60).ToArray();

        var results = await Call(() => pool.Map(x => $"<{x}>", input, chunksize));

        Assert.Equal(input.Select(x => $"<{x}>"), results);
    });

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public Task Chunksize_below_one_throws_ArgumentOutOfRangeException(int chunksize) => Bounded(async () =>
    {
        var pool = fixture.Pool;

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Map(x => x, [1, 2, 3], chunksize));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.MapAsync(x => x, [1, 2, 3], chunksize));

        // Refused before anything was sent: the pool goes on working.
        Assert.Equal(new[] { 2, 4 }, await Call(() => pool.Map(x => x * 2, [1, 2])));
    });

    [Fact]
    public Task Map_of_strings_and_records_round_trips() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var points = Enumerable.Range(0, 50).Select(i => new Point(i, -i)).ToArray();

        var results = await Call(() => pool.Map(p => p with { Y = p.X * 2 }, points));

        Assert.Equal(points.Select(p => new Point(p.X, p.X * 2)), results);
    });
}
