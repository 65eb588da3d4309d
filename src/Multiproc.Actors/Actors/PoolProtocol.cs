using Akka.Actor;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The messages of a pool: between the <see cref="PoolActor"/> and its worker processes' <see cref="WorkerActor"/>s
/// (wire messages, <see cref="IMultiprocMessage"/>), and between the <see cref="ProcessPool"/> facade and its actor (local only).
/// </summary>
internal static class PoolProtocol
{
    // ---- worker → pool ----

    /// <summary>A freshly started worker presents the context's token and its process id; the sender is its <see cref="WorkerActor"/>.</summary>
    public sealed record RegisterWorker(string Token, int Pid) : IMultiprocMessage;

    /// <summary>The worker ran its initializer (or had none) and takes work.</summary>
    public sealed record WorkerReady : IMultiprocMessage
    {
        public static readonly WorkerReady Instance = new();
    }

    /// <summary>The initializer threw in the worker.</summary>
    public sealed record InitializerFailed(RemoteError Error) : IMultiprocMessage;

    /// <summary>A chunk ran; its results, serialized in the worker, in item order.</summary>
    public sealed record ChunkDone(long JobId, int ChunkIndex, Payload Results) : IMultiprocMessage;

    /// <summary>A chunk stopped at the item <paramref name="ItemIndex"/> (input position) that threw, or whose results could not travel.</summary>
    public sealed record ChunkFailed(long JobId, int ChunkIndex, int ItemIndex, RemoteError Error) : IMultiprocMessage;

    /// <summary>
    /// Several chunks' reports (<see cref="ChunkDone"/> or <see cref="ChunkFailed"/>) that finished
    /// while the worker actor was busy: one remote message instead of one each.
    /// </summary>
    public sealed record ChunkReports(IMultiprocMessage[] Reports) : IMultiprocMessage;

    // ---- pool → worker ----

    /// <summary>
    /// Accepts a registration: run the initializer (if any), then report <see cref="WorkerReady"/>.
    /// <paramref name="SharedDirectory"/>: the pool's shared-memory directory, where large chunks are
    /// read and large results written; null when they all travel in messages.
    /// </summary>
    public sealed record Welcome(Payload? Initializer, string? SharedDirectory = null) : IMultiprocMessage;

    /// <summary>
    /// Run a chunk. <paramref name="Function"/> travels only with a worker's first chunk of a job;
    /// <paramref name="ForgetJobs"/> lists finished jobs whose functions the worker may drop;
    /// <paramref name="ResultSlot"/> is the shared-memory slot the caller lends for large results
    /// (<see cref="SharedSlots.None"/> for none); <paramref name="FunctionId"/> names a stateless
    /// function the worker keeps once sent, so that later jobs with it need not carry it (0: none).
    /// </summary>
    public sealed record RunChunk(long JobId, int ChunkIndex, int Start, Payload? Function, Payload Items, long[] ForgetJobs,
        int ResultSlot = SharedSlots.None, int FunctionId = 0) : IMultiprocMessage;

    /// <summary>Several chunks for one worker, dispatched in one pass: one remote message instead of one each.</summary>
    public sealed record RunChunks(RunChunk[] Chunks) : IMultiprocMessage;

    /// <summary>
    /// From now on <paramref name="NewParent"/> is the worker's parent (a pool handing an idle worker
    /// to its context's warm workers, or they to the next pool): it drops what it held for the old
    /// one and registers with the new one.
    /// </summary>
    public sealed record Transfer(IActorRef NewParent) : IMultiprocMessage;

    /// <summary>Finish what was handed out, then leave the association and exit.</summary>
    public sealed record Retire : IMultiprocMessage
    {
        public static readonly Retire Instance = new();
    }
}
