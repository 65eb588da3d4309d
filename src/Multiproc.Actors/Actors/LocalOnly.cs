using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace Multiproc.Actors.Actors;

/// <summary>
/// Marks the commands the library's actors take only from their own process: what a pool, its
/// context or a queue handle sends to its own actors (submit a job, terminate, a worker's exit,
/// a timer's tick, ...). As <see cref="IPossiblyHarmful"/> they are dropped by Akka.Remote under
/// <c>untrusted-mode</c> when they arrive from another process, whoever sent them; and they are
/// bound to <see cref="LocalOnlySerializer"/>, so they can neither leave this process by mistake
/// nor be decoded from bytes that name that serializer.
/// </summary>
internal interface ILocalOnly : IPossiblyHarmful, INoSerializationVerificationNeeded;

/// <summary>
/// The serializer of <see cref="ILocalOnly"/> commands: refuses both ways, so a local-only command
/// never travels and bytes claiming to be one build nothing.
/// </summary>
internal sealed class LocalOnlySerializer(ExtendedActorSystem system) : Serializer(system)
{
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().Name} is a command of this process's own actors; it never leaves the process.");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException("Refused a message claiming to be a local-only command of Multiproc.Actors: those never come from another process.");
}
