using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>What may be sent as a task, and what is refused before any work is sent.</summary>
/// <remarks>
/// Closures are built in static factory methods: C# puts every captured variable of a scope in one
/// closure object, so a lambda made next to one that captures the pool would carry the pool too.
/// </remarks>
[Collection(SharedPoolCollection.Name)]
public sealed class FunctionTests(SharedPoolFixture fixture)
{
    [Fact]
    public Task A_static_method_group_runs() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Call(() => pool.Map(Negate, Enumerable.Range(0, 10)));

        Assert.Equal(Enumerable.Range(0, 10).Select(x => -x), results);
    });

    [Fact]
    public Task A_closure_capturing_an_int_and_a_string_runs() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var func = AddAndLabel(100, "item-");

        var results = await Call(() => pool.Map(func, Enumerable.Range(0, 10)));

        Assert.Equal(Enumerable.Range(0, 10).Select(x => $"item-{x + 100}"), results);
    });

    [Fact]
    public Task A_closure_capturing_a_record_and_an_array_runs() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var func = Scaled(new Point(3, 4), [10, 20, 30]);

        var results = await Call(() => pool.Map(func, Enumerable.Range(0, 9)));

        Assert.Equal(Enumerable.Range(0, 9).Select(i => i * 3 + 4 + new[] { 10, 20, 30 }[i % 3]), results);
    });

    [Fact]
    public Task An_instance_method_of_a_plain_object_runs() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var multiplier = new Multiplier { Factor = 7, Label = "x7=" };

        var results = await Call(() => pool.Map(multiplier.Apply, Enumerable.Range(0, 10)));

        Assert.Equal(Enumerable.Range(0, 10).Select(x => $"x7={x * 7}"), results);
    });

    [Fact]
    public Task A_closure_capturing_a_MemoryStream_is_refused_before_any_work_is_sent() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var stream = new MemoryStream([1, 2, 3]);
        var func = ReadsStream(stream);

        // Thrown by the call itself, not through the result: nothing was submitted.
        var error = Assert.Throws<ArgumentException>(() => pool.MapAsync(func, Enumerable.Range(0, 4)));
        Assert.Contains("capturedStream", error.Message);
        Assert.Contains(typeof(MemoryStream).FullName!, error.Message);
        Assert.Throws<ArgumentException>(() => pool.Map(func, Enumerable.Range(0, 4)));

        Assert.Equal(new[] { 1, 2, 3 }, await Call(() => pool.Map(x => x + 1, new[] { 0, 1, 2 })));
    });

    [Fact]
    public Task A_closure_capturing_a_FileStream_is_refused_before_any_work_is_sent() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var path = Path.GetTempFileName();
        try
        {
            using (var file = new FileStream(path, FileMode.Open))
            {
                var func = ReadsStream(file);

                var error = Assert.Throws<ArgumentException>(() => pool.MapAsync(func, Enumerable.Range(0, 4)));
                Assert.Contains("capturedStream", error.Message);
                Assert.Contains(typeof(FileStream).FullName!, error.Message);
            }

            Assert.Equal(new[] { 1, 2, 3 }, await Call(() => pool.Map(x => x + 1, new[] { 0, 1, 2 })));
        }
        finally
        {
            File.Delete(path);
        }
    });

    [Fact]
    public Task An_argument_holding_a_stream_is_refused_before_any_work_is_sent() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        using var stream = new MemoryStream();

        var error = Assert.Throws<ArgumentException>(() => pool.MapAsync(s => s.Length, new[] { stream }));
        Assert.Contains(typeof(MemoryStream).FullName!, error.Message);

        Assert.Equal(new[] { 1 }, await Call(() => pool.Map(x => x + 1, new[] { 0 })));
    });

    [Fact]
    public Task A_function_returning_a_Task_is_refused() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = Assert.Throws<ArgumentException>(() => pool.MapAsync(x => Task.FromResult(x), new[] { 1 }));
        Assert.Contains("Task", error.Message);

        Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
    });

    [Fact]
    public Task A_null_function_throws_ArgumentNullException() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        Assert.Throws<ArgumentNullException>(() => pool.Map<int, int>(null!, new[] { 1 }));
        Assert.Throws<ArgumentNullException>(() => pool.MapAsync<int, int>(null!, new[] { 1 }));
        Assert.Throws<ArgumentNullException>(() => pool.Map(x => x, (IEnumerable<int>)null!));

        Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
    });

    [Fact]
    public Task An_input_that_throws_while_being_read_fails_the_call_itself() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Call(() => pool.Map(x => x, BrokenInput())));
        Assert.Equal("the input broke after 3 items", error.Message);
        // MapAsync reads the whole input at the call too: it throws, rather than returning a failed result.
        var asyncError = Assert.Throws<InvalidDataException>(() => pool.MapAsync(x => x, BrokenInput()));
        Assert.Equal("the input broke after 3 items", asyncError.Message);

        Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
    });

    private static int Negate(int x) => -x;

    private static Func<int, string> AddAndLabel(int offset, string label) => x => $"{label}{x + offset}";

    private static Func<int, int> Scaled(Point point, int[] table) => i => i * point.X + point.Y + table[i % table.Length];

    private static Func<int, long> ReadsStream(Stream capturedStream) => x => x + capturedStream.Length;

    private static IEnumerable<int> BrokenInput()
    {
        yield return 1;
        yield return 2;
        yield return 3;
        throw new InvalidDataException("the input broke after 3 items");
    }
}
