using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Pool initializers: per-worker statics, argument checks, and failures.</summary>
public sealed class InitializerTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    [Fact]
    public Task An_initializer_sets_statics_seen_by_every_later_task_of_its_worker() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, initializer: (string s) => Holder.Value = s, initargs: ["hello"], context: fixture.Context));
        try
        {
            var pids = await WorkerPids.Of(pool);
            var values = await Call(() => pool.Map(_ => Holder.Value, Enumerable.Range(0, 40), chunksize: 1));

            Assert.Equal(2, pids.Length);
            Assert.All(values, value => Assert.Equal("hello", value));
            // The initializer ran in the workers, not here.
            Assert.Equal(Holder.Initial, Holder.Value);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_method_group_initializer_with_two_arguments_runs_in_each_worker() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, initializer: SetHolder, initargs: ["value", 3], context: fixture.Context));
        try
        {
            var values = await Call(() => pool.Map(x => $"{Holder.Value}:{x}", Enumerable.Range(0, 6)));

            Assert.Equal(Enumerable.Range(0, 6).Select(x => $"value-value-value:{x}"), values);
            Assert.Equal(Holder.Initial, Holder.Value);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Initargs_that_do_not_match_the_initializer_throw_ArgumentException_before_any_process_starts() => Bounded(async () =>
    {
        var context = fixture.Context;
        Delegate init = (string s) => Holder.Value = s;

        var tooFew = Assert.Throws<ArgumentException>(() => new ProcessPool(2, initializer: init, initargs: [], context: context));
        var tooMany = Assert.Throws<ArgumentException>(() => new ProcessPool(2, initializer: init, initargs: ["a", "b"], context: context));
        var missing = Assert.Throws<ArgumentException>(() => new ProcessPool(2, initializer: init, context: context));
        var wrongType = Assert.Throws<ArgumentException>(() => new ProcessPool(2, initializer: init, initargs: [42], context: context));
        var nullForValueType = Assert.Throws<ArgumentException>(() =>
            new ProcessPool(2, initializer: SetHolder, initargs: ["a", null], context: context));
        var noInitializer = Assert.Throws<ArgumentException>(() => new ProcessPool(2, initargs: ["a"], context: context));

        Assert.Contains("initargs", wrongType.Message);
        Assert.Equal("initargs", wrongType.ParamName);
        Assert.All(new[] { tooFew, tooMany, missing, nullForValueType, noInitializer }, e => Assert.Equal("initargs", e.ParamName));
        await Task.CompletedTask;
    });

    [Fact]
    public Task An_initializer_closure_over_a_stream_is_refused_before_any_process_starts() => Bounded(async () =>
    {
        using var stream = new MemoryStream();
        var init = InitReading(stream);

        var error = Assert.Throws<ArgumentException>(() => new ProcessPool(1, initializer: init, initargs: ["x"], context: fixture.Context));

        Assert.Contains("capturedStream", error.Message);
        await Task.CompletedTask;
    });

    [Fact]
    public Task An_initializer_that_throws_fails_the_pools_calls_with_its_exception() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, initializer: FailingInit, initargs: ["bad config"], context: fixture.Context));
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() => pool.Map(x => x, Enumerable.Range(0, 10))));
            Assert.Equal("initializer failed: bad config", error.Message);

            // No endless respawn loop: later calls fail the same way, promptly enough to meet the deadline.
            var again = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() => pool.Map(x => x, new[] { 1 })));
            Assert.Equal("initializer failed: bad config", again.Message);
            var asyncError = await Assert.ThrowsAsync<InvalidOperationException>(() => Awaited(pool.MapAsync(x => x, new[] { 1 })));
            Assert.Equal("initializer failed: bad config", asyncError.Message);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task An_initializer_throwing_a_custom_exception_fails_calls_with_that_type() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, initializer: FailingCustomInit,
            initargs: [7], context: fixture.Context));
        try
        {
            var error = await Assert.ThrowsAsync<CustomTaskException>(() => Call(() => pool.Map(x => x, new[] { 1, 2 })));
            Assert.Equal("init 7", error.Message);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    private static void SetHolder(string value, int times) => Holder.Value = string.Join("-", Enumerable.Repeat(value, times));

    private static void FailingInit(string what) => throw new InvalidOperationException($"initializer failed: {what}");

    private static void FailingCustomInit(int code) => throw new CustomTaskException($"init {code}", null);

    private static Action<string> InitReading(Stream capturedStream) => s => Holder.Value = s + capturedStream.Length;
}
