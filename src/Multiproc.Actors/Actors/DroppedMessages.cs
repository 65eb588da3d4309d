using Akka.Actor;
using Akka.Event;

namespace Multiproc.Actors.Actors;

/// <summary>
/// Logs the messages an actor drops because of who sent them: once per message type and origin,
/// at WARNING, so that a forger cannot flood the log; past <see cref="Capacity"/> pairs, one last
/// line says that further ones go unlogged.
/// </summary>
internal sealed class DroppedMessages(ILoggingAdapter log, string actor)
{
    /// <summary>Type and origin pairs logged per actor, at most.</summary>
    public const int Capacity = 64;

    private readonly HashSet<(Type, string)> _logged = [];
    private bool _full;

    /// <summary>How many times a message was dropped (logged or not), for tests and diagnostics.</summary>
    public int Count { get; private set; }

    /// <summary>Records that <paramref name="message"/> from <paramref name="sender"/> was dropped, for <paramref name="reason"/>.</summary>
    public void Drop(object message, IActorRef sender, string reason)
    {
        Count++;
        var origin = OriginOf(sender);
        if (_full || !_logged.Add((message.GetType(), origin)))
            return;
        if (_logged.Count >= Capacity)
        {
            _full = true;
            log.Warning("{0}: {1} kinds of forged messages dropped; further ones are dropped without a log line.", actor, Capacity);
            return;
        }
        log.Warning("{0} dropped a {1} from {2}: {3} Further ones of this kind from there are dropped silently.",
            actor, message.GetType().Name, origin, reason);
    }

    /// <summary>Where a message came from: the sender's address and uid, or that it had none.</summary>
    public static string OriginOf(IActorRef sender) =>
        sender.IsNobody() || sender is DeadLetterActorRef ? "no sender" : sender.Path.ToStringWithUid();
}
