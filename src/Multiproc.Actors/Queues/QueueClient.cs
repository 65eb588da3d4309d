using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
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
internal sealed class QueueClient
{
    private const string ActorName = "multiproc-queue-client";
    private static readonly ConditionalWeakTable<ActorSystem, QueueClient> Clients = new();
    private static readonly Lock CreateLock = new();

    private readonly ConcurrentDictionary<long, TaskCompletionSource<IReply>> _pending = new();
    private readonly IActorRef _replies;
    private long _nextRequest;

    private QueueClient(ActorSystem system)
    {
        System = system;
        var config = system.Settings.Config;
        Settings = QueueSettings.Create(config);
        var limits = MultiprocSettings.Create(config).WithFrameSize(MultiprocConfig.FrameSize(config));
        Codec = new PayloadCodec(system, limits.MaximumMessageSize);
        _replies = system.ActorOf(QueueReplyActor.Props(Complete).WithDispatcher(ProcessPool.MultiprocDispatcher), ActorName);
    }

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
        var reply = new TaskCompletionSource<IReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        queue.Tell(build(id), _replies);
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
            return sent.Reply.Result;
        _pending.TryRemove(sent.Id, out _);
        if (finished < 0)
            throw new TimeoutException(
                $"SimpleQueue.{what} got no acknowledgement from the queue within {timeout} ('multiproc.queue.put-timeout').");
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

    /// <summary>The error of a call on a closed queue.</summary>
    public static ObjectDisposedException QueueClosedError() =>
        new("SimpleQueue", "The queue is closed: Close() was called on it, in this process or another.");

    private void Complete(IReply reply)
    {
        if (_pending.TryRemove(reply.RequestId, out var waiting))
            waiting.TrySetResult(reply);
    }
}
