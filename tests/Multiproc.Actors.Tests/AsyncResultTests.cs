using Xunit;

namespace Multiproc.Actors.Tests;

public sealed class AsyncResultTests
{
    [Fact]
    public void Get_with_a_timeout_throws_TimeoutException_while_pending_and_returns_the_value_later()
    {
        var completion = new TaskCompletionSource<int>();
        var result = new AsyncResult<int>(completion.Task);

        Assert.Throws<TimeoutException>(() => result.Get(TimeSpan.FromMilliseconds(20)));
        Assert.False(result.IsReady);
        Assert.Throws<InvalidOperationException>(() => result.IsSuccessful);

        completion.SetResult(5);
        Assert.Equal(5, result.Get(TimeSpan.FromSeconds(1)));
        Assert.True(result.IsReady);
        Assert.True(result.IsSuccessful);
    }

    [Fact]
    public async Task A_failed_result_rethrows_the_original_exception_from_Get_and_await()
    {
        var result = new AsyncResult<int>(Task.FromException<int>(new FormatException("bad")));

        Assert.True(result.Wait(TimeSpan.Zero));
        Assert.False(result.IsSuccessful);
        Assert.Equal("bad", Assert.Throws<FormatException>(() => result.Get()).Message);
        await Assert.ThrowsAsync<FormatException>(async () => await result);
    }
}
