using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class RemoteErrorTests
{
    [Fact]
    public void An_exception_comes_back_as_the_same_type_with_the_same_message_and_the_remote_stack_trace()
    {
        var rebuilt = RemoteError.From(Thrown(() => throw new InvalidOperationException("no way"))).ToException();

        var error = Assert.IsType<InvalidOperationException>(rebuilt);
        Assert.Equal("no way", error.Message);
        var stack = Assert.IsType<string>(error.Data[RemoteError.StackTraceKey]);
        Assert.Contains(nameof(Thrown), stack);
        Assert.Contains(nameof(Thrown), error.StackTrace);
    }

    [Fact]
    public void A_chain_of_100_000_inner_exceptions_is_captured_without_recursion_and_cut_to_the_limit()
    {
        var exception = new InvalidOperationException("innermost");
        for (var i = 0; i < 100_000; i++)
            exception = new InvalidOperationException($"level {i}", exception);
        RemoteError? error = null;
        // A small stack: capturing must not recurse once per inner exception.
        var thread = new Thread(() => error = RemoteError.From(exception), 256 * 1024);
        thread.Start();
        thread.Join();

        var length = 0;
        for (var e = error; e is not null; e = e.Inner)
            length++;
        Assert.Equal(RemoteError.MaxChain, length);
        Assert.Equal("level 99999", error!.ToException().Message);
    }

    [Fact]
    public void An_argument_exception_keeps_its_message_including_the_parameter()
    {
        var original = new ArgumentException("bad value", "count");
        var rebuilt = RemoteError.From(original).ToException();
        Assert.IsType<ArgumentException>(rebuilt);
        Assert.Equal(original.Message, rebuilt.Message);
    }

    [Fact]
    public void An_exception_without_a_message_constructor_becomes_a_RemoteException_naming_its_type()
    {
        var rebuilt = RemoteError.From(new CodedException(42)).ToException();
        var error = Assert.IsType<RemoteException>(rebuilt);
        Assert.Contains(nameof(CodedException), error.RemoteType);
        Assert.Equal("code 42", error.Message);
    }

    [Fact]
    public void An_exception_of_a_type_that_cannot_be_loaded_becomes_a_RemoteException()
    {
        var error = new RemoteError("No.Such.Exception, No.Such.Assembly", "gone", "at somewhere", null).ToException();
        var remote = Assert.IsType<RemoteException>(error);
        Assert.Equal("No.Such.Exception, No.Such.Assembly", remote.RemoteType);
        Assert.Equal("at somewhere", remote.RemoteStackTrace);
    }

    [Fact]
    public void Inner_exceptions_are_rebuilt_too()
    {
        var original = new InvalidOperationException("outer", new FormatException("inner"));
        var rebuilt = RemoteError.From(original).ToException();
        Assert.IsType<FormatException>(rebuilt.InnerException);
        Assert.Equal("inner", rebuilt.InnerException!.Message);
    }

    private static Exception Thrown(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            return e;
        }
        throw new InvalidOperationException("expected a throw");
    }

    public sealed class CodedException(int code) : Exception($"code {code}");
}
