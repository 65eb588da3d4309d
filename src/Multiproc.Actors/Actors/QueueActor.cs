using System.Diagnostics.CodeAnalysis;
using System.Runtime.Serialization;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Queues;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>What a queue actor is started with.</summary>
/// <param name="Token">The context's token: requests without it are dropped.</param>
/// <param name="MaximumReplySize">The most item bytes one reply may carry, counted as <see cref="WireSerializer.WireSize"/> (the context's message size limit).</param>
/// <param name="DedupeRetention">How long a job's put origins are remembered after its last put.</param>
internal sealed record QueueSetup(string Token, long MaximumReplySize, TimeSpan DedupeRetention);

/// <summary>
/// One <see cref="SimpleQueue{T}"/>: holds its items (as the payloads their producers serialized)
/// and its blocked getters, in the caller's actor system. Items go to getters oldest first, and a
/// getter that waits gets the next item that arrives; the queue owns every clock, so no item is
/// ever handed to a getter that gave up.
/// </summary>
/// <remarks>
/// Delivery is acknowledged: an item handed to a getter stays the queue's until the getter's process
/// says it arrived (<see cref="Ack"/>). The queue watches every getter's reply actor; when one dies
/// (its process was killed, its pool terminated), the items it had not acknowledged go back to the
/// front of the queue in the order they left it, so none is lost — at worst, an item whose
/// acknowledgement died with its process is delivered again.
/// </remarks>
internal sealed class QueueActor : ReceiveActor, IWithTimers
{
    private const string EvictTimerKey = "evict";

    private readonly QueueSetup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Timer messages carry it: the same message from anyone else is dropped.
    private readonly long _nonce = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    // Shared with getters in this process, which take from it directly (see QueueItems).
    private readonly QueueItems _items;
    private readonly PayloadCodec _codec;
    private readonly LinkedList<Getter> _getters = new();
    private readonly Dictionary<(string Pool, long Job), JobOrigins> _origins = new();
    private readonly Dictionary<long, Reservation> _reserved = new();
    private readonly Dictionary<(IActorRef ReplyTo, long RequestId), Handed> _unacked = new();
    private readonly HashSet<IActorRef> _watched = new();
    private long _nextContinuation;
    private long _nextHandOut;
    private bool _closed;

    public QueueActor(QueueSetup setup)
    {
        _setup = setup;
        _codec = QueueClient.For(Context.System).Codec;
        _items = new QueueItems(_codec);

        // First, so that nothing below ever sees a request from outside the context.
        Receive<IRequest>(request => request.Token != _setup.Token, request =>
            _log.Warning("Dropped {0} from {1}: wrong token.", request.GetType().Name, Sender));
        Receive<Put>(OnPut);
        Receive<Take>(OnTake);
        Receive<TakeAll>(takeAll =>
        {
            if (!Refused(takeAll))
                ReplyPart(Sender, takeAll.RequestId, _items.TakeAll(), ++_nextHandOut, 0);
        });
        Receive<TakeRest>(OnTakeRest);
        Receive<Count>(count =>
        {
            if (!Refused(count))
                Sender.Tell(new Counted(count.RequestId, _items.Count));
        });
        Receive<Close>(OnClose);
        Receive<Ack>(ack => _unacked.Remove((Sender, ack.RequestId)));
        Receive<Terminated>(OnTerminated);
        Receive<TakeTimedOut>(timedOut => timedOut.Nonce == _nonce, OnTakeTimedOut);
        Receive<EvictIdleOrigins>(evict => evict.Nonce == _nonce, _ => OnEvict());
        Receive<TakeTimedOut>(_ => _log.Warning("Dropped a forged TakeTimedOut from {0}.", Sender));
        Receive<EvictIdleOrigins>(_ => _log.Warning("Dropped a forged EvictIdleOrigins from {0}.", Sender));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(QueueSetup setup) => Akka.Actor.Props.Create(() => new QueueActor(setup));

    private static TimeSpan Now => TimeSpan.FromMilliseconds(Environment.TickCount64);

    private void OnPut(Put put)
    {
        if (Refused(put))
            return;
        // A re-run's repeats are acknowledged like the originals: its task must see its put succeed.
        var count = put.Items.Sum(item => item.ItemCount);
        var repeats = put.Origin is null ? 0 : Repeats(put.Origin, count);
        _items.AddRange(repeats == 0 ? put.Items : Skip(put.Items, repeats));
        ServeWaitingGetters();
        Sender.Tell(new Done(put.RequestId));
    }

    /// <summary>
    /// Getters wait only while the queue is empty, so after items arrive the oldest getter takes the
    /// oldest of them, and so on while both last.
    /// </summary>
    private void ServeWaitingGetters()
    {
        while (_getters.First is { } first && TryTakeOne(out var item))
        {
            _getters.RemoveFirst();
            Timers.Cancel(first.Value.TimerKey);
            HandOut(first.Value.ReplyTo, first.Value.RequestId, item, first.Value.Unacknowledged);
        }
    }

    /// <summary>The oldest item as a payload of its own; an item of a block that cannot be read here is logged and dropped.</summary>
    private bool TryTakeOne([NotNullWhen(true)] out Payload? item)
    {
        while (true)
        {
            try
            {
                return _items.TryTake(out item);
            }
            catch (Exception e) when (e is SerializationException or ArgumentException)
            {
                _log.Error(e, "Dropped items of a PutMany that cannot be read in the queue's process.");
            }
        }
    }

    /// <summary>The items of a re-run task's put after the first <paramref name="count"/>, which were taken before.</summary>
    private Payload[] Skip(Payload[] items, int count)
    {
        var kept = new List<Payload>();
        foreach (var item in items)
        {
            if (count >= item.ItemCount)
            {
                count -= item.ItemCount;
                continue;
            }
            if (count == 0)
            {
                kept.Add(item);
                continue;
            }
            // A block cut by the repeats: its later items alone, as a block again.
            try
            {
                kept.Add(QueueItems.BlockFrom(_codec, (Array)_codec.Decode(item, "the items of a PutMany")!, count));
            }
            catch (Exception e) when (e is SerializationException or InvalidCastException)
            {
                // Unreadable here, so not to be cut: whole, its repeats twice, rather than lost.
                _log.Warning("Kept a re-run task's block of {0} items whole, {1} of them again: {2}", item.ItemCount, count, e.Message);
                kept.Add(item);
            }
            count = 0;
        }
        return kept.ToArray();
    }

    /// <summary>Sends one item to a getter, keeping it until the getter acknowledges it (unless it said it will not).</summary>
    private void HandOut(IActorRef replyTo, long requestId, Payload item, bool unacknowledged)
    {
        Watch(replyTo);
        if (!unacknowledged)
            _unacked[(replyTo, requestId)] = new Handed(++_nextHandOut, 0, [item]);
        replyTo.Tell(new Taken(requestId, item));
    }

    private void OnTake(Take take)
    {
        if (Refused(take))
            return;
        if (TryTakeOne(out var item))
        {
            HandOut(Sender, take.RequestId, item, take.Unacknowledged);
            return;
        }
        if (take.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            Sender.Tell(new Taken(take.RequestId, null));
            return;
        }
        Watch(Sender);
        var getter = new Getter(Sender, take.RequestId, take.Unacknowledged);
        _getters.AddLast(getter);
        if (take.Timeout is { } wait && wait != Timeout.InfiniteTimeSpan)
            Timers.StartSingleTimer(getter.TimerKey, new TakeTimedOut(Sender, take.RequestId, _nonce), wait);
    }

    private void OnTakeTimedOut(TakeTimedOut timedOut)
    {
        for (var node = _getters.First; node is not null; node = node.Next)
        {
            if (node.Value.RequestId == timedOut.RequestId && node.Value.ReplyTo.Equals(timedOut.ReplyTo))
            {
                _getters.Remove(node);
                timedOut.ReplyTo.Tell(new Taken(timedOut.RequestId, null));
                return;
            }
        }
    }

    private void OnTakeRest(TakeRest rest)
    {
        // Items reserved for a GetAll are already that caller's: they are handed over even after Close.
        if (_reserved.TryGetValue(rest.Continuation, out var reservation) && reservation.Owner.Equals(Sender))
        {
            _reserved.Remove(rest.Continuation);
            ReplyPart(Sender, rest.RequestId, reservation.Items, reservation.Seq, reservation.Part);
        }
        else
        {
            Sender.Tell(new TakenAll(rest.RequestId, [], null));
        }
    }

    /// <summary>
    /// Replies with as many of <paramref name="items"/> as fit one message (at least one), keeping the
    /// rest for <see cref="TakeRest"/>: Akka.Remote silently drops a message over the frame size, so
    /// each item counts with what it costs on the wire, not just its payload.
    /// </summary>
    private void ReplyPart(IActorRef replyTo, long requestId, Queue<Payload> items, long seq, int partIndex)
    {
        var part = new List<Payload>();
        long size = 0;
        while (items.TryPeek(out var next) && (part.Count == 0 || size + WireSerializer.WireSize(next) <= _setup.MaximumReplySize))
        {
            part.Add(items.Dequeue());
            size += WireSerializer.WireSize(next);
        }
        long? continuation = null;
        if (items.Count > 0)
        {
            Watch(replyTo);
            continuation = ++_nextContinuation;
            _reserved[continuation.Value] = new Reservation(replyTo, seq, partIndex + 1, items);
        }
        var taken = part.ToArray();
        if (taken.Length > 0 && !_closed)
        {
            Watch(replyTo);
            _unacked[(replyTo, requestId)] = new Handed(seq, partIndex, taken);
        }
        replyTo.Tell(new TakenAll(requestId, taken, continuation));
    }

    private void OnClose(Close close)
    {
        if (!_closed)
        {
            // What stays is a tombstone: empty collections that answer every request with QueueClosed.
            _closed = true;
            _items.Close();
            _origins.Clear();
            _unacked.Clear();
            Timers.CancelAll();
            ReleaseGetters();
        }
        if (!Sender.IsNobody())
            Sender.Tell(new Done(close.RequestId));
    }

    private void ReleaseGetters()
    {
        foreach (var getter in _getters)
            getter.ReplyTo.Tell(new QueueClosed(getter.RequestId));
        _getters.Clear();
    }

    private void Watch(IActorRef replyTo)
    {
        if (_watched.Add(replyTo))
            Context.Watch(replyTo);
    }

    /// <summary>A getter's process is gone: its waits end, and what it had not acknowledged goes back to the front.</summary>
    private void OnTerminated(Terminated terminated)
    {
        var gone = terminated.ActorRef;
        _watched.Remove(gone);
        for (var node = _getters.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.ReplyTo.Equals(gone))
            {
                Timers.Cancel(node.Value.TimerKey);
                _getters.Remove(node);
            }
            node = next;
        }
        var returned = new List<(long Seq, int Part, IEnumerable<Payload> Items)>();
        foreach (var (key, handed) in _unacked.ToArray())
        {
            if (key.ReplyTo.Equals(gone))
            {
                _unacked.Remove(key);
                returned.Add((handed.Seq, handed.Part, handed.Items));
            }
        }
        foreach (var (continuation, reservation) in _reserved.ToArray())
        {
            if (reservation.Owner.Equals(gone))
            {
                _reserved.Remove(continuation);
                returned.Add((reservation.Seq, reservation.Part, reservation.Items));
            }
        }
        if (returned.Count == 0 || _closed)
            return;
        // Everything handed out left before anything still held arrived or was behind it: the front is its place.
        var back = returned.OrderBy(r => r.Seq).ThenBy(r => r.Part).SelectMany(r => r.Items).ToList();
        _log.Info("Put {0} item(s) back: the process of getter {1} is gone.", back.Count, gone);
        _items.PutBack(back);
        ServeWaitingGetters();
    }

    /// <summary>Answers a request to a closed queue with <see cref="QueueClosed"/>; true when it did.</summary>
    private bool Refused(IRequest request)
    {
        if (!_closed)
            return false;
        Sender.Tell(new QueueClosed(request.RequestId));
        return true;
    }

    /// <summary>
    /// How many of the leading items of a task's put (numbered from <see cref="PutOrigin.Seq"/> on)
    /// were taken before: a re-run task repeats its puts, perhaps batched differently.
    /// </summary>
    private int Repeats(PutOrigin origin, int count)
    {
        var key = (origin.Pool, origin.Job);
        if (!_origins.TryGetValue(key, out var job))
        {
            if (_origins.Count == 0)
                Timers.StartPeriodicTimer(EvictTimerKey, new EvictIdleOrigins(_nonce), _setup.DedupeRetention);
            _origins[key] = job = new JobOrigins();
        }
        job.LastPut = Now;
        // One task's puts come from one process in order, so a high-water mark per task is enough.
        var next = job.NextSeq.GetValueOrDefault(origin.Item);
        var repeats = (int)Math.Clamp((long)next - origin.Seq, 0, count);
        if (origin.Seq + count > next)
            job.NextSeq[origin.Item] = origin.Seq + count;
        return repeats;
    }

    private void OnEvict()
    {
        var now = Now;
        foreach (var (key, job) in _origins.ToArray())
        {
            if (now - job.LastPut >= _setup.DedupeRetention)
                _origins.Remove(key);
        }
        if (_origins.Count == 0)
            Timers.Cancel(EvictTimerKey);
    }

    protected override void PreStart() => _items.Register(Self);

    protected override void PostStop()
    {
        _items.Unregister(Self);
        // The context is going away: no getter may wait for an item that will never come.
        ReleaseGetters();
    }

    private sealed record Getter(IActorRef ReplyTo, long RequestId, bool Unacknowledged)
    {
        public (IActorRef, long) TimerKey => (ReplyTo, RequestId);
    }

    /// <summary>Items sent to a getter and not yet acknowledged; (Seq, Part) is the order they left the queue in.</summary>
    private sealed record Handed(long Seq, int Part, Payload[] Items);

    /// <summary>The rest of a GetAll, kept for its caller's <see cref="TakeRest"/>.</summary>
    private sealed record Reservation(IActorRef Owner, long Seq, int Part, Queue<Payload> Items);

    private sealed class JobOrigins
    {
        public Dictionary<int, int> NextSeq { get; } = new();

        public TimeSpan LastPut { get; set; }
    }
}
