using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Queues;

/// <summary>
/// The items a queue actor holds, in a form a getter in the queue's own process can take from
/// directly, without a message to the actor and a reply back (the round trip is most of a local
/// <c>Get</c>'s cost). The actor stays the only one that adds items, hands them to waiting getters
/// and puts them back; a getter here only ever takes the oldest item, exactly as the actor would
/// for its <c>Take</c>, so a direct take is just a take that happened to come first.
/// </summary>
/// <remarks>
/// Getters wait (in the actor) only while this is empty, and the actor hands an arriving item to a
/// waiting getter rather than adding it here, so a direct take never jumps ahead of a waiting getter.
/// </remarks>
internal sealed class QueueItems
{
    private static readonly ConcurrentDictionary<IActorRef, QueueItems> Local = new();

    private readonly Lock _lock = new();
    private Queue<Payload> _items = new();
    private State _state;

    /// <summary>What a direct take found.</summary>
    public enum Outcome
    {
        /// <summary>It took the oldest item.</summary>
        Taken,

        /// <summary>Nothing to take now: wait through the actor.</summary>
        Empty,

        /// <summary>The queue was closed.</summary>
        Closed,

        /// <summary>The actor has stopped: its requests say how (a gone queue fails them).</summary>
        Stopped,
    }

    private enum State
    {
        Open,
        Closed,
        Stopped,
    }

    /// <summary>The items of the queue actor <paramref name="queue"/>, when it runs in this process.</summary>
    public static QueueItems? Find(IActorRef queue) => Local.GetValueOrDefault(queue);

    /// <summary>Makes these items the ones direct takes from <paramref name="queue"/> see (called by the actor as it starts).</summary>
    public void Register(IActorRef queue) => Local[queue] = this;

    /// <summary>The actor has stopped: direct takes end, and its entry goes.</summary>
    public void Unregister(IActorRef queue)
    {
        lock (_lock)
            _state = State.Stopped;
        Local.TryRemove(new KeyValuePair<IActorRef, QueueItems>(queue, this));
    }

    /// <summary>How many items are held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _items.Count;
        }
    }

    /// <summary>Appends an item (the actor, for a put no getter was waiting for).</summary>
    public void Add(Payload item)
    {
        lock (_lock)
            _items.Enqueue(item);
    }

    /// <summary>Appends items in order (the actor, for a put no getter was waiting for).</summary>
    public void AddRange(ReadOnlySpan<Payload> items)
    {
        if (items.IsEmpty)
            return;
        lock (_lock)
        {
            foreach (var item in items)
                _items.Enqueue(item);
        }
    }

    /// <summary>Takes the oldest item, if there is one.</summary>
    public bool TryTake([MaybeNullWhen(false)] out Payload item)
    {
        lock (_lock)
            return _items.TryDequeue(out item);
    }

    /// <summary>A direct take by a getter in this process.</summary>
    public Outcome TryTakeHere(out Payload? item)
    {
        lock (_lock)
        {
            item = null;
            return _state switch
            {
                State.Closed => Outcome.Closed,
                State.Stopped => Outcome.Stopped,
                _ => _items.TryDequeue(out item) ? Outcome.Taken : Outcome.Empty,
            };
        }
    }

    /// <summary>How many items are held, for a caller in this process (<see cref="Outcome.Taken"/> when counted).</summary>
    public Outcome CountHere(out int count)
    {
        lock (_lock)
        {
            count = _items.Count;
            return _state switch
            {
                State.Closed => Outcome.Closed,
                State.Stopped => Outcome.Stopped,
                _ => Outcome.Taken,
            };
        }
    }

    /// <summary>Takes every item held now.</summary>
    public Queue<Payload> TakeAll()
    {
        lock (_lock)
        {
            var all = _items;
            _items = new Queue<Payload>();
            return all;
        }
    }

    /// <summary>Puts <paramref name="front"/> back before the items held, in its order.</summary>
    public void PutBack(IReadOnlyCollection<Payload> front)
    {
        lock (_lock)
            _items = new Queue<Payload>(front.Concat(_items));
    }

    /// <summary>Drops every item; direct takes from now on find the queue closed.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _state = State.Closed;
            _items = new Queue<Payload>();
        }
    }
}
