using Akka.Actor;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Queues;

/// <summary>
/// The puts of one chunk of pool tasks, on the worker's task thread. Puts inside a task return at
/// once (pipelined); the chunk's result is sent only after <see cref="FinishAsync"/> has seen every one
/// acknowledged, so every item a task put is in its queue before the task's result reaches the
/// caller. Each item carries its task's input position and its sequence number among the items that
/// task put to that queue, so that the queue drops the repeats of a task re-run after its worker died.
/// </summary>
/// <remarks>
/// Puts coalesce, self-clocked: a put to a queue with no put of this scope in flight leaves at
/// once; those made while one is in flight wait for its acknowledgement (or a full batch) and then
/// leave together. A lone put is never delayed, and a task putting thousands of items sends a few
/// dozen messages instead of one each.
/// </remarks>
internal sealed class TaskPutScope : IDisposable
{
    private const int MaxBatchItems = 1024;

    [ThreadStatic]
    private static TaskPutScope? _current;

    // Taken by the task thread and by acknowledgements, which send what waited for them.
    private readonly Lock _gate = new();
    private readonly string _pool;
    private readonly long _job;
    private readonly int _start;
    private readonly Queue<Pending> _outstanding = new();
    private readonly Dictionary<IActorRef, Batch> _batches = new();
    // The number the current task's next item to each queue gets (a queue dedupes per task, in order).
    private readonly Dictionary<IActorRef, int> _nextSeq = new();
    private int _tasksStarted;
    private bool _finished;
    private (int Item, Exception Error)? _failure;

    private TaskPutScope(string pool, long job, int start)
    {
        _pool = pool;
        _job = job;
        _start = start;
    }

    /// <summary>The scope of the chunk running on this thread, if any: puts elsewhere wait for their acknowledgement.</summary>
    public static TaskPutScope? Current => _current;

    /// <summary>Opens the scope of a chunk of job <paramref name="job"/> starting at input position <paramref name="start"/>.</summary>
    /// <param name="pool">The pool actor's path with UID.</param>
    /// <param name="job">The job id.</param>
    /// <param name="start">The input position of the chunk's first item.</param>
    public static TaskPutScope Begin(string pool, long job, int start) => _current = new TaskPutScope(pool, job, start);

    /// <summary>Marks the start of the next task of the current chunk: the chunk runner calls it before each item.</summary>
    public static void OnTaskStart() => _current?.StartTask();

    /// <summary>The origin of the current task's next <paramref name="count"/> items to <paramref name="queue"/>, numbered per queue (for tests).</summary>
    public PutOrigin NextOrigin(IActorRef queue, int count = 1)
    {
        lock (_gate)
        {
            var seq = _nextSeq.GetValueOrDefault(queue);
            _nextSeq[queue] = seq + count;
            return new PutOrigin(_pool, _job, ItemIndex, seq);
        }
    }

    private Batch BatchFor(QueueClient client, IActorRef queue, string token)
    {
        if (!_batches.TryGetValue(queue, out var batch))
            _batches[queue] = batch = new Batch(client, queue, token);
        return batch;
    }

    /// <summary>Puts one item: now if nothing of this scope is in flight to that queue, else with the next batch.</summary>
    public void Put(QueueClient client, IActorRef queue, string token, Payload item)
    {
        lock (_gate)
        {
            var batch = BatchFor(client, queue, token);
            var size = WireSerializer.WireSize(item);
            var limit = WireSerializer.BatchLimit(client.Codec.MaximumMessageSize);
            if (batch.Items.Count > 0 && batch.Bytes + size > limit)
                Send(batch);
            var origin = NextOrigin(queue);
            if (batch.Items.Count == 0)
                batch.FirstSeq = origin.Seq;
            batch.Items.Add(item);
            batch.Bytes += size;
            if (batch.Idle || batch.Items.Count >= MaxBatchItems || batch.Bytes >= limit)
                Send(batch);
        }
        SettleOverflow(client);
    }

    /// <summary>Puts several batches of items in order, after whatever waits for that queue.</summary>
    public void PutMany(QueueClient client, IActorRef queue, string token, IEnumerable<Payload[]> batches)
    {
        lock (_gate)
        {
            if (_batches.TryGetValue(queue, out var waiting))
                Send(waiting);
            foreach (var items in batches)
                Send(client, queue, token, items, NextOrigin(queue, items.Sum(item => item.ItemCount)));
        }
        SettleOverflow(client);
    }

    /// <summary>
    /// Sends what the chunk's tasks put and has not left yet; completes when every put of the chunk
    /// is acknowledged, with the first that failed and its task's input position. Does not block: the
    /// task thread runs the next chunk while these puts are on their way, and this chunk's result
    /// waits for them instead.
    /// </summary>
    public Task<(int Item, Exception Error)?> FinishAsync()
    {
        List<Pending> pending;
        lock (_gate)
        {
            SendAll();
            _finished = true;
            pending = [.. _outstanding];
            _outstanding.Clear();
        }
        return pending.Count == 0 ? Task.FromResult(_failure) : SettleAsync(pending);
    }

    private async Task<(int Item, Exception Error)?> SettleAsync(List<Pending> pending)
    {
        foreach (var put in pending)
        {
            try
            {
                await put.Client.WaitPutAsync(put.Sent).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or TimeoutException)
            {
                _failure ??= (put.Item, e);
            }
        }
        return _failure;
    }

    public void Dispose()
    {
        if (ReferenceEquals(_current, this))
            _current = null;
    }

    private int ItemIndex => _start + Math.Max(_tasksStarted - 1, 0);

    private void StartTask()
    {
        // Before any put (most tasks never put), nothing is sent from another thread: no lock.
        // Both dictionaries change only on this thread.
        if (_batches.Count == 0 && _nextSeq.Count == 0)
        {
            _tasksStarted++;
            return;
        }
        lock (_gate)
        {
            // An origin names one task: what the last one put leaves before the next begins.
            SendAll();
            _tasksStarted++;
            _nextSeq.Clear();
        }
    }

    private void SendAll()
    {
        foreach (var batch in _batches.Values)
            Send(batch);
    }

    private void Send(Batch batch)
    {
        if (batch.Items.Count == 0)
            return;
        var sent = Send(batch.Client, batch.Queue, batch.Token, batch.Items.ToArray(), new PutOrigin(_pool, _job, ItemIndex, batch.FirstSeq));
        batch.Items.Clear();
        batch.Bytes = 0;
        batch.InFlight = sent.Reply;
        // What piles up meanwhile leaves when this is acknowledged, even if the task puts nothing more.
        sent.Reply.ContinueWith(_ => OnAcknowledged(batch), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private SentRequest Send(QueueClient client, IActorRef queue, string token, Payload[] items, PutOrigin origin)
    {
        var sent = client.Send(queue, id => new Put(token, id, items, origin));
        _outstanding.Enqueue(new Pending(client, sent, origin.Item));
        return sent;
    }

    private void OnAcknowledged(Batch batch)
    {
        lock (_gate)
        {
            if (!_finished && batch.Idle)
                Send(batch);
        }
    }

    /// <summary>Waits for the oldest puts while more than the pipeline depth are unacknowledged.</summary>
    private void SettleOverflow(QueueClient client)
    {
        while (TakeOutstanding(client.Settings.PipelineDepth) is { } pending)
            Settle(pending);
    }

    private Pending? TakeOutstanding(int keep)
    {
        lock (_gate)
            return _outstanding.Count > keep ? _outstanding.Dequeue() : null;
    }

    private void Settle(Pending pending)
    {
        try
        {
            pending.Client.WaitPut(pending.Sent);
        }
        catch (Exception e) when (e is ObjectDisposedException or TimeoutException)
        {
            // Acknowledgements settle in put order, so the first failure is the earliest task's.
            _failure ??= (pending.Item, e);
        }
    }

    private readonly record struct Pending(QueueClient Client, SentRequest Sent, int Item);

    /// <summary>The items waiting to go to one queue, and its put in flight.</summary>
    private sealed class Batch(QueueClient client, IActorRef queue, string token)
    {
        public QueueClient Client { get; } = client;
        public IActorRef Queue { get; } = queue;
        public string Token { get; } = token;
        public List<Payload> Items { get; } = [];
        public long Bytes { get; set; }
        public int FirstSeq { get; set; }
        public Task? InFlight { get; set; }

        /// <summary>No put of this batch's is unacknowledged.</summary>
        public bool Idle => InFlight is null || InFlight.IsCompleted;
    }
}
