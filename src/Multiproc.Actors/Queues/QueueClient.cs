using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Queues;

/// <summary>A request on its way: its id and the reply to come.</summary>
internal readonly record struct SentRequest(long Id, Task<IReply> Reply);

/// <summary>
/// What queue handles in one actor system share: the reply actor every request is sent from, the
/// calls waiting for replies, the codec items are serialized with, and the queue settings. A handle
/// that arrives in another process is bound to the actor system that deserialized it.
/// </summary>
/// <remarks>
/// Replies are hard to forge: the reply actor's name is random, request ids start at a random
/// 64-bit number, and a reply counts only when it comes from the queue actor its request went to.
/// </remarks>
internal sealed class QueueClient
{
    private const string ActorNamePrefix = "multiproc-queue-client-";
    private static readonly ConditionalWeakTable<ActorSystem, QueueClient> Clients = new();
    private static readonly Lock CreateLock = new();

    private readonly ConcurrentDictionary<long, Pending> _pending = new();
    private readonly ConcurrentDictionary<IActorRef, byte> _gone = new();
    private readonly ConcurrentDictionary<IActorRef, byte> _watching = new();
    private readonly IActorRef _replies;
    private long _nextRequest = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)) & long.MaxValue >> 1;

    private QueueClient(ActorSystem system)
    {
        System = system;
        var config = system.Settings.Config;
        Settings = QueueSettings.Create(config);
        var limits = MultiprocSettings.Create(config).WithFrameSize(MultiprocConfig.FrameSize(config));
        Codec = new PayloadCodec(system, limits.MaximumMessageSize);
        var name = ActorNamePrefix + Names.Random();
        _replies = system.ActorOf(QueueReplyActor.Props(Complete, Gone).WithDispatcher(ProcessPool.MultiprocDispatcher), name);
    }

    /// <summary>The actor replies come to (for tests).</summary>
    internal IActorRef Replies => _replies;

    public ActorSystem System { get; }

    public QueueSettings Settings { get; }

    public PayloadCodec Codec { get; }

    /// <summary>The client of <paramref name="system"/>, created on first use.</summary>
    public static QueueClient For(ActorSystem system)
    {
        if (Clients.TryGetValue(system, out var client))
            return client;
        // Not GetValue: its factory may run twice, and the reply actor's name can be taken once.
        lock (CreateLock)
        {
            if (!Clients.TryGetValue(system, out client))
            {
                client = new QueueClient(system);
                Clients.Add(system, client);
            }
            return client;
        }
    }

    /// <summary>Sends the request <paramref name="build"/> makes for a fresh request id.</summary>
    public SentRequest Send(IActorRef queue, Func<long, IRequest> build)
    {
        var id = Interlocked.Increment(ref _nextRequest);
        var request = build(id);
        var reply = new TaskCompletionSource<IReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = new Pending(reply, queue, request.Token, request is Take { Unacknowledged: true });
        // Registered before the check, so that a queue found gone now or later fails this call either way.
        if (_gone.ContainsKey(queue))
        {
            FailGone(id);
        }
        else
        {
            if (_watching.TryAdd(queue, 0))
                _replies.Tell(new QueueReplyActor.WatchQueue(queue));
            queue.Tell(request, _replies);
        }
        return new SentRequest(id, reply.Task);
    }

    /// <summary>Waits for the reply to <paramref name="sent"/>; the end of the actor system ends the wait.</summary>
    /// <param name="sent">The request.</param>
    /// <param name="timeout">How long to wait; null to wait as long as the system runs.</param>
    /// <param name="what">The call, for messages ("Put").</param>
    /// <exception cref="TimeoutException">No reply in time.</exception>
    /// <exception cref="ObjectDisposedException">The actor system shut down (its context was disposed).</exception>
    public IReply Wait(SentRequest sent, TimeSpan? timeout, string what)
    {
        Task[] either = [sent.Reply, System.WhenTerminated];
        var finished = timeout is { } limit ? Task.WaitAny(either, limit) : Task.WaitAny(either);
        if (sent.Reply.IsCompleted)
            return sent.Reply.GetAwaiter().GetResult();
        _pending.TryRemove(sent.Id, out _);
        if (finished < 0)
            throw PutTimedOut(what, timeout);
        throw new ObjectDisposedException(
            "SimpleQueue", $"SimpleQueue.{what} cannot complete: the actor system it talks through has shut down.");
    }

    /// <summary>Waits for a put's acknowledgement.</summary>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    public void WaitPut(SentRequest sent)
    {
        if (Wait(sent, Settings.PutTimeout, "Put") is QueueClosed)
            throw QueueClosedError();
    }

    /// <summary>Completes when a put is acknowledged; fails as <see cref="WaitPut"/> does, without holding a thread meanwhile.</summary>
    /// <exception cref="ObjectDisposedException">The queue is closed, or the actor system shut down.</exception>
    /// <exception cref="TimeoutException">No acknowledgement within <c>multiproc.queue.put-timeout</c>.</exception>
    public async Task WaitPutAsync(SentRequest sent)
    {
        if (!sent.Reply.IsCompleted)
        {
            try
            {
                await Task.WhenAny(sent.Reply, System.WhenTerminated).WaitAsync(Settings.PutTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _pending.TryRemove(sent.Id, out _);
                throw PutTimedOut("Put", Settings.PutTimeout);
            }
        }
        // The reply came or the system ended: the blocking call's verdict, without blocking.
        WaitPut(sent);
    }

    private static TimeoutException PutTimedOut(string what, TimeSpan? timeout) =>
        new($"SimpleQueue.{what} got no acknowledgement from the queue within {timeout} ('multiproc.queue.put-timeout').");

    /// <summary>The error of a call on a closed queue.</summary>
    public static ObjectDisposedException QueueClosedError() =>
        new("SimpleQueue", "The queue is closed: Close() was called on it, in this process or another.");

    /// <summary>A reply arrived: it completes its call only when it comes from the queue the request went to.</summary>
    private void Complete(IReply reply, IActorRef sender)
    {
        if (!_pending.TryGetValue(reply.RequestId, out var waiting) || !waiting.Queue.Equals(sender))
            return;
        if (!_pending.TryRemove(reply.RequestId, out _))
            return;
        // Acknowledged before the caller sees it: an item the queue hears nothing about is put back
        // if this process dies.
        if (reply is Taken { Item: not null } && !waiting.Unacknowledged || reply is TakenAll { Items.Length: > 0 })
            sender.Tell(new Ack(waiting.Token, reply.RequestId), _replies);
        waiting.Reply.TrySetResult(reply);
    }

    /// <summary>A queue actor stopped (its context was disposed): every call waiting on it fails.</summary>
    private void Gone(IActorRef queue)
    {
        _gone[queue] = 0;
        foreach (var (id, pending) in _pending)
        {
            if (pending.Queue.Equals(queue))
                FailGone(id);
        }
    }

    private void FailGone(long id)
    {
        if (_pending.TryRemove(id, out var pending))
            pending.Reply.TrySetException(new ObjectDisposedException(
                "SimpleQueue", "The queue is gone: the context that created it was disposed."));
    }

    private sealed record Pending(TaskCompletionSource<IReply> Reply, IActorRef Queue, string Token, bool Unacknowledged);
}
