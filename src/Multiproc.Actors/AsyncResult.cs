using System.Runtime.CompilerServices;

namespace Multiproc.Actors;

/// <summary>
/// The pending result of an asynchronous pool call: awaitable, and with Python's blocking
/// <c>get</c>/<c>wait</c>/<c>ready</c>/<c>successful</c>.
/// </summary>
/// <remarks>Python: <c>multiprocessing.pool.AsyncResult</c>.</remarks>
/// <typeparam name="T">The result's type.</typeparam>
public sealed class AsyncResult<T>
{
    private readonly Task<T> _task;

    internal AsyncResult(Task<T> task) => _task = task;

    /// <summary>Whether the call has finished, successfully or not. Python: <c>ready()</c>.</summary>
    public bool IsReady => _task.IsCompleted;

    /// <summary>Whether the call finished without an exception. Python: <c>successful()</c>.</summary>
    /// <exception cref="InvalidOperationException">The call has not finished.</exception>
    public bool IsSuccessful => IsReady
        ? _task.IsCompletedSuccessfully
        : throw new InvalidOperationException("The result is not ready yet; IsSuccessful is known only once IsReady is true.");

    /// <summary>Waits for the result and returns it, or rethrows the task's exception. Python: <c>get(timeout)</c>.</summary>
    /// <param name="timeout">How long to wait; <c>null</c> waits for as long as it takes.</param>
    /// <exception cref="TimeoutException">The result was not ready within <paramref name="timeout"/>; a later <c>Get</c> may still return it.</exception>
    public T Get(TimeSpan? timeout = null)
    {
        if (!Wait(timeout))
            throw new TimeoutException($"The result was not ready within {timeout}.");
        return _task.GetAwaiter().GetResult();
    }

    /// <summary>Waits until the result is ready or the timeout passes. Python: <c>wait(timeout)</c>.</summary>
    /// <param name="timeout">How long to wait; <c>null</c> waits for as long as it takes.</param>
    /// <returns>True when the result is ready.</returns>
    public bool Wait(TimeSpan? timeout = null)
    {
        try
        {
            return _task.Wait(timeout ?? Timeout.InfiniteTimeSpan);
        }
        catch (AggregateException)
        {
            // A failed call is ready too; Get rethrows its exception.
            return true;
        }
    }

    /// <summary>The result as a task.</summary>
    public Task<T> AsTask() => _task;

    /// <summary>Makes the result awaitable: <c>var list = await pool.MapAsync(...)</c>.</summary>
    public TaskAwaiter<T> GetAwaiter() => _task.GetAwaiter();
}
