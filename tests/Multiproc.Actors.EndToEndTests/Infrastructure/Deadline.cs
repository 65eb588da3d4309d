using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>A call or a test that did not finish within its deadline: a hung test is a failed test.</summary>
public sealed class HangException(string message) : Exception(message);

/// <summary>
/// Liveness deadlines for everything a test waits on. Nothing here asserts speed: the limits are
/// generous, and only a hang (or a lost process) crosses them.
/// </summary>
internal static class Deadline
{
    /// <summary>A whole test.</summary>
    public static readonly TimeSpan TestLimit = TimeSpan.FromSeconds(120);

    /// <summary>One blocking call into the library (Map, Get, Join, Dispose...).</summary>
    public static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(60);

    /// <summary>Runs a test body on the thread pool and fails it with <see cref="HangException"/> if it does not finish in time.</summary>
    public static async Task Bounded(Func<Task> body, TimeSpan? limit = null, [CallerMemberName] string test = "")
    {
        var within = limit ?? TestLimit;
        var task = Task.Run(body);
        try
        {
            await task.WaitAsync(within);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new HangException($"{test} did not finish within {within}.");
        }
    }

    /// <summary>Runs a blocking call on the thread pool and awaits it with a deadline.</summary>
    public static async Task<T> Call<T>(Func<T> call, TimeSpan? limit = null, [CallerArgumentExpression(nameof(call))] string what = "")
    {
        var within = limit ?? CallLimit;
        var task = Task.Run(call);
        try
        {
            return await task.WaitAsync(within);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new HangException($"`{what}` did not return within {within}.");
        }
    }

    /// <summary>Runs a blocking call on the thread pool and awaits it with a deadline.</summary>
    public static Task Call(Action call, TimeSpan? limit = null, [CallerArgumentExpression(nameof(call))] string what = "") =>
        Call(() =>
        {
            call();
            return true;
        }, limit, what);

    /// <summary>Awaits a task with a deadline.</summary>
    public static async Task<T> Within<T>(Task<T> task, TimeSpan? limit = null, [CallerArgumentExpression(nameof(task))] string what = "")
    {
        var within = limit ?? CallLimit;
        try
        {
            return await task.WaitAsync(within);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new HangException($"`{what}` did not complete within {within}.");
        }
    }

    /// <summary>Awaits a task with a deadline.</summary>
    public static async Task Within(Task task, TimeSpan? limit = null, [CallerArgumentExpression(nameof(task))] string what = "")
    {
        var within = limit ?? CallLimit;
        try
        {
            await task.WaitAsync(within);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new HangException($"`{what}` did not complete within {within}.");
        }
    }

    /// <summary>Awaits a pool's <see cref="AsyncResult{T}"/> (through its own awaiter) with a deadline.</summary>
    public static Task<T> Awaited<T>(AsyncResult<T> result, TimeSpan? limit = null, [CallerArgumentExpression(nameof(result))] string what = "")
    {
        return Within(AwaitIt(), limit, what);

        async Task<T> AwaitIt() => await result;
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms until it holds, failing once <paramref name="limit"/>
    /// has passed on <paramref name="clock"/> (a new one when not given).
    /// </summary>
    public static async Task Eventually(Func<bool> condition, TimeSpan limit, Func<string> failure, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                // One last look: the condition may have come true while we were late.
                if (condition())
                    return;
                Assert.Fail($"Not within {limit}: {failure()}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Disposes with a deadline.</summary>
    public static Task Dispose(IDisposable? disposable, [CallerArgumentExpression(nameof(disposable))] string what = "") =>
        disposable is null ? Task.CompletedTask : Call(disposable.Dispose, CallLimit, $"{what}.Dispose()");
}
