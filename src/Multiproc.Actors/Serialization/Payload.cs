namespace Multiproc.Actors.Serialization;

/// <summary>
/// A user value already serialized by the sender, with what the receiver needs to rebuild it.
/// Serializing before sending is what lets a call fail with a clear exception: Akka.Remote would
/// only log and drop a message it cannot serialize or that is over the frame size.
/// </summary>
internal sealed record Payload(int SerializerId, string Manifest, byte[] Bytes)
{
    /// <summary>Serialized size in bytes.</summary>
    public int Length => Bytes.Length;
}
