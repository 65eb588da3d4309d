using System.Runtime.Serialization;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>A value holding a native handle one level down.</summary>
public sealed class HandleHolder
{
    public HandleInner? Inner;
}

public sealed class HandleInner
{
    public IntPtr Handle;
}

/// <summary>What means nothing in another process (a pointer, an actor) is refused by name, never sent to crash there.</summary>
[Collection(SharedPoolCollection.Name)]
public sealed class NativeValueTests(SharedPoolFixture fixture)
{
    [Fact]
    public Task A_result_holding_a_pointer_fails_that_task_naming_the_member_path_and_type() => Bounded(async () =>
    {
        var error = await Record.ExceptionAsync(() => Call(() =>
            fixture.Pool.Apply(n => new HandleHolder { Inner = new HandleInner { Handle = n } }, 42)));

        var refused = Assert.IsType<SerializationException>(error);
        Assert.Contains("result[0].Inner.Handle: System.IntPtr", refused.Message);
        Assert.Equal(2, await Call(() => fixture.Pool.Apply(x => x + 1, 1)));
    });

    [Fact]
    public Task An_argument_or_capture_holding_a_pointer_is_refused_in_the_caller_as_an_argument_error() => Bounded(async () =>
    {
        var holder = new HandleHolder { Inner = new HandleInner { Handle = 42 } };

        var argument = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply(h => h.Inner!.Handle.ToInt64(), holder)));
        var capture = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply(HandleOf(holder))));

        Assert.Contains("Inner.Handle", Assert.IsType<ArgumentException>(argument).Message);
        Assert.Contains("Inner.Handle", Assert.IsType<ArgumentException>(capture).Message);
    });

    [Fact]
    public Task A_queue_item_holding_a_pointer_is_refused_by_name() => Bounded(async () =>
    {
        using var queue = new SimpleQueue<object>(fixture.Context);

        var error = await Record.ExceptionAsync(() => Call(() => queue.Put(new HandleHolder { Inner = new HandleInner() })));

        Assert.Contains("System.IntPtr", Assert.IsType<ArgumentException>(error).Message);
    });

    private static Func<long> HandleOf(HandleHolder holder) => () => holder.Inner!.Handle.ToInt64();
}
