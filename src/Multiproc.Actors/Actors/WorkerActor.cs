using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Queues;
using Multiproc.Actors.Serialization;
using Multiproc.Actors.Worker;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The worker side of a pool, in the worker process: registers with its parent, takes work only
/// from that parent (work is code execution), and runs it on a thread of its own so a long task
/// never blocks the actor from receiving the next chunk or <see cref="Retire"/>.
/// </summary>
internal sealed class WorkerActor : ReceiveActor
{
    private readonly string _token;
    private readonly PayloadCodec _codec;
    private readonly MultiprocSettings _settings;
    private readonly DroppedMessages _dropped;
    // Functions rebuilt by content outlive a Transfer: the next pool mostly sends the same ones.
    private readonly ConcurrentDictionary<ContentKey, ChunkRunner> _stateless = new();
    // Reports the task thread finished, sent by this actor: those that pile up while it is busy
    // leave as one remote message.
    private readonly ConcurrentQueue<(IActorRef To, IMultiprocMessage Report)> _outbox = new();
    private readonly IActorRef _self;
    private IActorRef _parent;
    private TaskThread? _tasks;
    private SharedSlots? _slots;
    private int _flushPending;
    private bool _retiring;

    public WorkerActor(IActorRef parent, string token, MultiprocSettings settings)
    {
        _parent = parent;
        _dropped = new DroppedMessages(Context.GetLogger(), "Worker " + Environment.ProcessId);
        _token = token;
        _settings = settings;
        // Send runs on the task thread, where the actor context (and so Self) is not available.
        _self = Self;
        _codec = new PayloadCodec(Context.System, settings.MaximumMessageSize);

        Receive<Welcome>(FromParent, welcome =>
        {
            if (_tasks is not null)
                return;
            // Large chunks come, and large results go, through files in the pool's directory.
            _slots = welcome.SharedDirectory is { } directory && _settings.SharedMemoryThreshold > 0
                ? SharedSlots.Attach(directory, _settings.SharedMemoryThreshold)
                : null;
            // Tells the pool, should this process die, which chunk was executing (and so which to blame).
            var running = welcome.SharedDirectory is { } poolDirectory ? RunningChunkFile.Create(poolDirectory, Environment.ProcessId) : null;
            _tasks = new TaskThread(_parent, this, _slots is null ? _codec : _codec.WithSlots(_slots), _stateless, running);
            _tasks.Post(welcome);
        });
        Receive<RunChunk>(FromParent, chunk => _tasks?.Post(chunk));
        Receive<RunChunks>(FromParent, many =>
        {
            foreach (var chunk in many.Chunks)
                _tasks?.Post(chunk);
        });
        Receive<FlushOutbox>(_ => Flush());
        Receive<Transfer>(FromParent, transfer =>
        {
            // Handed on idle (its pool kept it warm for the next): the task thread, its cached
            // functions and its queue identity belong to the old pool, whose job ids the next
            // pool reuses; the next Welcome starts them afresh.
            // Its pool's slot files are deleted with the pool: unmapped, their memory goes back.
            var slots = _slots;
            _tasks?.CompleteThen(() => slots?.Dispose());
            _tasks = null;
            _slots = null;
            Context.Unwatch(_parent);
            _parent = transfer.NewParent;
            Register();
        });
        Receive<Retire>(FromParent, _ =>
        {
            // Leaving through the actor system's shutdown ends the association cleanly: the parent logs nothing.
            _retiring = true;
            if (_tasks is null)
                Context.System.Terminate();
            else
            {
                var self = Self;
                _tasks.CompleteThen(() => self.Tell(TasksEnded.Instance));
            }
        });
        Receive<TasksEnded>(_ => _retiring, _ =>
        {
            Flush();
            Context.System.Terminate();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_parent), _ => Context.System.Terminate());
        ReceiveAny(message => _dropped.Drop(message, Sender, "a worker takes messages only from the pool that launched it."));
    }

    public static Props Props(IActorRef parent, string token, MultiprocSettings settings) =>
        Akka.Actor.Props.Create(() => new WorkerActor(parent, token, settings));

    protected override void PreStart() => Register();

    private void Register()
    {
        Context.Watch(_parent);
        _parent.Tell(new RegisterWorker(_token, Environment.ProcessId), Self);
    }

    protected override void PostStop() => _tasks?.CompleteThen(null);

    private bool FromParent(object _) => Sender.Equals(_parent);

    /// <summary>Called by the task thread with each report; <paramref name="more"/> when more work is queued behind it.</summary>
    private void Send(IActorRef to, IMultiprocMessage report, bool more)
    {
        // Nothing to batch it with, now or soon: straight out, without a hop through this actor.
        if (!more && _outbox.IsEmpty && Volatile.Read(ref _flushPending) == 0)
        {
            to.Tell(report, _self);
            return;
        }
        _outbox.Enqueue((to, report));
        if (Interlocked.Exchange(ref _flushPending, 1) == 0)
            _self.Tell(FlushOutbox.Instance);
    }

    private void Flush()
    {
        // Cleared before draining: a report queued from here on schedules a flush of its own.
        Volatile.Write(ref _flushPending, 0);
        var batch = new List<IMultiprocMessage>();
        IActorRef? batchTo = null;
        long batchBytes = 0;
        while (_outbox.TryDequeue(out var next))
        {
            // Only results: an error's size (message, stack traces) is not bounded, and a batch over
            // the frame size would be dropped whole.
            var size = next.Report is ChunkDone done ? WireSerializer.WireSize(done.Results) : 0;
            var batchable = next.Report is ChunkDone && size < BatchBytes;
            if (batch.Count > 0 && (!batchable || !next.To.Equals(batchTo) || batchBytes + size > BatchBytes))
                SendBatch(batch, batchTo!);
            if (!batchable)
            {
                next.To.Tell(next.Report, Self);
                continue;
            }
            batch.Add(next.Report);
            batchTo = next.To;
            batchBytes = batch.Count == 1 ? size : batchBytes + size;
        }
        if (batch.Count > 0)
            SendBatch(batch, batchTo!);
    }

    private void SendBatch(List<IMultiprocMessage> batch, IActorRef to)
    {
        to.Tell(batch.Count == 1 ? batch[0] : new ChunkReports(batch.ToArray()), Self);
        batch.Clear();
    }

    private long BatchBytes => WireSerializer.BatchLimit(_settings.MaximumMessageSize);

    private sealed class FlushOutbox : ILocalOnly
    {
        public static readonly FlushOutbox Instance = new();
    }

    private sealed class TasksEnded : ILocalOnly
    {
        public static readonly TasksEnded Instance = new();
    }

    /// <summary>
    /// The thread that runs the initializer and chunks in arrival order. Results are told straight to
    /// the parent from here, with the worker actor as sender.
    /// </summary>
    private sealed class TaskThread
    {
        private readonly BlockingCollection<object> _inbox = new();
        private readonly IActorRef _parent;
        private readonly WorkerActor _owner;
        private readonly PayloadCodec _codec;
        private const int StatelessCacheSize = 256;
        private readonly Dictionary<long, ChunkRunner> _runners = new();
        // Functions by the caller's id, kept while this thread serves its pool, which sends each id's
        // bytes once; one that failed to rebuild fails every job that names it the same way.
        private readonly Dictionary<int, (ChunkRunner? Runner, ExceptionDispatchInfo? Error)> _byId = new();
        private readonly ConcurrentDictionary<ContentKey, ChunkRunner> _stateless;
        private readonly string _poolKey;
        private Action? _whenDone;
        private const int MaxReportsWaiting = 8;
        // Reports sent when their chunk's puts are acknowledged (task thread only).
        private readonly List<Task> _waiting = new();

        private readonly RunningChunkFile? _running;

        public TaskThread(IActorRef parent, WorkerActor owner, PayloadCodec codec, ConcurrentDictionary<ContentKey, ChunkRunner> stateless,
            RunningChunkFile? running)
        {
            _running = running;
            _stateless = stateless;
            _parent = parent;
            // Job ids are per pool: a queue tells the puts of tasks of different pools apart by this.
            _poolKey = parent.Path.ToStringWithUid();
            _owner = owner;
            _codec = codec;
            new Thread(Loop) { IsBackground = true, Name = "multiproc-tasks" }.Start();
        }

        public void Post(object work) => _inbox.Add(work);

        public void CompleteThen(Action? whenDone)
        {
            if (_inbox.IsAddingCompleted)
                return;
            _whenDone = whenDone;
            _inbox.CompleteAdding();
        }

        private void Loop()
        {
            foreach (var work in _inbox.GetConsumingEnumerable())
            {
                QuietTrim.Busy();
                switch (work)
                {
                    case Welcome welcome:
                        _owner.Send(_parent, RunInitializer(welcome.Initializer), more: _inbox.Count > 0);
                        break;
                    case RunChunk chunk:
                        if (Run(chunk) is { } report)
                            _owner.Send(_parent, report, more: _inbox.Count > 0);
                        break;
                }
            }
            // Reports still waiting for their puts leave before this worker is done (each wait is bounded by the put timeout).
            Task.WaitAll([.. _waiting]);
            _running?.Dispose();
            _whenDone?.Invoke();
        }

        private IMultiprocMessage RunInitializer(Payload? payload)
        {
            if (payload is null)
                return WorkerReady.Instance;
            try
            {
                var call = (InitializerCall)_codec.Decode(payload, "the initializer with its initargs")!;
                call.Function.Resolve().DynamicInvoke(call.Args);
                return WorkerReady.Instance;
            }
            catch (Exception e)
            {
                return new InitializerFailed(RemoteError.From(e));
            }
        }

        /// <summary>The chunk's report, or null when it waits for the chunk's puts and is sent once they are acknowledged.</summary>
        private IMultiprocMessage? Run(RunChunk chunk)
        {
            using var puts = TaskPutScope.Begin(_poolKey, chunk.JobId, chunk.Start);
            _running?.Begin(chunk.JobId, chunk.ChunkIndex);
            var report = RunTasks(chunk);
            _running?.End();
            // Every item the chunk's tasks put must be in its queue before the result reaches the caller;
            // meanwhile the next chunk runs (up to a few chunks' reports wait like this).
            var settled = puts.FinishAsync();
            _waiting.RemoveAll(waiting => waiting.IsCompleted);
            if (settled.IsCompleted || _waiting.Count >= MaxReportsWaiting)
                return WithPuts(chunk, report, settled.GetAwaiter().GetResult());
            var sent = settled.ContinueWith(
                done => _owner.Send(_parent, WithPuts(chunk, report, done.IsCompletedSuccessfully
                    ? done.Result
                    : (chunk.Start, done.Exception!.GetBaseException())), more: false),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _waiting.Add(sent);
            return null;
        }

        private static IMultiprocMessage WithPuts(RunChunk chunk, IMultiprocMessage report, (int Item, Exception Error)? failedPut)
        {
            if (failedPut is not { } failed)
                return report;
            return report is ChunkFailed chunkFailed && chunkFailed.ItemIndex <= failed.Item
                ? report
                : new ChunkFailed(chunk.JobId, chunk.ChunkIndex, failed.Item, RemoteError.From(failed.Error));
        }

        private IMultiprocMessage RunTasks(RunChunk chunk)
        {
            foreach (var finished in chunk.ForgetJobs)
                _runners.Remove(finished);
            ChunkOutcome outcome;
            try
            {
                outcome = RunnerFor(chunk).Run(_codec.Decode(chunk.Items, $"the arguments of items {chunk.Start} and on"));
            }
            catch (Exception e)
            {
                return new ChunkFailed(chunk.JobId, chunk.ChunkIndex, chunk.Start, RemoteError.From(e));
            }
            if (outcome.Error is { } error)
                return new ChunkFailed(chunk.JobId, chunk.ChunkIndex, chunk.Start + outcome.FailedAt, RemoteError.From(error));
            try
            {
                return new ChunkDone(chunk.JobId, chunk.ChunkIndex,
                    _codec.EncodeResults(outcome.Results, $"the results of items {chunk.Start} and on", chunk.ResultSlot));
            }
            catch (Exception e)
            {
                return new ChunkFailed(chunk.JobId, chunk.ChunkIndex, chunk.Start, RemoteError.From(e));
            }
        }

        private ChunkRunner RunnerFor(RunChunk chunk)
        {
            if (_runners.TryGetValue(chunk.JobId, out var runner))
                return runner;
            if (chunk.Function is null)
            {
                if (!_byId.TryGetValue(chunk.FunctionId, out var known))
                    throw new InvalidOperationException($"Job {chunk.JobId} reached this worker without its function.");
                if (known.Runner is null)
                    known.Error!.Throw();
                runner = known.Runner!;
            }
            else
            {
                try
                {
                    runner = Rebuild(chunk.Function);
                }
                catch (Exception e) when (chunk.FunctionId != 0)
                {
                    _byId[chunk.FunctionId] = (null, ExceptionDispatchInfo.Capture(e));
                    throw;
                }
                if (chunk.FunctionId != 0)
                    _byId[chunk.FunctionId] = (runner, null);
            }
            _runners[chunk.JobId] = runner;
            return runner;
        }

        private ChunkRunner Rebuild(Payload functionPayload)
        {
            // The same static method or non-capturing lambda comes with every pool: rebuild it once.
            var content = new ContentKey(functionPayload.Bytes);
            if (_stateless.TryGetValue(content, out var runner))
                return runner;
            var function = (JobFunction)_codec.Decode(functionPayload, "the function with its captured values")!;
            runner = ChunkRunner.Create(function.Function.Resolve(), function.Kind);
            if (function.Stateless)
            {
                if (_stateless.Count >= StatelessCacheSize)
                    _stateless.Clear();
                _stateless[content] = runner;
            }
            return runner;
        }
    }

    /// <summary>A function's serialized bytes as a dictionary key: equal when the bytes are.</summary>
    private readonly struct ContentKey : IEquatable<ContentKey>
    {
        private readonly byte[] _bytes;
        private readonly int _hash;

        public ContentKey(byte[] bytes)
        {
            _bytes = bytes;
            var hash = new HashCode();
            hash.AddBytes(bytes);
            _hash = hash.ToHashCode();
        }

        public bool Equals(ContentKey other) => _hash == other._hash && _bytes.AsSpan().SequenceEqual(other._bytes);

        public override bool Equals(object? obj) => obj is ContentKey other && Equals(other);

        public override int GetHashCode() => _hash;
    }
}
