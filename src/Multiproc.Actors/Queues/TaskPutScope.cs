using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Queues;

/// <summary>
/// The puts of one chunk of pool tasks, on the worker's task thread. Puts inside a task return at
/// once (pipelined); the chunk's result is sent only after <see cref="Finish"/> has seen every one
/// acknowledged, so every item a task put is in its queue before the task's result reaches the
/// caller. Each put carries its task's input position and its sequence number within that task, so
/// that the queue drops the repeats of a task re-run after its worker died.
/// </summary>
internal sealed class TaskPutScope : IDisposable
{
    [ThreadStatic]
    private static TaskPutScope? _current;

    private readonly string _pool;
    private readonly long _job;
    private readonly int _start;
    private readonly Queue<Pending> _outstanding = new();
    private int _tasksStarted;
    private int _seq;
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
    public static void OnTaskStart()
    {
        if (_current is { } scope)
        {
            scope._tasksStarted++;
            scope._seq = 0;
        }
    }

    /// <summary>The origin of the current task's next put.</summary>
    public PutOrigin NextOrigin() => new(_pool, _job, ItemIndex, _seq++);

    /// <summary>Records a pipelined put; waits for the oldest when more than the pipeline depth are unacknowledged.</summary>
    public void Add(QueueClient client, SentRequest sent)
    {
        _outstanding.Enqueue(new Pending(client, sent, ItemIndex));
        while (_outstanding.Count > client.Settings.PipelineDepth)
            Settle(_outstanding.Dequeue());
    }

    /// <summary>Waits for every put of the chunk; the first that failed, with its task's input position.</summary>
    public (int Item, Exception Error)? Finish()
    {
        while (_outstanding.TryDequeue(out var pending))
            Settle(pending);
        return _failure;
    }

    public void Dispose()
    {
        if (ReferenceEquals(_current, this))
            _current = null;
    }

    private int ItemIndex => _start + Math.Max(_tasksStarted - 1, 0);

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
}
