using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// Hyperion, built on first use. Akka builds every configured serializer when a system starts, and
/// Hyperion's set-up compiles expression trees (System.Linq.Expressions loaded, ~200 methods jitted:
/// ~40 ms of a worker's start and ~3 MiB of its resident memory), although a worker whose tasks take
/// and return numbers, strings, tuples or arrays of them never uses it. Same identifier and bytes as
/// <see cref="HyperionSerializer"/>, with the same settings, so the caller's Hyperion reads what it writes.
/// </summary>
internal sealed class DeferredHyperionSerializer : Serializer
{
    /// <summary><see cref="HyperionSerializer"/>'s identifier, which it fixes in code rather than in config.</summary>
    internal const int HyperionIdentifier = -5;

    private readonly Lazy<HyperionSerializer> _hyperion;

    /// <summary>Akka's constructor when the config has no serialization-settings.hyperion.</summary>
    public DeferredHyperionSerializer(ExtendedActorSystem system)
        : this(system, () => new HyperionSerializer(system))
    {
    }

    /// <summary>Akka's constructor with serialization-settings.hyperion (the library's config has it).</summary>
    public DeferredHyperionSerializer(ExtendedActorSystem system, Config config)
        : this(system, () => new HyperionSerializer(system, config))
    {
    }

    private DeferredHyperionSerializer(ExtendedActorSystem system, Func<HyperionSerializer> create)
        : base(system)
    {
        _hyperion = new Lazy<HyperionSerializer>(create);
    }

    /// <inheritdoc />
    public override int Identifier => HyperionIdentifier;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => _hyperion.Value.ToBinary(obj);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) => _hyperion.Value.FromBinary(bytes, type);
}
