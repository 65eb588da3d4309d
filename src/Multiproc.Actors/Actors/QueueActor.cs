using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>What a queue actor is started with.</summary>
/// <param name="Token">The context's token: requests without it are dropped.</param>
/// <param name="MaximumReplySize">The most payload bytes one reply may carry (the context's message size limit).</param>
/// <param name="DedupeRetention">How long a job's put origins are remembered after its last put.</param>
internal sealed record QueueSetup(string Token, long MaximumReplySize, TimeSpan DedupeRetention);

/// <summary>
/// One <see cref="SimpleQueue{T}"/>: holds its items (as the payloads their producers serialized)
/// and its blocked getters, in the caller's actor system. Items go to getters oldest first, and a
/// getter that waits gets the next item that arrives; the queue owns every clock, so no item is
/// ever handed to a getter that gave up.
/// </summary>
internal sealed class QueueActor : ReceiveActor, IWithTimers
{
    private const string EvictTimerKey = "evict";

    private readonly QueueSetup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<Payload> _items = new();
    private readonly LinkedList<Getter> _getters = new();
    private readonly Dictionary<(string Pool, long Job), JobOrigins> _origins = new();
    private readonly Dictionary<long, Queue<Payload>> _reserved = new();
    private long _nextContinuation;
    private bool _closed;

    public QueueActor(QueueSetup setup)
    {
        _setup = setup;

        // First, so that nothing below ever sees a request from outside the context.
        Receive<IRequest>(request => request.Token != _setup.Token, request =>
            _log.Warning("Dropped {0} from {1}: wrong token.", request.GetType().Name, Sender));
        Receive<Put>(OnPut);
        Receive<Take>(OnTake);
        Receive<TakeAll>(takeAll =>
        {
            if (!Refused(takeAll))
                ReplyPart(Sender, takeAll.RequestId, Drain());
        });
        Receive<TakeRest>(OnTakeRest);
        Receive<Count>(count =>
        {
            if (!Refused(count))
                Sender.Tell(new Counted(count.RequestId, _items.Count));
        });
        Receive<Close>(OnClose);
        Receive<TakeTimedOut>(OnTakeTimedOut);
        Receive<EvictIdleOrigins>(_ => OnEvict());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(QueueSetup setup) => Akka.Actor.Props.Create(() => new QueueActor(setup));

    private static TimeSpan Now => TimeSpan.FromMilliseconds(Environment.TickCount64);

    private void OnPut(Put put)
    {
        if (Refused(put))
            return;
        // A re-run's repeat is acknowledged like the original: its task must see its put succeed.
        if (put.Origin is null || FirstTime(put.Origin))
        {
            foreach (var item in put.Items)
                Deliver(item);
        }
        Sender.Tell(new Done(put.RequestId));
    }

    private void Deliver(Payload item)
    {
        // Getters wait only while the queue is empty, so the oldest getter takes the newest item.
        if (_getters.First is { } first)
        {
            _getters.RemoveFirst();
            Timers.Cancel(first.Value.TimerKey);
            first.Value.ReplyTo.Tell(new Taken(first.Value.RequestId, item));
            return;
        }
        _items.Enqueue(item);
    }

    private void OnTake(Take take)
    {
        if (Refused(take))
            return;
        if (_items.TryDequeue(out var item))
        {
            Sender.Tell(new Taken(take.RequestId, item));
            return;
        }
        if (take.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            Sender.Tell(new Taken(take.RequestId, null));
            return;
        }
        var getter = new Getter(Sender, take.RequestId);
        _getters.AddLast(getter);
        if (take.Timeout is { } wait && wait != Timeout.InfiniteTimeSpan)
            Timers.StartSingleTimer(getter.TimerKey, new TakeTimedOut(Sender, take.RequestId), wait);
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

    private Queue<Payload> Drain()
    {
        var all = new Queue<Payload>(_items);
        _items.Clear();
        return all;
    }

    private void OnTakeRest(TakeRest rest)
    {
        // Items reserved for a GetAll are already that caller's: they are handed over even after Close.
        if (rest.Token == _setup.Token && _reserved.Remove(rest.Continuation, out var items))
            ReplyPart(Sender, rest.RequestId, items);
        else
            Sender.Tell(new TakenAll(rest.RequestId, [], null));
    }

    /// <summary>
    /// Replies with as many of <paramref name="items"/> as fit one message (at least one), keeping the
    /// rest for <see cref="TakeRest"/>: Akka.Remote silently drops a message over the frame size.
    /// </summary>
    private void ReplyPart(IActorRef replyTo, long requestId, Queue<Payload> items)
    {
        var part = new List<Payload>();
        long size = 0;
        while (items.TryPeek(out var next) && (part.Count == 0 || size + next.Length <= _setup.MaximumReplySize))
        {
            part.Add(items.Dequeue());
            size += next.Length;
        }
        long? continuation = null;
        if (items.Count > 0)
        {
            continuation = ++_nextContinuation;
            _reserved[continuation.Value] = items;
        }
        replyTo.Tell(new TakenAll(requestId, part.ToArray(), continuation));
    }

    private void OnClose(Close close)
    {
        if (!_closed)
        {
            _closed = true;
            _items.Clear();
            _origins.Clear();
            Timers.CancelAll();
            ReleaseGetters();
        }
        Sender.Tell(new Done(close.RequestId));
    }

    private void ReleaseGetters()
    {
        foreach (var getter in _getters)
            getter.ReplyTo.Tell(new QueueClosed(getter.RequestId));
        _getters.Clear();
    }

    /// <summary>Answers a request to a closed queue with <see cref="QueueClosed"/>; true when it did.</summary>
    private bool Refused(IRequest request)
    {
        if (!_closed)
            return false;
        Sender.Tell(new QueueClosed(request.RequestId));
        return true;
    }

    /// <summary>True the first time a task's put is seen; false for the repeat of a re-run task.</summary>
    private bool FirstTime(PutOrigin origin)
    {
        var key = (origin.Pool, origin.Job);
        if (!_origins.TryGetValue(key, out var job))
        {
            if (_origins.Count == 0)
                Timers.StartPeriodicTimer(EvictTimerKey, EvictIdleOrigins.Instance, _setup.DedupeRetention);
            _origins[key] = job = new JobOrigins();
        }
        job.LastPut = Now;
        // One task's puts come from one process in order, so a high-water mark per task is enough.
        var next = job.NextSeq.GetValueOrDefault(origin.Item);
        if (origin.Seq < next)
            return false;
        job.NextSeq[origin.Item] = origin.Seq + 1;
        return true;
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

    protected override void PostStop()
    {
        // The context is going away: no getter may wait for an item that will never come.
        ReleaseGetters();
    }

    private sealed record Getter(IActorRef ReplyTo, long RequestId)
    {
        public (IActorRef, long) TimerKey => (ReplyTo, RequestId);
    }

    private sealed class JobOrigins
    {
        public Dictionary<int, int> NextSeq { get; } = new();

        public TimeSpan LastPut { get; set; }
    }
}
