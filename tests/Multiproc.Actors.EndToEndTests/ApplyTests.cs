using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Apply and ApplyAsync over real worker processes: arguments, results, exceptions, AsyncResult.</summary>
/// <remarks>
/// Closures that capture anything are built in static methods: C# puts every captured variable of a
/// scope in one closure object, so a task lambda made next to one that captures the pool would carry
/// the pool too (and be refused).
/// </remarks>
public sealed class ApplyTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>
{
    [Fact]
    public Task Apply_with_no_arguments_runs_once_in_a_worker_process_and_returns_its_result() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var pid = await Call(() => pool.Apply(() => Environment.ProcessId));
        var text = await Call(() => pool.Apply(() => "from a worker"));

        Assert.NotEqual(Environment.ProcessId, pid);
        Assert.True(ProcFs.IsWorkerAlive(pid), $"pid {pid} is not a running worker process");
        Assert.Equal("from a worker", text);
    });

    [Fact]
    public Task Apply_with_one_argument_passes_it_and_returns_the_result() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var square = await Call(() => pool.Apply((int x) => x * x, 12));
        var point = await Call(() => pool.Apply(Mirror, new Point(3, 4)));
        var described = await Call(() => pool.Apply(Describe, "abc"));

        Assert.Equal(144, square);
        Assert.Equal(new Point(4, 3), point);
        Assert.Equal("abc has 3 chars", described);
    });

    [Fact]
    public Task Apply_with_two_arguments_passes_both_in_order() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var sum = await Call(() => pool.Apply(Subtract, 10, 3));
        var label = await Call(() => pool.Apply((string prefix, int n) => $"{prefix}{n}", "n=", 7));

        Assert.Equal(7, sum);
        Assert.Equal("n=7", label);
    });

    [Fact]
    public Task Interleaved_calls_of_different_functions_on_the_same_workers_each_run_their_own() => Bounded(async () =>
    {
        // A worker keeps each stateless function it was sent and later calls name it by id only:
        // every call must still reach its own function, and a closure its own captured value.
        var pool = fixture.Pool;
        var negated = new List<AsyncResult<int>>();
        var tripled = new List<AsyncResult<int>>();
        var offset = new List<AsyncResult<string>>();
        for (var i = 0; i < 200; i++)
        {
            negated.Add(pool.ApplyAsync(Negate, i));
            tripled.Add(pool.ApplyAsync((int x) => x * 3, i));
            offset.Add(pool.ApplyAsync(Offset(i, "#"), 1));
        }
        var mapped = await Call(() => pool.Map(Negate, Enumerable.Range(0, 50), 1));

        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(-i, await negated[i]);
            Assert.Equal(i * 3, await tripled[i]);
            Assert.Equal($"#{1 + i}", await offset[i]);
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(x => -x), mapped);
    });

    [Fact]
    public Task A_method_group_over_an_array_runs_over_that_array_each_call() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var first = await Call(() => pool.Apply(ElementOf([10, 20, 30]), 1));
        var second = await Call(() => pool.Apply(ElementOf([40, 50, 60]), 1));

        Assert.Equal(20, first);
        Assert.Equal(50, second);
    });

    [Fact]
    public Task Apply_of_a_closure_over_serializable_values_runs_it_with_those_values() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var func = Offset(1000, "#");

        var result = await Call(() => pool.Apply(func, 5));

        Assert.Equal("#1005", result);
    });

    [Fact]
    public Task Apply_rethrows_the_tasks_exception_type_and_message_and_the_pool_stays_usable() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var none = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() =>
            pool.Apply<int>(() => throw new CustomTaskException("apply failed", null))));
        var one = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() =>
            pool.Apply((int x) => x > 0 ? throw new InvalidOperationException($"no {x}") : x, 4)));
        var two = await Assert.ThrowsAsync<ArgumentException>(() => Call(() =>
            pool.Apply<int, int, int>((a, b) => throw new ArgumentException($"{a} and {b} do not add up"), 1, 2)));

        Assert.Equal("apply failed", none.Message);
        Assert.Equal("no 4", one.Message);
        Assert.Equal("1 and 2 do not add up", two.Message);
        Assert.Equal(6, await Call(() => pool.Apply((int x) => x * 2, 3)));
    });

    [Fact]
    public Task ApplyAsync_with_no_arguments_can_be_awaited_and_read_with_Get() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var awaited = await Awaited(pool.ApplyAsync(() => 42));
        var result = pool.ApplyAsync(() => "got");
        var got = await Call(() => result.Get(CallLimit));

        Assert.Equal(42, awaited);
        Assert.Equal("got", got);
        Assert.True(result.IsReady);
        Assert.True(result.IsSuccessful);
        // Ready: Get again returns the same value at once.
        Assert.Equal("got", result.Get(TimeSpan.Zero));
    });

    [Fact]
    public Task ApplyAsync_with_one_argument_can_be_awaited_and_read_with_Get() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var awaited = await Awaited(pool.ApplyAsync((int x) => x + 1, 41));
        var result = pool.ApplyAsync(Mirror, new Point(1, 2));
        var got = await Call(() => result.Get(CallLimit));

        Assert.Equal(42, awaited);
        Assert.Equal(new Point(2, 1), got);
        Assert.True(result.IsSuccessful);
    });

    [Fact]
    public Task ApplyAsync_with_two_arguments_can_be_awaited() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var result = await Awaited(pool.ApplyAsync(Subtract, 100, 58));

        Assert.Equal(42, result);
    });

    [Fact]
    public Task A_failed_ApplyAsync_is_ready_and_not_successful_and_rethrows_from_Get_and_await() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.ApplyAsync((int x) => x == 1 ? throw new CustomTaskException($"async {x}", null) : x, 1);

        Assert.True(await Call(() => result.Wait(CallLimit)));
        Assert.True(result.IsReady);
        Assert.False(result.IsSuccessful);
        Assert.Equal("async 1", Assert.Throws<CustomTaskException>(() => result.Get(TimeSpan.Zero)).Message);
        Assert.Equal("async 1", (await Assert.ThrowsAsync<CustomTaskException>(() => Awaited(result))).Message);
        Assert.Equal(2, await Call(() => pool.Apply((int x) => x + 1, 1)));
    });

    [Fact]
    public Task Many_concurrent_ApplyAsync_calls_each_return_their_own_result() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = Enumerable.Range(0, 50).Select(i => pool.ApplyAsync((int x) => x * 3, i)).ToList();
        var values = await Within(Task.WhenAll(results.Select(r => r.AsTask())));

        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 3), values);
    });

    [Fact]
    public Task IsSuccessful_before_the_result_is_ready_throws_InvalidOperationException() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var gate = new TaskDirectory();
        var result = pool.ApplyAsync(WaitsAtGate(gate.Path), 21);
        try
        {
            // The task cannot finish before the gate opens, so the result cannot be ready yet.
            Assert.False(result.IsReady);
            Assert.Throws<InvalidOperationException>(() => result.IsSuccessful);
            Assert.False(result.Wait(TimeSpan.Zero));
        }
        finally
        {
            gate.Open();
        }

        Assert.Equal(42, await Awaited(result));
        Assert.True(result.IsReady);
        Assert.True(result.IsSuccessful);
    });

    [Fact]
    public Task Get_with_a_timeout_on_a_slow_task_throws_TimeoutException_and_a_later_Get_returns_the_value() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var gate = new TaskDirectory();
        var result = pool.ApplyAsync(WaitsAtGate(gate.Path), 50);
        try
        {
            await Assert.ThrowsAsync<TimeoutException>(() => Call(() => result.Get(TimeSpan.FromMilliseconds(100))));
            // The timeout did not spoil the result.
            Assert.False(result.IsReady);
        }
        finally
        {
            gate.Open();
        }

        Assert.Equal(100, await Call(() => result.Get(CallLimit)));
        Assert.Equal(100, result.Get(TimeSpan.Zero));
    });

    private static Point Mirror(Point p) => new(p.Y, p.X);

    private static string Describe(string s) => $"{s} has {s.Length} chars";

    private static int Subtract(int a, int b) => a - b;

    private static int Negate(int x) => -x;

    private static Func<int, int> ElementOf(int[] values) => values.ElementAt;

    private static Func<int, string> Offset(int offset, string prefix) => x => prefix + (x + offset);

    // Slow for exactly as long as the test keeps the gate shut.
    private static Func<int, int> WaitsAtGate(string dir) => x =>
    {
        TaskDirectory.WaitAtGate(dir);
        return x * 2;
    };
}
