using Multiproc.Actors.Actors;

namespace Multiproc.Actors.Functions;

/// <summary>The typed results of a map-like call, filled chunk by chunk at their input positions.</summary>
internal sealed class MapSink<TResult>(int count, IProgress<int>? progress) : IJobSink
{
    private readonly TResult[] _results = new TResult[count];
    private readonly TaskCompletionSource<IReadOnlyList<TResult>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _done;

    public Task<IReadOnlyList<TResult>> Task => _completion.Task;

    public void Accept(int start, object? results)
    {
        var chunk = (TResult[])results!;
        Array.Copy(chunk, 0, _results, start, chunk.Length);
        _done += chunk.Length;
        progress?.Report(_done);
    }

    public void Complete() => _completion.TrySetResult(_results);

    public void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>
/// The result of a one-item call (<c>Apply</c>): completes the caller's task itself, with no
/// list around the value and no continuation to unwrap it (a thread-pool hop per call).
/// </summary>
internal sealed class SingleSink<TResult> : IJobSink
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TResult? _result;

    public Task<TResult> Task => _completion.Task;

    public void Accept(int start, object? results) => _result = ((TResult[])results!)[0];

    public void Complete() => _completion.TrySetResult(_result!);

    public void Fail(Exception error) => _completion.TrySetException(error);
}
