namespace Multiproc.Actors.Serialization;

/// <summary>
/// A user value already serialized by the sender, with what the receiver needs to rebuild it.
/// Serializing before sending is what lets a call fail with a clear exception: Akka.Remote would
/// only log and drop a message it cannot serialize or that is over the frame size.
/// </summary>
/// <remarks>
/// A large chunk of arguments or results travels through shared memory instead: <see cref="Bytes"/>
/// is then empty and <see cref="Shared"/> says which of the pool's slots holds them.
/// </remarks>
internal sealed record Payload(int SerializerId, string Manifest, byte[] Bytes)
{
    /// <summary>The slot of the pool's shared memory that holds the bytes; null when they are in <see cref="Bytes"/>.</summary>
    public SharedRef? Shared { get; init; }

    /// <summary>
    /// 0 for one value; n for an array of n items that travel and wait in a queue together (the
    /// items of one <c>PutMany</c>), each still taken on its own.
    /// </summary>
    public int Block { get; init; }

    /// <summary>How many queue items this is.</summary>
    public int ItemCount => Block > 0 ? Block : 1;

    /// <summary>Serialized size in bytes.</summary>
    public long Length => Shared?.Length ?? Bytes.Length;
}

/// <summary>A payload's bytes in a shared-memory slot: <paramref name="Length"/> bytes from the start of slot <paramref name="Slot"/>.</summary>
internal readonly record struct SharedRef(int Slot, long Length);
