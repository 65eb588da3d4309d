using System.Collections.Concurrent;
using Multiproc.Actors.Launching;

namespace Multiproc.Actors.Tests;

/// <summary>A launcher that starts no process: the spec's probes play the workers.</summary>
internal sealed class FakeLauncher : IWorkerLauncher
{
    private int _nextPid = 1000;

    public ConcurrentQueue<FakeProcess> Launched { get; } = new();

    public IWorkerProcess Launch(string parentPath, Action<int, int?> onExit)
    {
        var process = new FakeProcess(Interlocked.Increment(ref _nextPid), onExit);
        Launched.Enqueue(process);
        return process;
    }

    public FakeProcess this[int index] => Launched.ElementAt(index);
}

internal sealed class FakeProcess(int pid, Action<int, int?> onExit) : IWorkerProcess
{
    private int _exited;
    private Action<int, int?> _onExit = onExit;

    public int Pid { get; } = pid;

    public bool Killed { get; private set; }

    public void Kill()
    {
        Killed = true;
        Exit(137);
    }

    public void Exit(int code)
    {
        if (Interlocked.Exchange(ref _exited, 1) == 0)
            Volatile.Read(ref _onExit)(Pid, code);
    }

    public bool WaitForExit(TimeSpan timeout) => Volatile.Read(ref _exited) == 1;

    public void ReportExitTo(Action<int, int?> onExit)
    {
        Volatile.Write(ref _onExit, onExit);
        if (Volatile.Read(ref _exited) == 1)
            onExit(Pid, null);
    }
}

/// <summary>A job sink that records what the aggregator did.</summary>
internal sealed class RecordingSink<T>(int count) : Multiproc.Actors.Actors.IJobSink
{
    public T[] Results { get; } = new T[count];

    public TaskCompletionSource<T[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Accept(int start, object? results)
    {
        var chunk = (T[])results!;
        Array.Copy(chunk, 0, Results, start, chunk.Length);
    }

    public void Complete() => Completion.TrySetResult(Results);

    public void Fail(Exception error) => Completion.TrySetException(error);
}
