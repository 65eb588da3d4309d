using Akka.Actor;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Launching;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Actors;

/// <summary>What the caller's side hands its pool actor and job aggregators; never leaves the process.</summary>
internal static class PoolCommands
{
    /// <summary>Launch the worker processes; answered with <see cref="Started"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record Start : ILocalOnly
    {
        public static readonly Start Instance = new();
    }

    /// <summary>The worker processes are launched (not necessarily registered yet).</summary>
    public sealed record Started : ILocalOnly
    {
        public static readonly Started Instance = new();
    }

    /// <summary>A call's work: queue its chunks and aggregate their results into its sink.</summary>
    public sealed record SubmitJob(JobSpec Job) : ILocalOnly;

    /// <summary>Opens a streaming call (<c>Imap</c>): its chunks come later, one <see cref="AddChunk"/> at a time.</summary>
    public sealed record OpenStream(long JobId, EncodedFunction Function, IStreamSink Sink) : ILocalOnly;

    /// <summary>One more chunk of an open stream.</summary>
    public sealed record AddChunk(long JobId, ChunkSpec Chunk) : ILocalOnly;

    /// <summary>The stream's consumer is done (finished, abandoned or cancelled): drop what it still has queued.</summary>
    public sealed record EndStream(long JobId) : ILocalOnly;

    /// <summary>No new work; retire workers once the queue is done.</summary>
    public sealed record ClosePool : ILocalOnly
    {
        public static readonly ClosePool Instance = new();
    }

    /// <summary>Kill the workers now and fail what is pending.</summary>
    public sealed record TerminatePool : ILocalOnly
    {
        public static readonly TerminatePool Instance = new();
    }

    /// <summary>The OS reported a worker process's exit.</summary>
    public sealed record WorkerExited(int Pid, int? ExitCode) : ILocalOnly;

    /// <summary>A replacement worker's back-off delay is over: launch it.</summary>
    public sealed record LaunchDue : ILocalOnly
    {
        public static readonly LaunchDue Instance = new();
    }

    /// <summary>The calls that were in the mailbox with the first of them are queued: dispatch them.</summary>
    public sealed record DispatchDue : ILocalOnly
    {
        public static readonly DispatchDue Instance = new();
    }

    /// <summary>A launched worker did not register (or get ready) in time.</summary>
    public sealed record StartTimedOut(int Pid) : ILocalOnly;

    /// <summary>A retiring worker did not exit in time.</summary>
    public sealed record RetireTimedOut(int Pid) : ILocalOnly;

    /// <summary>A new pool asks the warm workers for up to <paramref name="Count"/> workers; answered with <see cref="WarmClaimed"/>.</summary>
    public sealed record ClaimWarm(int Count) : ILocalOnly;

    /// <summary>
    /// The warm workers handed to the pool that asked (perhaps none). Each is told to register with
    /// that pool right after this is sent, so the pool knows them before they register.
    /// </summary>
    public sealed record WarmClaimed(IReadOnlyList<WarmWorker> Workers) : ILocalOnly;

    /// <summary>A pool hands an idle worker to the warm workers; it has been told to <see cref="PoolProtocol.Transfer"/> to them.</summary>
    public sealed record KeepWarm(WarmWorker Worker) : ILocalOnly;

    /// <summary>A chunk whose worker died is run again as <paramref name="Parts"/>, one item each; they report instead of it.</summary>
    public sealed record ChunkSplit(int ChunkIndex, ChunkSpec[] Parts) : ILocalOnly;

    /// <summary>A chunk that cannot complete (its workers kept dying); the error replaces its results.</summary>
    public sealed record ChunkLost(int ChunkIndex, int ItemIndex, Exception Error) : ILocalOnly;
}

/// <summary>A running, registered worker process changing hands between a pool and the warm workers.</summary>
internal sealed record WarmWorker(int Pid, IActorRef Ref, IWorkerProcess Process);

/// <summary>One chunk of a job: items <c>[Start, Start + Count)</c> of the input, serialized.</summary>
internal sealed record ChunkSpec(int Index, int Start, int Count, Payload Items);

/// <summary>A call's work as the pool actor queues it.</summary>
internal sealed record JobSpec(long JobId, EncodedFunction Function, IReadOnlyList<ChunkSpec> Chunks, IJobSink Sink);

/// <summary>Where a job's results go: the typed half of a call, owned by its facade method.</summary>
internal interface IJobSink
{
    /// <summary>Stores one chunk's decoded results at input position <paramref name="start"/>.</summary>
    void Accept(int start, object? results);

    /// <summary>Every chunk is in.</summary>
    void Complete();

    /// <summary>The call fails with <paramref name="error"/>.</summary>
    void Fail(Exception error);
}

/// <summary>Where a streaming call's chunks go as they complete, in completion order.</summary>
internal interface IStreamSink
{
    /// <summary>A chunk finished: its decoded results, or the error of its first item that failed.</summary>
    void Chunk(int chunkIndex, object? results, Exception? error);

    /// <summary>The whole stream fails (pool terminated or broken).</summary>
    void Fail(Exception error);
}
