using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// Akka's JSON serializer, built on first use. Akka builds every configured serializer when a system
/// starts, and the JSON one loads Newtonsoft.Json and jits its set-up (about 1 MiB of a worker's
/// resident memory) although nothing the library sends uses it. Same identifier and bytes as
/// <see cref="NewtonSoftJsonSerializer"/>, so a user's own binding to "json" works unchanged.
/// </summary>
internal sealed class DeferredJsonSerializer : Serializer
{
    private readonly Lazy<NewtonSoftJsonSerializer> _json;
    private readonly int _identifier;

    /// <summary>Akka's constructor when the config has no serialization-settings.json.</summary>
    public DeferredJsonSerializer(ExtendedActorSystem system)
        : this(system, () => new NewtonSoftJsonSerializer(system))
    {
    }

    /// <summary>Akka's constructor with serialization-settings.json.</summary>
    public DeferredJsonSerializer(ExtendedActorSystem system, Config config)
        : this(system, () => new NewtonSoftJsonSerializer(system, config))
    {
    }

    private DeferredJsonSerializer(ExtendedActorSystem system, Func<NewtonSoftJsonSerializer> create)
        : base(system)
    {
        _json = new Lazy<NewtonSoftJsonSerializer>(create);
        // The identifier the other side of the wire knows the JSON serializer by, not one of this type's own.
        _identifier = SerializerIdentifierHelper.GetSerializerIdentifierFromConfig(typeof(NewtonSoftJsonSerializer), system);
    }

    /// <inheritdoc />
    public override int Identifier => _identifier;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => _json.Value.ToBinary(obj);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) => _json.Value.FromBinary(bytes, type);
}
