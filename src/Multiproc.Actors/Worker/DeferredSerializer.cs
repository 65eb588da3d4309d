using Akka.Actor;
using Akka.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// A serializer built on first use, standing in for it under its identifier. Akka builds every
/// configured serializer when a system starts, and some cost a worker start-up time and resident
/// memory for nothing when its tasks never need them.
/// </summary>
internal abstract class DeferredSerializer : Serializer
{
    private readonly Lazy<Serializer> _serializer;
    private readonly int _identifier;

    /// <summary>Wraps what <paramref name="create"/> builds, answering to <paramref name="identifier"/> until then.</summary>
    /// <param name="system">The actor system.</param>
    /// <param name="create">Builds the serializer, on first use.</param>
    /// <param name="identifier">The identifier the other side of the wire knows that serializer by.</param>
    protected DeferredSerializer(ExtendedActorSystem system, Func<Serializer> create, int identifier)
        : base(system)
    {
        _serializer = new Lazy<Serializer>(create);
        _identifier = identifier;
    }

    /// <inheritdoc />
    public override int Identifier => _identifier;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => _serializer.Value.ToBinary(obj);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) => _serializer.Value.FromBinary(bytes, type);
}
