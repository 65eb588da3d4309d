using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// Hyperion, built on first use. Its set-up compiles expression trees (System.Linq.Expressions
/// loaded, ~200 methods jitted: ~40 ms of a worker's start and ~1 MiB of its resident memory),
/// although a worker whose tasks take and return numbers, strings, tuples or arrays of them never
/// uses it. Same identifier and bytes as <see cref="HyperionSerializer"/>, with the same settings,
/// so the caller's Hyperion reads what it writes.
/// </summary>
internal sealed class DeferredHyperionSerializer : DeferredSerializer
{
    /// <summary><see cref="HyperionSerializer"/>'s identifier, which it fixes in code rather than in config.</summary>
    internal const int HyperionIdentifier = -5;

    /// <summary>Akka's constructor when the config has no serialization-settings.hyperion.</summary>
    public DeferredHyperionSerializer(ExtendedActorSystem system)
        : base(system, () => new HyperionSerializer(system), HyperionIdentifier)
    {
    }

    /// <summary>Akka's constructor with serialization-settings.hyperion (the library's config has it).</summary>
    public DeferredHyperionSerializer(ExtendedActorSystem system, Config config)
        : base(system, () => new HyperionSerializer(system, config), HyperionIdentifier)
    {
    }
}
