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
internal sealed class DeferredJsonSerializer : DeferredSerializer
{
    /// <summary>Akka's constructor when the config has no serialization-settings.json.</summary>
    public DeferredJsonSerializer(ExtendedActorSystem system)
        : base(system, () => new NewtonSoftJsonSerializer(system), JsonIdentifier(system))
    {
    }

    /// <summary>Akka's constructor with serialization-settings.json.</summary>
    public DeferredJsonSerializer(ExtendedActorSystem system, Config config)
        : base(system, () => new NewtonSoftJsonSerializer(system, config), JsonIdentifier(system))
    {
    }

    // The identifier the other side of the wire knows the JSON serializer by, not one of this type's own.
    private static int JsonIdentifier(ExtendedActorSystem system) =>
        SerializerIdentifierHelper.GetSerializerIdentifierFromConfig(typeof(NewtonSoftJsonSerializer), system);
}
