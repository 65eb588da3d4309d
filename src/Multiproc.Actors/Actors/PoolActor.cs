using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Launching;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>What a pool actor is started with.</summary>
internal sealed record PoolSetup(
    int Processes,
    int? MaxTasksPerChild,
    string Token,
    Payload? Initializer,
    MultiprocSettings Settings,
    IWorkerLauncher Launcher,
    PayloadCodec Codec,
    TaskCompletionSource AllExited,
    IActorRef? WarmWorkers = null);

/// <summary>
/// The pool: owns the ledger of queued and in-flight chunks and of worker processes. Workers get
/// up to <c>multiproc.pool.prefetch</c> chunks each and ask for more by finishing one; a dead
/// worker's chunks go back to the front of the queue and a replacement is launched.
/// </summary>
internal sealed class PoolActor : ReceiveActor, IWithTimers
{
    private enum State { Running, Closing, Terminated }

    private readonly PoolSetup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DroppedMessages _dropped;
    private readonly Dictionary<int, Launched> _launched = new();
    private readonly Dictionary<IActorRef, Worker> _workers = new();
    private readonly Dictionary<long, Job> _jobs = new();
    private readonly LinkedList<Work> _queue = new();
    private State _state = State.Running;
    private Exception? _broken;
    private int _failedStarts;
    // Starts in a row cut short by a signal: forgiven, up to KilledStartsFactor × max-failed-starts,
    // so that an OOM killer or a memory limit that kills every new worker still fails the calls
    // instead of leaving them waiting for ever.
    private int _killedStarts;
    private const int KilledStartsFactor = 10;
    // Breaks in a row because workers could not start, and when the next call may try again.
    private int _breaks;
    private long? _reopenAt;
    private int _crashStreak;
    private int _pendingLaunches;
    private bool _dispatchDue;
    private bool _claimPending;
    // Chunks handed to each worker during one Dispatch pass, sent as one message at its end.
    private readonly Dictionary<Worker, Outgoing> _outgoing = new();

    public PoolActor(PoolSetup setup)
    {
        _setup = setup;
        _dropped = new DroppedMessages(_log, "Pool " + Self.Path.Name);

        Receive<Start>(_ => OnStart());
        Receive<WarmClaimed>(OnWarmClaimed);
        Receive<RegisterWorker>(OnRegister);
        Receive<WorkerReady>(OnReady);
        Receive<InitializerFailed>(OnInitializerFailed);
        Receive<SubmitJob>(submit => OnSubmit(submit.Job));
        Receive<OpenStream>(OnOpenStream);
        Receive<AddChunk>(OnAddChunk);
        Receive<EndStream>(OnEndStream);
        Receive<ChunkDone>(done => OnChunkReports(done, [done]));
        Receive<ChunkFailed>(failed => OnChunkReports(failed, [failed]));
        Receive<ChunkReports>(reports => OnChunkReports(reports, reports.Reports));
        Receive<DispatchDue>(_ =>
        {
            _dispatchDue = false;
            Dispatch();
        });
        Receive<WorkerExited>(exited => OnProcessGone(exited.Pid, exited.ExitCode));
        Receive<Terminated>(OnWorkerTerminated);
        Receive<StartTimedOut>(OnStartTimedOut);
        Receive<InitializerTimedOut>(OnInitializerTimedOut);
        Receive<RetireTimedOut>(timedOut =>
        {
            if (_launched.TryGetValue(timedOut.Pid, out var launched))
                launched.Process.Kill();
        });
        Receive<LaunchDue>(_ => OnLaunchDue());
        Receive<ClosePool>(_ => OnClose());
        Receive<TerminatePool>(_ => OnTerminate());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(PoolSetup setup) => Akka.Actor.Props.Create(() => new PoolActor(setup));

    private MultiprocSettings Settings => _setup.Settings;

    private void OnStart()
    {
        if (_setup.WarmWorkers is { } warm)
        {
            // Counted as launches until the answer says how many are warm and how many to start.
            _pendingLaunches += _setup.Processes;
            _claimPending = true;
            // Gone (its context disposing) before answering: then there are none to take.
            Context.Watch(warm);
            warm.Tell(new ClaimWarm(_setup.Processes));
            Sender.Tell(Started.Instance);
            return;
        }
        try
        {
            for (var i = 0; i < _setup.Processes; i++)
                Launch();
            Sender.Tell(Started.Instance);
        }
        catch (Exception e)
        {
            Sender.Tell(new Status.Failure(e));
            Context.Stop(Self);
        }
    }

    private void OnWarmClaimed(WarmClaimed claimed)
    {
        if (!_claimPending || !LocalActors.IsLocal(Sender))
            return;
        _claimPending = false;
        Context.Unwatch(Sender);
        _pendingLaunches -= _setup.Processes;
        var self = Self;
        foreach (var warm in claimed.Workers)
        {
            // Registers like a worker this pool launched: it was told to, right after this was sent.
            _launched[warm.Pid] = new Launched(warm.Process) { Warm = true, Discarded = _state == State.Terminated || _broken is not null };
            warm.Process.ReportExitTo((pid, exitCode) => self.Tell(new WorkerExited(pid, exitCode)));
            Timers.StartSingleTimer(StartTimerKey(warm.Pid), new StartTimedOut(warm.Pid), Settings.WorkerStartTimeout);
        }
        if (_state == State.Terminated || _broken is not null)
        {
            foreach (var warm in claimed.Workers)
                warm.Process.Kill();
            CheckAllExited();
            return;
        }
        try
        {
            for (var i = claimed.Workers.Count; i < _setup.Processes; i++)
                Launch();
        }
        catch (Exception e)
        {
            // A launch that fails (a full process table, no dotnet host for now) may pass: retried on a later call.
            Break(e, retriable: true);
        }
        CheckAllExited();
    }

    private void Launch()
    {
        var self = Self;
        var process = _setup.Launcher.Launch(
            Akka.Serialization.Serialization.SerializedActorPath(Self),
            (pid, exitCode) => self.Tell(new WorkerExited(pid, exitCode)));
        _launched[process.Pid] = new Launched(process);
        Timers.StartSingleTimer(StartTimerKey(process.Pid), new StartTimedOut(process.Pid), Settings.WorkerStartTimeout);
    }

    private void OnRegister(RegisterWorker register)
    {
        // Only a process this pool launched, presenting the context's token, becomes a worker; and
        // only once, under the actor it registered with (its address and uid).
        if (register.Token != _setup.Token)
        {
            _dropped.Drop(register, Sender, "wrong token.");
            return;
        }
        if (Sender.IsNobody() || Sender is DeadLetterActorRef || _workers.ContainsKey(Sender))
        {
            _dropped.Drop(register, Sender, "no sender, or a worker already registered.");
            return;
        }
        if (!_launched.TryGetValue(register.Pid, out var launched) || launched.Worker is not null)
        {
            _dropped.Drop(register, Sender, $"pid {register.Pid} is not a worker this pool launched and has yet to register.");
            return;
        }
        var worker = new Worker(register.Pid, Sender);
        launched.Worker = worker;
        _workers[Sender] = worker;
        Context.Watch(Sender);
        // Registered: what is left of its start is the initializer, which has a time of its own.
        if (_setup.Initializer is not null)
            Timers.StartSingleTimer(StartTimerKey(register.Pid), new InitializerTimedOut(register.Pid), Settings.InitializerTimeout);
        Sender.Tell(new Welcome(_setup.Initializer, _setup.Codec.Slots?.Directory));
    }

    /// <summary>The registered worker that sent the message being handled; null (and the message dropped) for anyone else.</summary>
    private Worker? FromWorker(object message)
    {
        if (_workers.TryGetValue(Sender, out var worker))
            return worker;
        _dropped.Drop(message, Sender, "not a registered worker of this pool.");
        return null;
    }

    private void OnReady(WorkerReady ready)
    {
        if (FromWorker(ready) is not { } worker || worker.Ready)
            return;
        worker.Ready = true;
        _failedStarts = 0;
        _killedStarts = 0;
        _breaks = 0;
        Timers.Cancel(StartTimerKey(worker.Pid));
        Dispatch();
        RetireIdleWorkers();
    }

    private void OnInitializerFailed(InitializerFailed failed)
    {
        if (FromWorker(failed) is null)
            return;
        // Every worker runs the same initializer: respawning would fail the same way, forever.
        Break(failed.Error.ToException());
    }

    private void OnSubmit(JobSpec job)
    {
        if (Refusal() is { } refusal)
        {
            foreach (var chunk in job.Chunks)
                _setup.Codec.Release(chunk.Items);
            job.Sink.Fail(refusal);
            return;
        }
        if (job.Chunks.Count == 0)
        {
            job.Sink.Complete();
            return;
        }
        // A one-item call (Apply) is settled here: an aggregator actor per call would cost more than the call.
        var entry = job.Chunks is [{ Count: 1 }]
            ? new Job(job.JobId, job.Function, null, job.Sink.Fail, 1) { Sink = job.Sink }
            : new Job(job.JobId, job.Function, Context.ActorOf(JobActor.Props(job, _setup.Codec).WithDispatcher(Context.Props.Dispatcher)),
                job.Sink.Fail, job.Chunks.Count);
        _jobs[job.JobId] = entry;
        foreach (var chunk in job.Chunks)
            _queue.AddLast(new Work(entry, chunk));
        DispatchSoon();
    }

    /// <summary>
    /// Dispatches once the calls already in the mailbox are queued too: a burst of calls (ApplyAsync
    /// in a loop) then reaches each worker as a few messages rather than one per call.
    /// </summary>
    private void DispatchSoon()
    {
        if (_dispatchDue)
            return;
        _dispatchDue = true;
        Self.Tell(DispatchDue.Instance);
    }

    private void OnOpenStream(OpenStream open)
    {
        if (Refusal() is { } refusal)
        {
            open.Sink.Fail(refusal);
            return;
        }
        var aggregator = Context.ActorOf(StreamActor.Props(open.Sink, _setup.Codec).WithDispatcher(Context.Props.Dispatcher));
        _jobs[open.JobId] = new Job(open.JobId, open.Function, aggregator, open.Sink.Fail, remaining: null);
    }

    private void OnAddChunk(AddChunk add)
    {
        // A stream already failed (pool broken or terminated) or ended has nowhere to go.
        if (!_jobs.TryGetValue(add.JobId, out var job))
        {
            _setup.Codec.Release(add.Chunk.Items);
            return;
        }
        _queue.AddLast(new Work(job, add.Chunk));
        DispatchSoon();
    }

    private void OnEndStream(EndStream end)
    {
        if (!_jobs.Remove(end.JobId, out var job))
            return;
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Job == job)
            {
                _queue.Remove(node);
                Release(node.Value);
            }
            node = next;
        }
        job.Aggregator?.Tell(StreamActor.Drain.Instance);
        Forget(job);
        RetireIdleWorkers();
    }

    private Exception? Refusal()
    {
        if (_broken is not null && _state == State.Running && _reopenAt is { } at && System.Diagnostics.Stopwatch.GetTimestamp() >= at)
            Reopen();
        return _broken ?? (_state == State.Terminated ? Terminated() : null);
    }

    /// <summary>
    /// Half-open: a pool broken because its workers could not start tries again for a call that
    /// comes after its back-off, so that a passing cause (a full process table, a dependency being
    /// deployed) does not leave it dead. One more failed start breaks it again, for twice as long.
    /// </summary>
    private void Reopen()
    {
        _log.Warning("Pool {0} launches workers again after: {1}", Self.Path.Name, _broken!.Message);
        _broken = null;
        _reopenAt = null;
        _failedStarts = Math.Max(0, Settings.MaxFailedStarts - 1);
        try
        {
            for (var i = 0; i < _setup.Processes; i++)
                Launch();
        }
        catch (Exception e)
        {
            Break(e, retriable: true);
        }
    }

    private void OnChunkReports(IMultiprocMessage message, IReadOnlyList<IMultiprocMessage> reports)
    {
        if (FromWorker(message) is not { } worker)
            return;
        foreach (var report in reports)
        {
            switch (report)
            {
                case ChunkDone done:
                    OnChunkReport(worker, done.JobId, done.ChunkIndex, done);
                    break;
                case ChunkFailed failed:
                    OnChunkReport(worker, failed.JobId, failed.ChunkIndex, failed);
                    break;
            }
        }
        if (worker.QuotaUsed(_setup.MaxTasksPerChild) && worker.InFlight.Count == 0 && !worker.Retiring)
            Replace(worker);
        Dispatch();
        RetireIdleWorkers();
    }

    private void OnChunkReport(Worker worker, long jobId, int chunkIndex, IMultiprocMessage report)
    {
        var work = worker.InFlight.Find(w => w.Job.Id == jobId && w.Chunk.Index == chunkIndex);
        if (work is null)
            return;
        worker.TimeReport(Settings.FastTaskThreshold);
        worker.InFlight.Remove(work);
        if (report is ChunkDone)
            _crashStreak = 0;
        // The worker is done with the chunk's slots. Results in shared memory are the aggregator's to
        // read and give back; only the slot lent for them may hold them.
        var shared = report is ChunkDone { Results.Shared: { } results } ? results : (SharedRef?)null;
        if (shared is { } s && s.Slot != work.ResultSlot)
        {
            report = new ChunkFailed(jobId, chunkIndex, work.Chunk.Start, RemoteError.From(new InvalidOperationException(
                $"The worker put the results in shared-memory slot {s.Slot}, not the one lent for them ({work.ResultSlot}).")));
            shared = null;
        }
        var live = _jobs.TryGetValue(jobId, out var current) && current == work.Job;
        Release(work, resultsRead: shared is not null);
        if (shared is not null && !live)
            _setup.Codec.Release(((ChunkDone)report).Results);
        // An ended call's aggregator is gone: the report would only be a dead letter.
        if (live)
            Report(work.Job, report);
        ChunkFinished(work.Job);
    }

    /// <summary>Passes a chunk's outcome to its call's aggregator, or settles a one-item call here.</summary>
    private void Report(Job job, object report)
    {
        if (job.Aggregator is { } aggregator)
        {
            aggregator.Tell(report);
            return;
        }
        var sink = job.Sink!;
        switch (report)
        {
            case ChunkDone done when done.Results.Length > InlineDecodeLimit:
                // Big results are decoded off this actor, which every call of the pool goes through.
                var codec = _setup.Codec;
                ThreadPool.UnsafeQueueUserWorkItem(_ => Settle(sink, codec, done), null);
                break;
            case ChunkDone done:
                Settle(sink, _setup.Codec, done);
                break;
            case ChunkFailed failed:
                sink.Fail(failed.Error.ToException());
                break;
            case ChunkLost lost:
                sink.Fail(lost.Error);
                break;
        }
    }

    private const int InlineDecodeLimit = 16 * 1024;

    private long BatchBytes => WireSerializer.BatchLimit(Settings.MaximumMessageSize);

    private static void Settle(IJobSink sink, PayloadCodec codec, ChunkDone done)
    {
        object? results;
        try
        {
            results = codec.Decode(done.Results, "the result");
        }
        catch (Exception e)
        {
            sink.Fail(e);
            return;
        }
        finally
        {
            // Its shared-memory slot (if any) is free once read, as an aggregator gives it back.
            codec.Release(done.Results);
        }
        try
        {
            sink.Accept(0, results);
            sink.Complete();
        }
        catch (Exception e)
        {
            // A user's progress callback, say: it fails the call, never this actor or the process.
            sink.Fail(e);
        }
    }

    private void OnWorkerTerminated(Terminated terminated)
    {
        if (_claimPending && terminated.ActorRef.Equals(_setup.WarmWorkers))
        {
            Self.Tell(new WarmClaimed([]), terminated.ActorRef);
            return;
        }
        if (!_workers.TryGetValue(terminated.ActorRef, out var worker) || !_launched.TryGetValue(worker.Pid, out var launched))
            return;
        // A retiring worker's actor stops before its remoting has said goodbye; killing it now
        // would make the association fail noisily. Its exit (or the retire timeout) ends it.
        if (worker.Retiring)
            return;
        // Otherwise the worker is gone as far as work goes (frozen past the failure detector, or its
        // system stopped): no more work for it, and the process goes too. Its exit, with the real
        // exit code, requeues its chunks.
        worker.Gone = true;
        launched.Process.Kill();
    }

    private void OnStartTimedOut(StartTimedOut timedOut)
    {
        if (_launched.TryGetValue(timedOut.Pid, out var launched) && launched.Worker is not { Ready: true })
        {
            _log.Warning("Worker process {0} did not get ready within {1}; killing it.", timedOut.Pid, Settings.WorkerStartTimeout);
            launched.TimedOut = true;
            launched.Process.Kill();
        }
    }

    private void OnInitializerTimedOut(InitializerTimedOut timedOut)
    {
        if (!_launched.TryGetValue(timedOut.Pid, out var launched) || launched.Worker is not { Ready: false })
            return;
        // Every worker runs the same initializer: another would hang the same way.
        Break(new TimeoutException(
            $"The pool's initializer did not finish within {Settings.InitializerTimeout} in worker process {timedOut.Pid} " +
            $"('{MultiprocSettings.InitializerTimeoutKey}'); the worker was killed."));
    }

    private void OnProcessGone(int pid, int? exitCode)
    {
        if (!_launched.Remove(pid, out var launched))
            return;
        Timers.Cancel(StartTimerKey(pid));
        Timers.Cancel(RetireTimerKey(pid));
        var wasReady = launched.Worker is { Ready: true };
        if (launched.Worker is { } worker)
        {
            _workers.Remove(worker.Ref);
            if (!worker.Retiring)
                Context.Unwatch(worker.Ref);
            Requeue(worker, exitCode);
        }
        // Killed by this pool when it broke: its successors, if any, were launched when it reopened.
        if (_state == State.Terminated || _broken is not null || launched.Discarded)
        {
            CheckAllExited();
            return;
        }
        var killedFromOutside = !wasReady && !launched.TimedOut && exitCode is SigKillExit or SigTermExit
            && ++_killedStarts < KilledStartsFactor * Settings.MaxFailedStarts;
        if (!wasReady && !killedFromOutside && ++_failedStarts >= Settings.MaxFailedStarts)
        {
            Break(new InvalidOperationException(
                $"Worker processes failed to start {_failedStarts} times in a row (last exit code {exitCode?.ToString() ?? "unknown"}); " +
                "their own output, if any, is on this process's standard error. A later call tries again."), retriable: true);
            return;
        }
        var retiring = launched.Worker is { Retiring: true };
        // A start cut short from outside is no reason to give up, but kills in a row still back off.
        if (!retiring && (_state == State.Running || _queue.Count > 0))
            LaunchReplacement(crashed: wasReady || killedFromOutside);
        Dispatch();
        CheckAllExited();
    }

    /// <summary>
    /// Replaces a worker that died. Deaths in a row (no chunk completed between them) back off
    /// exponentially, so a task that kills every worker cannot turn the pool into a respawn storm.
    /// </summary>
    private void LaunchReplacement(bool crashed)
    {
        var delay = TimeSpan.Zero;
        if (crashed && ++_crashStreak > 1)
        {
            var factor = Math.Pow(2, Math.Min(_crashStreak - 2, 16));
            delay = TimeSpan.FromTicks((long)Math.Min(Settings.RespawnBackoffMax.Ticks, Settings.RespawnBackoffMin.Ticks * factor));
        }
        _pendingLaunches++;
        if (delay <= TimeSpan.Zero)
            OnLaunchDue();
        else
            Timers.StartSingleTimer(new object(), LaunchDue.Instance, delay);
    }

    private void OnLaunchDue()
    {
        _pendingLaunches--;
        if (_state == State.Terminated || _broken is not null || (_state == State.Closing && _queue.Count == 0))
        {
            CheckAllExited();
            return;
        }
        try
        {
            Launch();
        }
        catch (Exception e)
        {
            // A launch that fails (a full process table, no dotnet host for now) may pass: retried on a later call.
            Break(e, retriable: true);
        }
    }

    private void Requeue(Worker worker, int? exitCode)
    {
        // The worker's file says which chunk was executing when it died, if any: only that one is
        // charged a try, and the chunks merely queued on the worker go back as they were. Without
        // the file (no shared-memory directory), which chunk was running is known only when the
        // worker held one: with several in flight, the result of one that finished may have died in
        // the socket with the process. So a chunk is then charged a try only when it ran alone; the
        // others are re-run alone ("suspects") until the one to blame is found, and no innocent call
        // is failed by another's poison task.
        var running = _setup.Codec.Slots?.Directory is { } directory
            ? RunningChunkFile.ReadAndDelete(directory, worker.Pid)
            : default;
        // The file is believed about the chunk it names; "nothing was running" only for a kill from
        // outside. Any other death between tasks (a task's background thread, a crash of the worker's
        // own thread, a bus error on a full /dev/shm) is blamed as without the file, so a worker that
        // dies that way every time still fails its call after max-tries rather than looping forever.
        var known = running.Known && (running.Running || exitCode is SigKillExit or SigTermExit);
        var alone = worker.InFlight.Count == 1;
        // Back to the front, in their original order, so the call they belong to is not starved.
        for (var i = worker.InFlight.Count - 1; i >= 0; i--)
        {
            var work = worker.InFlight[i];
            // Work of a stream whose consumer has gone needs no second run.
            if (!_jobs.TryGetValue(work.Job.Id, out var job) || job != work.Job)
            {
                Release(work);
                continue;
            }
            var charged = known
                ? running.Running && running.JobId == work.Job.Id && running.ChunkIndex == work.Chunk.Index
                : alone;
            if (!known)
                work.Suspect = true;
            if (!charged)
            {
                _queue.AddFirst(work);
                continue;
            }
            work.Tries++;
            if (work.Tries >= Settings.MaxTries)
            {
                Report(job, new ChunkLost(work.Chunk.Index, work.Chunk.Start,
                    new WorkerCrashedException(work.Chunk.Start, work.Tries, exitCode)));
                Release(work);
                ChunkFinished(job);
            }
            else if (work.Chunk.Count > 1)
            {
                // Retried item by item, so a poison item is found and the others succeed.
                var parts = Split(job, work);
                Release(work);
                job.Aggregator!.Tell(new ChunkSplit(work.Chunk.Index, parts.Select(p => p.Chunk).ToArray()));
                if (job.Remaining is { } remaining)
                    job.Remaining = remaining + parts.Count - 1;
                for (var p = parts.Count - 1; p >= 0; p--)
                    _queue.AddFirst(parts[p]);
            }
            else
            {
                _queue.AddFirst(work);
            }
        }
        worker.InFlight.Clear();
    }

    /// <summary>maxtasksperchild: the worker has run its last task; a fresh process takes its place.</summary>
    private void Replace(Worker worker)
    {
        RetireWorker(worker);
        if (_state != State.Running && _queue.Count == 0)
            return;
        try
        {
            Launch();
        }
        catch (Exception e)
        {
            // A launch that fails (a full process table, no dotnet host for now) may pass: retried on a later call.
            Break(e, retriable: true);
        }
    }

    private void RetireWorker(Worker worker)
    {
        // Its exit is what counts now; unwatching first spares a remote unwatch to a process that is gone.
        Context.Unwatch(worker.Ref);
        worker.Retiring = true;
        worker.Ref.Tell(Retire.Instance);
        Timers.StartSingleTimer(RetireTimerKey(worker.Pid), new RetireTimedOut(worker.Pid), Settings.RetireTimeout);
    }

    /// <summary>
    /// Whether a worker leaving this pool idle goes to the context's warm workers: only with no
    /// initializer and no task quota, so it carries no state or count of this pool's into the next.
    /// </summary>
    private bool KeepsWarm(Worker worker) =>
        _setup.WarmWorkers is not null && _setup.Initializer is null && _setup.MaxTasksPerChild is null && !worker.Gone;

    private void HandOverWarm(Worker worker, Launched launched)
    {
        var warm = _setup.WarmWorkers!;
        Context.Unwatch(worker.Ref);
        Timers.Cancel(StartTimerKey(worker.Pid));
        _workers.Remove(worker.Ref);
        _launched.Remove(worker.Pid);
        // KeepWarm first: the warm workers must know it before its registration reaches them.
        warm.Tell(new KeepWarm(new WarmWorker(worker.Pid, worker.Ref, launched.Process)));
        worker.Ref.Tell(new Transfer(warm));
    }

    private List<Work> Split(Job job, Work work)
    {
        var items = (Array)_setup.Codec.Decode(work.Chunk.Items)!;
        var parts = new List<Work>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            var one = Array.CreateInstance(items.GetType().GetElementType()!, 1);
            one.SetValue(items.GetValue(i), 0);
            var start = work.Chunk.Start + i;
            var chunk = new ChunkSpec(job.NextPartIndex++, start, 1,
                _setup.Codec.EncodeChunk(one, $"the argument at index {start}", _setup.Codec.MaximumMessageSize));
            parts.Add(new Work(job, chunk) { Tries = work.Tries, Suspect = true });
        }
        return parts;
    }

    private void OnClose()
    {
        if (_state != State.Running)
            return;
        _state = State.Closing;
        RetireIdleWorkers();
        CheckAllExited();
    }

    private void OnTerminate()
    {
        if (_state == State.Terminated)
            return;
        _state = State.Terminated;
        // Idle workers have nothing to stop: they may serve the context's next pool.
        foreach (var launched in _launched.Values.ToArray())
        {
            if (launched.Worker is { Ready: true, Retiring: false, InFlight.Count: 0 } worker && KeepsWarm(worker))
                HandOverWarm(worker, launched);
        }
        AbortAll(Terminated());
        foreach (var launched in _launched.Values)
            launched.Process.Kill();
        CheckAllExited();
    }

    /// <summary>Fails every call, pending and later, with <paramref name="error"/>, and kills the workers.</summary>
    /// <param name="error">Why.</param>
    /// <param name="retriable">
    /// Workers could not start, which may pass: a call after the back-off tries again (<see cref="Reopen"/>).
    /// Otherwise (the initializer threw or hung) every later call fails the same way.
    /// </param>
    private void Break(Exception error, bool retriable = false)
    {
        _broken = error;
        _reopenAt = null;
        if (retriable)
        {
            var factor = Math.Pow(2, Math.Min(_breaks++, 16));
            var delay = Math.Min(Settings.RespawnBackoffMax.Ticks, Settings.RespawnBackoffMin.Ticks * factor);
            _reopenAt = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(delay * System.Diagnostics.Stopwatch.Frequency / TimeSpan.TicksPerSecond);
        }
        // Killed before the calls fail: a caller told that the workers were killed finds them so.
        foreach (var launched in _launched.Values)
        {
            launched.Discarded = true;
            launched.Process.Kill();
        }
        AbortAll(error);
        CheckAllExited();
    }

    private void AbortAll(Exception error)
    {
        // Failed here, not through the aggregators: they may be stopping with this actor and never read a message.
        foreach (var job in _jobs.Values)
        {
            job.Abort(error);
            if (job.Aggregator is not null)
                Context.Stop(job.Aggregator);
        }
        _jobs.Clear();
        // What is in flight may still be read or written by its worker: its slots go with the pool's directory.
        foreach (var work in _queue)
            Release(work);
        _queue.Clear();
        foreach (var worker in _workers.Values)
            worker.InFlight.Clear();
    }

    private void Dispatch()
    {
        DispatchQueued();
        foreach (var (worker, outgoing) in _outgoing)
        {
            outgoing.SendTo(worker.Ref);
            worker.Filling = false;
        }
        _outgoing.Clear();
    }

    private void DispatchQueued()
    {
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            var work = node.Value;
            var target = work.Suspect ? IdleWorker() : LeastLoadedWorker();
            if (target is null)
            {
                // Suspects wait for an idle worker; ordinary work behind them may still fit somewhere.
                if (work.Suspect)
                {
                    node = next;
                    continue;
                }
                return;
            }
            _queue.Remove(node);
            Send(target, work);
            node = next;
        }
    }

    private bool CanTakeWork(Worker worker) =>
        worker.Ready && !worker.Retiring && !worker.Gone && !worker.QuotaUsed(_setup.MaxTasksPerChild)
        && !worker.InFlight.Exists(w => w.Suspect);

    private Worker? LeastLoadedWorker()
    {
        Worker? target = null;
        foreach (var worker in _workers.Values)
        {
            if (CanTakeWork(worker) && HasRoom(worker)
                && (target is null || worker.InFlight.Count < target.InFlight.Count))
                target = worker;
        }
        return target;
    }

    /// <summary>
    /// Whether <paramref name="worker"/> takes another chunk in this dispatch pass. A worker topped up
    /// whenever one chunk reported would get one chunk per message each way; instead it is refilled
    /// once half its prefetch has drained, and then to the full prefetch in one message. It still
    /// holds half its prefetch meanwhile, so it never waits for work. (For the plain prefetch of 2,
    /// this is the same as any room at all.)
    /// </summary>
    private bool HasRoom(Worker worker)
    {
        var prefetch = PrefetchOf(worker);
        return worker.InFlight.Count < prefetch && (worker.Filling || worker.InFlight.Count <= prefetch / 2);
    }

    /// <summary>
    /// How many chunks a worker may hold. Deeper for fast tasks, but never more than its fair share
    /// of what is queued (counting workers still starting), so the tail of a call, or a worker that
    /// is not ready yet, is not left without work while another sits on a long queue of its own.
    /// </summary>
    private int PrefetchOf(Worker worker)
    {
        if (!worker.RunsFastTasks || Settings.FastTaskPrefetch <= Settings.Prefetch)
            return Settings.Prefetch;
        var workers = Math.Max(1, _launched.Count);
        var fairShare = (_queue.Count + workers - 1) / workers;
        return Math.Clamp(fairShare, Settings.Prefetch, Settings.FastTaskPrefetch);
    }

    private Worker? IdleWorker()
    {
        foreach (var worker in _workers.Values)
        {
            if (CanTakeWork(worker) && worker.InFlight.Count == 0)
                return worker;
        }
        return null;
    }

    private void Send(Worker target, Work work)
    {
        var job = work.Job;
        // The function goes with a worker's first chunk of a job, unless the worker has it from an
        // earlier call: a small Apply's function (type names, ~600 bytes) outweighs its argument.
        var function = target.KnownJobs.Add(job.Id) && (job.Function.Id == 0 || target.KnownFunctions.Add(job.Function.Id)) ? job.Function.Payload : null;
        var forget = target.Forget.Count == 0 ? Array.Empty<long>() : target.Forget.ToArray();
        target.Forget.Clear();
        target.InFlight.Add(work);
        target.Filling = true;
        target.Handed++;
        // Kept across re-runs, like the arguments' slot: a worker that died with it can no longer write there.
        if (work.ResultSlot < 0 && _setup.Codec.Slots is { } slots)
            work.ResultSlot = slots.Rent();
        var run = new RunChunk(job.Id, work.Chunk.Index, work.Chunk.Start, function, work.Chunk.Items, forget, work.ResultSlot, job.Function.Id);
        var size = WireSerializer.WireSize(run.Items) + (function?.Length ?? 0);
        if (!_outgoing.TryGetValue(target, out var outgoing))
            _outgoing[target] = outgoing = new Outgoing();
        else if (outgoing.Bytes + size > BatchBytes)
            // Batching must never make a message bigger than one chunk may be.
            outgoing.SendTo(target.Ref);
        outgoing.Add(run, size);
    }

    /// <summary>
    /// Gives a chunk's shared-memory slots back: only once no worker holds the chunk (it reported, or
    /// its worker has exited), since a slot lent again must not be written by anyone else.
    /// </summary>
    /// <param name="work">The chunk.</param>
    /// <param name="resultsRead">Its results are in the slot lent for them, which whoever reads them gives back.</param>
    private void Release(Work work, bool resultsRead = false)
    {
        // Once only: a slot given back twice would be lent to two chunks at once.
        if (work.Released)
            return;
        work.Released = true;
        _setup.Codec.Release(work.Chunk.Items);
        if (!resultsRead)
            _setup.Codec.Slots?.Return(work.ResultSlot);
    }

    private void ChunkFinished(Job job)
    {
        // A stream's end is its consumer's to say (EndStream), not a count's.
        if (job.Remaining is null || --job.Remaining > 0)
            return;
        _jobs.Remove(job.Id);
        Forget(job);
    }

    private void Forget(Job job)
    {
        foreach (var worker in _workers.Values)
        {
            if (worker.KnownJobs.Remove(job.Id))
                worker.Forget.Add(job.Id);
        }
    }

    private void RetireIdleWorkers()
    {
        if (_state != State.Closing || _queue.Count > 0)
            return;
        var handedOver = false;
        foreach (var launched in _launched.Values.ToArray())
        {
            switch (launched.Worker)
            {
                case null when launched.Warm && _setup.WarmWorkers is not null:
                    // A warm worker on its way here: started already, so it is handed back once it is ready.
                    break;
                case null:
                    // Never registered and nothing left to do: no need to wait for it to start.
                    launched.Process.Kill();
                    break;
                case { Ready: true, Retiring: false, InFlight.Count: 0 } worker when KeepsWarm(worker):
                    HandOverWarm(worker, launched);
                    handedOver = true;
                    break;
                case { Ready: true, Retiring: false, InFlight.Count: 0 } worker:
                    RetireWorker(worker);
                    break;
            }
        }
        // No exit will come for those: the pool may be done now.
        if (handedOver)
            CheckAllExited();
    }

    private void CheckAllExited()
    {
        // A broken pool that is still open may launch workers again: it is over only once closed.
        if (_launched.Count > 0 || _pendingLaunches > 0 || _state == State.Running)
            return;
        _setup.AllExited.TrySetResult();
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        // Stopped from outside (context disposed) or done: nothing may outlive the pool.
        AbortAll(Terminated());
        foreach (var launched in _launched.Values)
            launched.Process.Kill();
        foreach (var launched in _launched.Values)
            launched.Process.WaitForExit(Settings.RetireTimeout);
        _launched.Clear();
        // The workers are gone and the aggregators stopped: no one reads or writes a slot any more.
        _setup.Codec.Slots?.Dispose();
        _setup.AllExited.TrySetResult();
    }

    private static PoolTerminatedException Terminated() => new("The pool was terminated before this work completed.");

    private static string StartTimerKey(int pid) => $"start-{pid}";

    // What a process killed by SIGKILL or SIGTERM exits with (128 + the signal).
    private const int SigKillExit = 137;
    private const int SigTermExit = 143;

    /// <summary>A registered worker's initializer has run for <c>multiproc.pool.initializer-timeout</c>.</summary>
    private sealed record InitializerTimedOut(int Pid) : ILocalOnly;

    private static string RetireTimerKey(int pid) => $"retire-{pid}";

    private sealed class Launched(IWorkerProcess process)
    {
        public IWorkerProcess Process { get; } = process;

        /// <summary>Taken from the context's warm workers rather than launched.</summary>
        public bool Warm { get; init; }

        public Worker? Worker { get; set; }

        /// <summary>Killed by this pool because it did not get ready in time: a failed start.</summary>
        public bool TimedOut { get; set; }

        /// <summary>Killed by this pool when it broke: its exit says nothing about starting workers.</summary>
        public bool Discarded { get; set; }
    }

    private sealed class Worker(int pid, IActorRef actor)
    {
        public int Pid { get; } = pid;
        public IActorRef Ref { get; } = actor;
        public bool Ready { get; set; }
        public bool Retiring { get; set; }

        /// <summary>DeathWatch says it is gone; its process is being killed.</summary>
        public bool Gone { get; set; }

        public List<Work> InFlight { get; } = [];

        /// <summary>Being sent chunks in the current dispatch pass: it may be filled to its prefetch.</summary>
        public bool Filling { get; set; }

        public int Handed { get; set; }
        public HashSet<long> KnownJobs { get; } = [];

        /// <summary>Ids of the functions this worker has been sent (it keeps them while it serves this pool).</summary>
        public HashSet<int> KnownFunctions { get; } = [];
        public List<long> Forget { get; } = [];

        public bool QuotaUsed(int? maxTasks) => maxTasks is { } max && Handed >= max;

        /// <summary>Whether its recent chunks each took less than the fast-task threshold.</summary>
        public bool RunsFastTasks { get; private set; }

        private long _lastReport;
        private double _serviceTicks = double.MaxValue;

        /// <summary>
        /// Called as a chunk reports, before it leaves <see cref="InFlight"/>. While the worker had
        /// more queued behind it, the time since its previous report is one chunk's service time;
        /// a moving average of those decides how deep its pipeline may be.
        /// </summary>
        public void TimeReport(TimeSpan fastThreshold)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (InFlight.Count > 1 && _lastReport != 0)
            {
                var sample = (double)System.Diagnostics.Stopwatch.GetElapsedTime(_lastReport, now).Ticks;
                _serviceTicks = _serviceTicks == double.MaxValue ? sample : 0.8 * _serviceTicks + 0.2 * sample;
                RunsFastTasks = _serviceTicks < fastThreshold.Ticks;
            }
            _lastReport = now;
        }
    }

    private sealed class Job(long id, EncodedFunction function, IActorRef? aggregator, Action<Exception> abort, int? remaining)
    {
        public long Id { get; } = id;

        /// <summary>The function, and its id in this context: a worker that has that id is sent only the id.</summary>
        public EncodedFunction Function { get; } = function;

        /// <summary>The call's aggregator; null for a one-item call, settled by the pool itself through <see cref="Sink"/>.</summary>
        public IActorRef? Aggregator { get; } = aggregator;

        public IJobSink? Sink { get; init; }

        public Action<Exception> Abort { get; } = abort;

        /// <summary>Chunks not yet finished; null for a stream, whose length is not known.</summary>
        public int? Remaining { get; set; } = remaining;

        /// <summary>The index of the next one-item part of a split chunk: far above any index the caller gives.</summary>
        public int NextPartIndex { get; set; } = 1 << 30;
    }

    /// <summary>The chunks for one worker in one dispatch pass.</summary>
    private sealed class Outgoing
    {
        private readonly List<RunChunk> _chunks = [];

        public long Bytes { get; private set; }

        public void Add(RunChunk chunk, long size)
        {
            _chunks.Add(chunk);
            Bytes += size;
        }

        public void SendTo(IActorRef worker)
        {
            if (_chunks.Count > 0)
                worker.Tell(_chunks.Count == 1 ? _chunks[0] : new RunChunks(_chunks.ToArray()));
            _chunks.Clear();
            Bytes = 0;
        }
    }

    private sealed class Work(Job job, ChunkSpec chunk)
    {
        public Job Job { get; } = job;
        public ChunkSpec Chunk { get; } = chunk;
        public int Tries { get; set; }

        /// <summary>The shared-memory slot lent for its results, from its first hand-out until it is over.</summary>
        public int ResultSlot { get; set; } = SharedSlots.None;

        /// <summary>Its shared-memory slots have been given back.</summary>
        public bool Released { get; set; }

        /// <summary>Was in flight on a worker that died: runs alone on a worker, so a crash can be blamed on it.</summary>
        public bool Suspect { get; set; }
    }
}
