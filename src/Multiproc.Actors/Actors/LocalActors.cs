using Akka.Actor;

namespace Multiproc.Actors.Actors;

/// <summary>Tells actors of this process from those of others.</summary>
internal static class LocalActors
{
    /// <summary>
    /// Whether <paramref name="actor"/> lives in this process: commands that never cross processes
    /// are refused from any other, and a queue's getter here needs no acknowledgement.
    /// </summary>
    public static bool IsLocal(IActorRef actor) => actor is IInternalActorRef { IsLocal: true };
}
