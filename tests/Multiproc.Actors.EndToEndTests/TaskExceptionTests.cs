using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Exceptions thrown by tasks in workers, as the caller sees them.</summary>
[Collection(SharedPoolCollection.Name)]
public sealed class TaskExceptionTests(SharedPoolFixture fixture)
{
    private const string TestNamespace = "Multiproc.Actors.EndToEndTests";

    [Fact]
    public Task InvalidOperationException_comes_back_with_its_type_message_and_remote_stack_trace() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() =>
            pool.Map(x => x == 3 ? throw new InvalidOperationException("item 3 is invalid") : x, Enumerable.Range(0, 10))));

        Assert.Equal("item 3 is invalid", error.Message);
        AssertRemoteStackTrace(error);
    });

    [Fact]
    public Task ArgumentException_with_a_paramName_comes_back_with_its_type_and_message() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var expected = new ArgumentException("value is out of its domain", "x").Message;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Call(() =>
            pool.Map<int, int>(x => throw new ArgumentException("value is out of its domain", nameof(x)), new[] { 1 })));

        Assert.Equal(expected, error.Message);
        AssertRemoteStackTrace(error);
    });

    [Fact]
    public Task A_custom_exception_type_of_the_test_assembly_comes_back_with_its_type_and_message() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() =>
            pool.Map(x => x == 1 ? throw new CustomTaskException($"custom failure at {x}", null) : x, new[] { 0, 1, 2 })));

        Assert.Equal("custom failure at 1", error.Message);
        AssertRemoteStackTrace(error);
    });

    [Fact]
    public Task MapAsync_Get_rethrows_the_tasks_exception_type_and_message() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var result = pool.MapAsync(x => x == 0 ? throw new CustomTaskException("async failure", null) : x, new[] { 0 });

        var error = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() => result.Get(TimeSpan.FromSeconds(50))));

        Assert.Equal("async failure", error.Message);
        AssertRemoteStackTrace(error);
    });

    [Fact]
    public Task An_exception_type_without_a_usable_constructor_comes_back_as_RemoteException() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<RemoteException>(() => Call(() =>
            pool.Map<int, int>(x => throw new CodeOnlyException(x), new[] { 42 })));

        Assert.Contains(typeof(CodeOnlyException).FullName!, error.RemoteType);
        Assert.Equal("failed with code 42", error.Message);
        Assert.False(string.IsNullOrWhiteSpace(error.RemoteStackTrace));
        Assert.Contains(TestNamespace, error.RemoteStackTrace);
    });

    [Fact]
    public Task When_several_items_throw_the_lowest_input_index_is_reported() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        const int n = 20;

        // Higher indexes fail first: the report must still be about the lowest one.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() => pool.Map(i =>
        {
            Thread.Sleep((n - i) * 10);
            return i is 5 or 9 or 17 ? throw new InvalidOperationException($"item {i}") : i;
        }, Enumerable.Range(0, n), chunksize: 1)));

        Assert.Equal("item 5", error.Message);
    });

    [Fact]
    public Task When_several_items_of_one_chunk_and_of_other_chunks_throw_the_lowest_index_is_reported() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() => pool.Map(
            i => i % 10 == 7 ? throw new CustomTaskException($"item {i}", null) : i,
            Enumerable.Range(0, 100), chunksize: 6)));

        Assert.Equal("item 7", error.Message);
    });

    [Fact]
    public Task The_pool_stays_usable_after_failed_calls() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        for (var round = 0; round < 3; round++)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() =>
                pool.Map(x => x % 2 == 0 ? throw new InvalidOperationException("even") : x, Enumerable.Range(0, 20), chunksize: 1)));
            await Assert.ThrowsAsync<RemoteException>(() => Call(() =>
                pool.Map<int, int>(x => throw new CodeOnlyException(x), Enumerable.Range(0, 5))));
        }

        var results = await Call(() => pool.Map(x => x * x, Enumerable.Range(0, 200)));
        Assert.Equal(Enumerable.Range(0, 200).Select(x => x * x), results);
    });

    private static void AssertRemoteStackTrace(Exception error)
    {
        var trace = Assert.IsType<string>(error.Data["RemoteStackTrace"]);
        Assert.False(string.IsNullOrWhiteSpace(trace));
        // The frames are the worker's: the lambda that threw is in this test assembly.
        Assert.Contains(TestNamespace, trace);
    }
}
