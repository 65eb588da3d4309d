using System.Collections.Concurrent;
using System.Runtime.Serialization;
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
/// <para>Getters wait (in the actor) only while this is empty, and the actor hands an arriving item to a
/// waiting getter rather than adding it here, so a direct take never jumps ahead of a waiting getter.</para>
/// <para>The items of one <c>PutMany</c> arrive as one block payload (an array). The block is opened
/// (deserialized once) when its first item is taken; a getter here then takes its items as values,
/// and a getter elsewhere gets each one serialized on its own.</para>
/// </remarks>
internal sealed class QueueItems
{
    private static readonly ConcurrentDictionary<IActorRef, QueueItems> Local = new();

    private readonly Lock _lock = new();
    private readonly PayloadCodec _codec;
    // The front of the queue when it is an opened block: its items from Next on come before _items.
    private Array? _opened;
    private int _next;
    private Queue<Payload> _items = new();
    private int _count;
    private State _state;

    /// <param name="codec">Opens blocks and serializes the single items taken from them.</param>
    public QueueItems(PayloadCodec codec)
    {
        _codec = codec;
    }

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
                return _count;
        }
    }

    /// <summary>Appends items in order (the actor, for a put no getter was waiting for).</summary>
    public void AddRange(ReadOnlySpan<Payload> items)
    {
        if (items.IsEmpty)
            return;
        lock (_lock)
        {
            foreach (var item in items)
            {
                _items.Enqueue(item);
                _count += item.ItemCount;
            }
        }
    }

    /// <summary>Takes the oldest item as a payload of its own, if there is one (the actor, for a getter it answers).</summary>
    /// <exception cref="SerializationException">The oldest item is in a block that cannot be opened here (the block is dropped).</exception>
    public bool TryTake([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Payload? item)
    {
        lock (_lock)
        {
            item = null;
            if (!TakeLocked(out var payload, out var value))
                return false;
            item = payload ?? _codec.Encode(value, "an item of a PutMany");
            return true;
        }
    }

    /// <summary>
    /// A direct take by a getter in this process: the oldest item, as a payload to decode or, from an
    /// opened block, as the value itself.
    /// </summary>
    /// <exception cref="SerializationException">The oldest item is in a block that cannot be opened here (the block is dropped).</exception>
    public Outcome TryTakeHere(out Payload? payload, out object? value)
    {
        lock (_lock)
        {
            payload = null;
            value = null;
            return _state switch
            {
                State.Closed => Outcome.Closed,
                State.Stopped => Outcome.Stopped,
                _ => TakeLocked(out payload, out value) ? Outcome.Taken : Outcome.Empty,
            };
        }
    }

    /// <summary>How many items are held, for a caller in this process (<see cref="Outcome.Taken"/> when counted).</summary>
    public Outcome CountHere(out int count)
    {
        lock (_lock)
        {
            count = _count;
            return _state switch
            {
                State.Closed => Outcome.Closed,
                State.Stopped => Outcome.Stopped,
                _ => Outcome.Taken,
            };
        }
    }

    /// <summary>Takes every item held now, as payloads (blocks stay blocks).</summary>
    public Queue<Payload> TakeAll()
    {
        lock (_lock)
        {
            var all = _items;
            if (CloseOpened() is { } rest)
                all = new Queue<Payload>(all.Prepend(rest));
            _items = new Queue<Payload>();
            _count = 0;
            return all;
        }
    }

    /// <summary>Puts <paramref name="front"/> back before the items held, in its order.</summary>
    public void PutBack(IReadOnlyCollection<Payload> front)
    {
        lock (_lock)
        {
            var rest = CloseOpened();
            _items = new Queue<Payload>(front.Concat(rest is null ? [] : [rest]).Concat(_items));
            _count += front.Sum(p => p.ItemCount);
        }
    }

    /// <summary>Drops every item; direct takes from now on find the queue closed.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _state = State.Closed;
            _opened = null;
            _items = new Queue<Payload>();
            _count = 0;
        }
    }

    /// <summary>The oldest item: a payload of its own, or a value of an opened block.</summary>
    private bool TakeLocked(out Payload? payload, out object? value)
    {
        payload = null;
        value = null;
        if (_opened is null)
        {
            if (!_items.TryDequeue(out var front))
                return false;
            if (front.Block == 0)
            {
                _count--;
                payload = front;
                return true;
            }
            Open(front);
        }
        value = _opened!.GetValue(_next++);
        _count--;
        if (_next == _opened.Length)
            _opened = null;
        return true;
    }

    private void Open(Payload block)
    {
        object? decoded;
        try
        {
            decoded = _codec.Decode(block, "the items of a PutMany");
        }
        catch (SerializationException)
        {
            // Nothing in this process can read them; keeping them would fail every take after.
            _count -= block.ItemCount;
            throw;
        }
        if (decoded is not Array { Rank: 1 } array || array.Length != block.Block)
        {
            _count -= block.ItemCount;
            throw new SerializationException($"The items of a PutMany did not come back as an array of {block.Block}.");
        }
        _opened = array;
        _next = 0;
    }

    /// <summary>What is left of the opened block as a block payload again (for a getter elsewhere, or to go behind put-back items).</summary>
    private Payload? CloseOpened()
    {
        if (_opened is not { } opened)
            return null;
        _opened = null;
        return BlockFrom(_codec, opened, _next);
    }

    /// <summary>The items of <paramref name="items"/> from <paramref name="start"/> on, as a block payload.</summary>
    public static Payload BlockFrom(PayloadCodec codec, Array items, int start)
    {
        var rest = Array.CreateInstance(items.GetType().GetElementType()!, items.Length - start);
        Array.Copy(items, start, rest, 0, rest.Length);
        return codec.EncodeUnchecked(rest, "the items of a PutMany") with { Block = rest.Length };
    }
}
