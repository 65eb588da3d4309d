using System.Diagnostics.CodeAnalysis;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Util;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Queues;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors;

/// <summary>
/// A first-in, first-out queue shared by the caller and every worker and child process of its
/// context. The items live in one queue actor in the caller's actor system; a <see cref="SimpleQueue{T}"/>
/// value is a handle to it that can be passed in <c>initargs</c>, in a child's <c>args</c>, as a task
/// argument or inside a captured variable, and works the same in every process.
/// </summary>
/// <remarks>
/// <para>Python: <c>multiprocessing.SimpleQueue</c>. Unlike Python's, a handle may also be a task argument.</para>
/// <para>Order: items from one producer arrive in the order it put them; across producers, in the
/// order the queue actor received them. Items travel serialized (numbers, strings and value tuples of them in a compact form, anything else with Hyperion), so a getter gets a copy.</para>
/// <para>Delivery: in the caller and in a <see cref="ChildProcess"/>, <see cref="Put"/> returns once the
/// queue actor holds the item. Inside a pool task, <see cref="Put"/> returns at once, and the task's
/// result is sent to the caller only after every item it put is in the queue; a task re-run after
/// its worker died does not add its items twice.</para>
/// <para>An item handed to a getter whose process then dies (killed, its pool terminated) before
/// the item arrived goes back to the front of the queue once the queue learns of the death; an
/// item put meanwhile may overtake it.</para>
/// <para>Only processes of the context that created the queue (authenticated by its token) may use it.</para>
/// </remarks>
/// <typeparam name="T">The item type; items must be serializable.</typeparam>
public sealed class SimpleQueue<T> : IDisposable, ISurrogated
{
    private readonly QueueClient _client;
    private readonly IActorRef _queue;
    private readonly string _token;
    // The queue actor is in this process: a getter here cannot outlive it, so takes need no acknowledgement.
    private readonly bool _local;
    private volatile bool _closed;
    // The queue actor's items, once found (local queues only): a Get here takes from them directly.
    private QueueItems? _items;

    /// <summary>Creates a queue in <paramref name="context"/>.</summary>
    /// <remarks>Python: <c>multiprocessing.SimpleQueue()</c>.</remarks>
    /// <param name="context">The context to create it in; <c>null</c> for <see cref="MultiprocContext.Default"/>.</param>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public SimpleQueue(MultiprocContext? context = null)
    {
        var owner = context ?? MultiprocContext.Default;
        _queue = owner.CreateQueueActor();
        _client = QueueClient.For(owner.System);
        _token = owner.Token;
        _local = LocalActors.IsLocal(_queue);
    }

    internal SimpleQueue(QueueClient client, IActorRef queue, string token)
    {
        _client = client;
        _queue = queue;
        _token = token;
        _local = LocalActors.IsLocal(queue);
    }

    /// <summary>True when the queue holds no item right now.</summary>
    /// <remarks>Python: <c>SimpleQueue.empty()</c>. Another process may put or get the moment after.</remarks>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    public bool IsEmpty
    {
        get
        {
            ThrowIfClosed();
            if (Here() is { } items && Settled(items.CountHere(out var count)))
                return count == 0;
            return Request(id => new Count(_token, id), timeout: _client.Settings.PutTimeout, "IsEmpty") is Counted { Count: 0 };
        }
    }

    /// <summary>Appends <paramref name="item"/>.</summary>
    /// <remarks>
    /// Python: <c>SimpleQueue.put(obj)</c>. In the caller and in a child process this returns once the
    /// queue holds the item; inside a pool task it returns at once, and the item is in the queue before
    /// the task's result reaches the caller.
    /// </remarks>
    /// <param name="item">The item; serialized now, so later changes to it do not reach the queue.</param>
    /// <exception cref="ArgumentException">The item holds process-local state (a stream, a lock...), or is over <c>multiproc.maximum-message-size</c>.</exception>
    /// <exception cref="System.Runtime.Serialization.SerializationException">The item cannot be serialized.</exception>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    public void Put(T item)
    {
        ThrowIfClosed();
        Send([Encode(item, index: null)]);
    }

    /// <summary>Appends every item of <paramref name="items"/>, in order, with one acknowledgement for all.</summary>
    /// <remarks>Not in Python: our extension for throughput. Either every item is checked and serialized, or none is sent.</remarks>
    /// <param name="items">The items.</param>
    /// <exception cref="ArgumentException">An item holds process-local state or is over <c>multiproc.maximum-message-size</c>.</exception>
    /// <exception cref="System.Runtime.Serialization.SerializationException">An item cannot be serialized.</exception>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    public void PutMany(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        ThrowIfClosed();
        var all = items.ToArray();
        if (all.Length == 1)
            Send([Encode(all[0], 0)]);
        else if (all.Length > 1)
            Send(EncodeBlocks(all));
    }

    /// <summary>Removes and returns the oldest item, waiting as long as it takes for one.</summary>
    /// <remarks>Python: <c>SimpleQueue.get()</c>.</remarks>
    /// <exception cref="ObjectDisposedException">The queue is closed, before or while waiting.</exception>
    public T Get()
    {
        ThrowIfClosed();
        if (TakeHere(out var here))
            return here;
        var taken = (Taken)Request(id => new Take(_token, id, null, _local), timeout: null, "Get");
        return Decode(taken.Item!);
    }

    /// <summary>Removes the oldest item, waiting up to <paramref name="timeout"/> for one.</summary>
    /// <remarks>Python: <c>Queue.get(timeout=...)</c>, which <c>SimpleQueue</c> lacks.</remarks>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> not at all, <see cref="Timeout.InfiniteTimeSpan"/> for ever.</param>
    /// <param name="item">The item, when there was one.</param>
    /// <returns>False when no item came in time.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="ObjectDisposedException">The queue is closed, before or while waiting.</exception>
    public bool TryGet(TimeSpan timeout, [MaybeNullWhen(false)] out T item)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative (or must be Timeout.InfiniteTimeSpan).");
        ThrowIfClosed();
        if (TakeHere(out item))
            return true;
        // No timeout on the wait itself: the queue keeps the clock, so an item is never sent to a call that gave up.
        var taken = (Taken)Request(id => new Take(_token, id, timeout, _local), timeout: null, "TryGet");
        if (taken.Item is null)
        {
            item = default;
            return false;
        }
        item = Decode(taken.Item);
        return true;
    }

    /// <summary>Removes and returns every item the queue holds now, oldest first; empty when there is none.</summary>
    /// <remarks>Python: the seed's "get all objects stored" (a loop of <c>get()</c> while not <c>empty()</c>), in one call.</remarks>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    public IReadOnlyList<T> GetAll()
    {
        ThrowIfClosed();
        var items = new List<T>();
        var part = (TakenAll)Request(id => new TakeAll(_token, id), timeout: null, "GetAll");
        while (true)
        {
            foreach (var payload in part.Items)
            {
                if (payload.Block == 0)
                    items.Add(Decode(payload));
                else
                    items.AddRange(DecodeBlock(payload));
            }
            if (part.Continuation is not { } continuation)
                return items;
            part = (TakenAll)Request(id => new TakeRest(_token, id, continuation), timeout: null, "GetAll");
        }
    }

    /// <summary>
    /// Closes the queue for every process: its items are dropped, blocked getters fail with
    /// <see cref="ObjectDisposedException"/>, and so do later calls. Closing twice is harmless.
    /// </summary>
    /// <remarks>Python: <c>SimpleQueue.close()</c>.</remarks>
    public void Close()
    {
        if (_closed)
            return;
        try
        {
            _client.Wait(_client.Send(_queue, id => new Close(_token, id)), _client.Settings.PutTimeout, "Close");
        }
        catch (ObjectDisposedException)
        {
            // The context is gone, and its queue with it: closed either way.
        }
        _closed = true;
    }

    /// <summary>Closes the queue, as <see cref="Close"/> does.</summary>
    /// <remarks>Python: <c>SimpleQueue.close()</c>; here also the end of a <c>using</c> block.</remarks>
    public void Dispose() => Close();

    /// <summary>The queue's name, for logs.</summary>
    /// <remarks>Python: <c>repr(SimpleQueue)</c>.</remarks>
    public override string ToString() => $"SimpleQueue<{typeof(T).Name}>({_queue.Path.Name})";

    /// <summary>The queue actor (for tests).</summary>
    internal IActorRef Actor => _queue;

    ISurrogate ISurrogated.ToSurrogate(ActorSystem system) => new QueueHandle<T>(_queue, _token);

    /// <param name="item">The item.</param>
    /// <param name="index">Its index in a <see cref="PutMany"/>, for messages.</param>
    private Payload Encode(T item, int? index)
    {
        Check(item, index);
        try
        {
            return _client.Codec.Encode(item, "item");
        }
        catch (Exception e) when (e is SerializationException or ArgumentException)
        {
            // Again, for the message that names the item.
            return _client.Codec.Encode(item, Describe(index).ToLowerInvariant());
        }
    }

    /// <summary>Refuses an item holding process-local state (a stream, a lock...), naming it.</summary>
    private static void Check(T item, int? index)
    {
        // The description is built only for a message: a put of small items costs little more than this.
        if (item is not null && !CaptureCheck.IsStaticallySafe(item.GetType()))
        {
            var what = Describe(index);
            CaptureCheck.Ensure(item, path => path.Length == 0 ? what : $"Member '{path}' of {what.ToLowerInvariant()}", "item");
        }
    }

    /// <summary>
    /// The items as block payloads (arrays) of up to <see cref="WireSerializer.BatchLimit"/> bytes each:
    /// one serialization and one queue entry per block instead of per item. Each item is checked as
    /// <see cref="Put"/> checks it, and an item that cannot travel fails the call naming its index.
    /// </summary>
    private List<Payload> EncodeBlocks(T[] all)
    {
        for (var i = 0; i < all.Length; i++)
            Check(all[i], i);
        var limit = WireSerializer.BatchLimit(_client.Codec.MaximumMessageSize);
        var blocks = new List<Payload>();
        var start = 0;
        var take = all.Length;
        while (start < all.Length)
        {
            take = Math.Min(take, all.Length - start);
            var part = start == 0 && take == all.Length ? all : all.AsSpan(start, take).ToArray();
            Payload block;
            try
            {
                block = _client.Codec.EncodeUnchecked(part, "the items");
            }
            catch (SerializationException)
            {
                // One of them: the message should name which.
                for (var i = start; i < start + take; i++)
                    Encode(all[i], i);
                throw;
            }
            if (WireSerializer.WireSize(block) > limit && take > 1)
            {
                // Sized from what this many took, with room to spare, and halved while still too big.
                take = (int)Math.Clamp(take * (limit * 0.9 / WireSerializer.WireSize(block)), 1, take / 2);
                continue;
            }
            if (take == 1)
                blocks.Add(Encode(all[start], start));
            else
                blocks.Add(block with { Block = take });
            start += take;
        }
        return blocks;
    }

    private static string Describe(int? index) => index is { } i ? $"The item at index {i}" : "The item";

    private T Decode(Payload payload) => (T)_client.Codec.Decode(payload)!;

    private IEnumerable<T> DecodeBlock(Payload block) => _client.Codec.Decode(block, "the items of a PutMany") switch
    {
        T[] typed => typed,
        Array array => array.Cast<T>(),
        var other => throw new SerializationException($"The items of a PutMany came back as a {other?.GetType().Name ?? "null"}, not an array."),
    };

    /// <summary>
    /// Sends the payloads in messages within the size limit. Inside a pool task they are left to the
    /// task's scope to confirm; elsewhere this waits until the queue holds them all.
    /// </summary>
    private void Send(IReadOnlyList<Payload> payloads)
    {
        if (TaskPutScope.Current is { } scope)
        {
            if (payloads is [{ Block: 0 }])
                scope.Put(_client, _queue, _token, payloads[0]);
            else
                scope.PutMany(_client, _queue, _token, Batches(payloads));
            return;
        }
        var sent = Batches(payloads).Select(batch => _client.Send(_queue, id => new Put(_token, id, batch, null))).ToList();
        try
        {
            foreach (var request in sent)
                _client.WaitPut(request);
        }
        catch (ObjectDisposedException)
        {
            _closed = true;
            throw;
        }
    }

    /// <summary>
    /// Splits the payloads into puts that each fit the size limit, counting every item with what it
    /// costs on the wire (<see cref="WireSerializer.WireSize"/>): the frame holds the limit plus the
    /// envelope allowance, and Akka.Remote silently drops a bigger message.
    /// </summary>
    private IEnumerable<Payload[]> Batches(IReadOnlyList<Payload> payloads)
    {
        var limit = _client.Codec.MaximumMessageSize;
        var batch = new List<Payload>();
        long size = 0;
        foreach (var payload in payloads)
        {
            var cost = WireSerializer.WireSize(payload);
            if (batch.Count > 0 && size + cost > limit)
            {
                yield return batch.ToArray();
                batch.Clear();
                size = 0;
            }
            batch.Add(payload);
            size += cost;
        }
        if (batch.Count > 0)
            yield return batch.ToArray();
    }

    /// <summary>
    /// The oldest item, taken straight from the queue's items when the queue actor is in this process
    /// and holds one; false when the call must go through the actor (nothing held, or not local).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    private bool TakeHere([MaybeNullWhen(false)] out T item)
    {
        item = default;
        if (Here() is not { } items || !Settled(items.TryTakeHere(out var payload, out var value)))
            return false;
        item = payload is not null ? Decode(payload) : (T)value!;
        return true;
    }

    /// <summary>The queue actor's items when it runs in this process (found on first use).</summary>
    private QueueItems? Here() => _local ? _items ??= QueueItems.Find(_queue) : null;

    /// <summary>True when a direct call on the items answered; false when it must go through the actor.</summary>
    /// <exception cref="ObjectDisposedException">The queue is closed.</exception>
    private bool Settled(QueueItems.Outcome outcome)
    {
        if (outcome == QueueItems.Outcome.Closed)
        {
            _closed = true;
            throw QueueClient.QueueClosedError();
        }
        return outcome == QueueItems.Outcome.Taken;
    }

    private IReply Request(Func<long, IRequest> build, TimeSpan? timeout, string what)
    {
        var reply = _client.Wait(_client.Send(_queue, build), timeout, what);
        if (reply is QueueClosed)
        {
            _closed = true;
            throw QueueClient.QueueClosedError();
        }
        return reply;
    }

    private void ThrowIfClosed()
    {
        if (_closed)
            throw QueueClient.QueueClosedError();
    }
}
