using Akka.Actor;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The messages of a <see cref="QueueActor"/>. Requests come from any process of the context (the
/// caller, its workers, its children) and carry the context's token; each names a request id that
/// its reply repeats, so one reply actor per process can serve every waiting call.
/// </summary>
internal static class QueueProtocol
{
    /// <summary>A request to a queue, authenticated by the context's token.</summary>
    public interface IRequest : IMultiprocMessage
    {
        string Token { get; }

        long RequestId { get; }
    }

    /// <summary>The answer to the request <see cref="RequestId"/> of the process it is sent to.</summary>
    public interface IReply : IMultiprocMessage
    {
        long RequestId { get; }
    }

    // ---- requests ----

    /// <summary>
    /// Append <paramref name="Items"/> (serialized by the sender), answered with <see cref="Done"/>.
    /// <paramref name="Origin"/> is set for puts from pool tasks, whose re-runs must not add items twice.
    /// </summary>
    public sealed record Put(string Token, long RequestId, Payload[] Items, PutOrigin? Origin) : IRequest;

    /// <summary>
    /// Remove the oldest item, answered with <see cref="Taken"/> once there is one; with a
    /// <paramref name="Timeout"/>, a <see cref="Taken"/> without an item when none came in time.
    /// The queue keeps the clock so that an item is never handed to a getter that stopped waiting.
    /// <paramref name="Unacknowledged"/>: the getter is in the queue's own process, which it cannot
    /// outlive, so it sends no <see cref="Ack"/> and the queue keeps no copy.
    /// </summary>
    public sealed record Take(string Token, long RequestId, TimeSpan? Timeout, bool Unacknowledged = false) : IRequest;

    /// <summary>Remove every item held now, answered with <see cref="TakenAll"/>.</summary>
    public sealed record TakeAll(string Token, long RequestId) : IRequest;

    /// <summary>The next part of a <see cref="TakeAll"/> whose items did not fit one message.</summary>
    public sealed record TakeRest(string Token, long RequestId, long Continuation) : IRequest;

    /// <summary>How many items are held, answered with <see cref="Counted"/>.</summary>
    public sealed record Count(string Token, long RequestId) : IRequest;

    /// <summary>Close the queue: drop its items, release blocked getters, refuse later requests. Answered with <see cref="Done"/>.</summary>
    public sealed record Close(string Token, long RequestId) : IRequest;

    /// <summary>
    /// The items of the <see cref="Taken"/> or <see cref="TakenAll"/> answering <paramref name="RequestId"/>
    /// reached their getter's process: the queue forgets them. Not answered. Until it comes, the queue
    /// keeps them, and puts them back at the front if that process dies.
    /// </summary>
    public sealed record Ack(string Token, long RequestId) : IRequest;

    /// <summary>Where a pool task's put comes from: the same task re-run puts the same sequence again.</summary>
    /// <param name="Pool">The pool actor's path with UID: job ids are per pool.</param>
    /// <param name="Job">The job (one call) in that pool.</param>
    /// <param name="Item">The input position of the task that put.</param>
    /// <param name="Seq">The position of the put's first item among the items that task put (the others follow it).</param>
    public sealed record PutOrigin(string Pool, long Job, int Item, int Seq);

    // ---- replies ----

    /// <summary>The queue holds the items of a <see cref="Put"/>, or has closed.</summary>
    public sealed record Done(long RequestId) : IReply;

    /// <summary>The item taken, or null when a <see cref="Take"/> with a timeout found none in time.</summary>
    public sealed record Taken(long RequestId, Payload? Item) : IReply;

    /// <summary>Items taken, oldest first; a <paramref name="Continuation"/> when more are reserved for this call.</summary>
    public sealed record TakenAll(long RequestId, Payload[] Items, long? Continuation) : IReply;

    /// <summary>The number of items held.</summary>
    public sealed record Counted(long RequestId, int Count) : IReply;

    /// <summary>The queue was closed: the request was refused.</summary>
    public sealed record QueueClosed(long RequestId) : IReply;

    // ---- the queue's own messages (local only) ----
    // Each carries the queue actor's private nonce: one sent by anyone else is dropped.

    /// <summary>A waiting <see cref="Take"/> ran out of time.</summary>
    public sealed record TakeTimedOut(IActorRef ReplyTo, long RequestId, long Nonce) : ILocalOnly;

    /// <summary>Forget the put origins of jobs that have been quiet for the retention time.</summary>
    public sealed record EvictIdleOrigins(long Nonce) : ILocalOnly;
}
