using System.Collections.Concurrent;
using System.Diagnostics;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Worker;
using OsProcess = System.Diagnostics.Process;

namespace Multiproc.Actors.Launching;

/// <summary>
/// Starts worker processes the way Microsoft.DotNet.RemoteExecutor starts its children:
/// <c>dotnet exec --runtimeconfig … --depsfile … Multiproc.Actors.dll Multiproc.Actors.Worker</c>
/// with the caller's own runtimeconfig and deps files. Keeps every child's stdin open: a child
/// exits when it reads EOF there, so none outlives this process.
/// </summary>
internal sealed class ProcessLauncher : IWorkerLauncher
{
    private readonly Lazy<HostPaths> _paths = new(HostPaths.Discover);
    // Built once the context's transport key exists: it is made while the first workers start.
    private readonly Task<WorkerHandshake> _handshake;
    private readonly ConcurrentDictionary<int, Tracked> _running = new();
    // Workers started ahead of their pool, waiting (their actor system starting or started) for the
    // path of the pool actor they will register with.
    private readonly ConcurrentQueue<Tracked> _prestarted = new();
    private int _undisposed;

    /// <param name="token">The context's secret a worker registers with.</param>
    /// <param name="key">The context's transport key (null: the context runs in a user's system, which has none of ours); may still be in the making.</param>
    /// <param name="workerConfig">The HOCON a worker's system starts with.</param>
    public ProcessLauncher(string token, Task<TransportKey>? key, string workerConfig)
    {
        _handshake = key is null
            ? Task.FromResult(new WorkerHandshake(token, "", "", workerConfig))
            : key.ContinueWith(
                made => new WorkerHandshake(token, Convert.ToBase64String(made.Result.Pfx), "", workerConfig),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private WorkerHandshake Handshake => _handshake.GetAwaiter().GetResult();

    /// <summary>Processes started whose <see cref="OsProcess"/> (and stdin pipe) is not released yet (for tests).</summary>
    internal int Undisposed => Volatile.Read(ref _undisposed);

    /// <inheritdoc />
    public IWorkerProcess Launch(string parentPath, Action<int, int?> onExit)
    {
        while (_prestarted.TryDequeue(out var early))
        {
            // Told where to report first: an exit from here on reaches the pool. One that has already
            // happened was reported to no one, so that process is passed over (a late report of it
            // names a pid the pool does not know, which it ignores).
            early.OnExit = onExit;
            // Its start (token, key, config) is written first: it may have waited for the key.
            early.Started.GetAwaiter().GetResult();
            if (!early.HasExited && early.Send(WorkerHandshake.EncodeParent(parentPath)))
                return new Handle(early);
        }
        var tracked = Start(WorkerProgram.Marker);
        tracked.OnExit = onExit;
        tracked.Launch((Handshake with { ParentPath = parentPath }).Encode());
        return new Handle(tracked);
    }

    /// <summary>
    /// Starts <paramref name="count"/> workers before the pool that will take them exists: each starts
    /// its runtime and actor system while this process starts its own (on a machine with a core to
    /// spare, the two starts overlap instead of following each other), then waits for the pool's
    /// path, which <see cref="Launch"/> sends. Until then they are ended like any worker of this
    /// launcher (<see cref="KillAll"/>, or their stdin closing with this process). A process starts
    /// at once; its start line goes as soon as the transport key is made, which overlaps the runtime's
    /// own start in the new process.
    /// </summary>
    public void Prestart(int count)
    {
        try
        {
            for (var i = 0; i < count; i++)
            {
                var tracked = Start(WorkerProgram.Marker);
                tracked.Launch("");
                tracked.Started = _handshake.ContinueWith(
                    made => tracked.Send(made.Result.EncodeStart()),
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                _prestarted.Enqueue(tracked);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only a head start: what keeps a worker from starting (no dotnet host, a single-file app)
            // fails the pool's own launch, where its caller sees it, not the context's creation.
        }
    }

    /// <summary>Starts a child process that runs one target (<see cref="ChildProgram"/>) instead of pool work.</summary>
    public IChildHandle LaunchChild(ChildStart child)
    {
        var tracked = Start(WorkerProgram.Marker, ChildProgram.Mode);
        tracked.Launch((Handshake with { ParentPath = "" }).Encode() + child.Encode());
        return new ChildHandle(tracked);
    }

    private Tracked Start(params string[] mode)
    {
        return new Tracked(new OsProcess { StartInfo = StartInfo(mode), EnableRaisingEvents = true }, this);
    }

    private ProcessStartInfo StartInfo(params string[] mode)
    {
        var paths = _paths.Value;
        var start = new ProcessStartInfo(paths.Dotnet)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            // Output is inherited: what a task prints appears in the caller's own output, as with Python.
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        foreach (var argument in new[]
                 {
                     "exec", "--runtimeconfig", paths.RuntimeConfig, "--depsfile", paths.DepsFile,
                     paths.LibraryAssembly,
                 }.Concat(mode))
            start.ArgumentList.Add(argument);
        // A worker is small and short of cores: workstation GC, no server GC heaps per core.
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_GCgen0size"] = "0x400000";
        // A worker gets a fresh array for every large argument it receives and drops it a moment
        // later. On the large object heap each one would soon cost a gen2 collection and fresh
        // pages (~6x the copy into it, measured for 1 MiB); in gen0 it dies young for almost
        // nothing. The GC caps this at its region size (4 MiB); larger arrays stay on the LOH.
        start.Environment["DOTNET_GCLOHThreshold"] = "0x400000";
        // W^X maps every page of jitted code twice (a memfd "doublemapper", ~13 MiB of a worker's
        // RSS) and slows the JIT that dominates a worker's start-up.
        start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        // The JIT keeps up to 16 MiB of freed scratch memory for its next compilations, and a worker's
        // start-up leaves 8-9 MiB of it resident for good; without the cache it goes back to malloc
        // (which serves these 64 KiB blocks from its free lists as fast: no start-up or speed cost
        // measured) and QuietTrim returns it to the system.
        start.Environment["DOTNET_JitHostMaxSlabCache"] = "0";
        return start;
    }

    /// <summary>Kills every worker this launcher started that is still running, and waits (bounded) for them to go.</summary>
    public void KillAll(TimeSpan wait)
    {
        var processes = _running.Values.ToArray();
        foreach (var process in processes)
            process.Kill();
        var deadline = Stopwatch.StartNew();
        foreach (var process in processes)
        {
            var left = wait - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                break;
            process.WaitForExit(left);
        }
    }

    /// <summary>
    /// One started process. Once its exit is reported, its exit code is kept and the <see cref="OsProcess"/>
    /// is disposed with its stdin pipe, so a long-running service does not run out of file descriptors;
    /// every member stays safe to call after that.
    /// </summary>
    private sealed class Tracked(OsProcess process, ProcessLauncher launcher)
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _released;
        private int? _exitCode;

        public int Pid { get; private set; }

        /// <summary>Done once the start of the handshake is written (a prestarted worker's waits for the key).</summary>
        public Task Started { get; set; } = Task.CompletedTask;

        private Action<int, int?>? _onExit;

        public Action<int, int?>? OnExit
        {
            get => Volatile.Read(ref _onExit);
            set => Volatile.Write(ref _onExit, value);
        }

        public int? ReportedExitCode
        {
            get
            {
                lock (_gate)
                    return _exitCode;
            }
        }

        public bool HasExited
        {
            get
            {
                lock (_gate)
                    return _released || process.HasExited;
            }
        }

        public int ExitCode
        {
            get
            {
                lock (_gate)
                    return _released ? _exitCode ?? throw new InvalidOperationException("The exit code was not available.") : process.ExitCode;
            }
        }

        public void Launch(string stdin)
        {
            process.Exited += (_, _) => Release();
            // Under the lock, so that the exit (which may come at any moment) is released only after this.
            lock (_gate)
            {
                process.Start();
                Interlocked.Increment(ref launcher._undisposed);
                Pid = process.Id;
                launcher._running[Pid] = this;
                try
                {
                    // The token travels on stdin, never in argv where `ps` shows it to every user.
                    process.StandardInput.Write(stdin);
                    process.StandardInput.Flush();
                }
                catch (IOException)
                {
                    // The process died before reading its start (its runtime failed to load): its exit code says so.
                }
            }
        }

        /// <summary>Writes more of the handshake; false when the process is gone.</summary>
        public bool Send(string stdin)
        {
            lock (_gate)
            {
                if (_released)
                    return false;
                try
                {
                    process.StandardInput.Write(stdin);
                    process.StandardInput.Flush();
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            }
        }

        public bool WaitForExit(TimeSpan? timeout)
        {
            if (timeout is { } limit && limit != Timeout.InfiniteTimeSpan)
                return _exited.Task.Wait(limit);
            _exited.Task.Wait();
            return true;
        }

        public void Signal(int signal)
        {
            lock (_gate)
            {
                // Never after the exit was reported: the pid may belong to another process by then.
                if (!_released && !process.HasExited)
                    PosixSignals.Send(Pid, signal);
            }
        }

        public void Kill()
        {
            lock (_gate)
            {
                if (_released)
                    return;
                try
                {
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                    // Already exited: nothing left to kill.
                }
            }
        }

        private void Release()
        {
            int? code = null;
            lock (_gate)
            {
                if (_released)
                    return;
                try
                {
                    code = process.ExitCode;
                }
                catch (InvalidOperationException)
                {
                    // The exit code is gone when the process was reaped elsewhere; the exit itself is what matters.
                }
                _exitCode = code;
                _released = true;
                try
                {
                    // Dispose leaves a stdin stream the caller has touched open: close it first.
                    process.StandardInput.Dispose();
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    // The pipe's other end is gone with the process.
                }
                process.Dispose();
                Interlocked.Decrement(ref launcher._undisposed);
            }
            launcher._running.TryRemove(Pid, out _);
            _exited.TrySetResult();
            OnExit?.Invoke(Pid, code);
        }
    }

    private sealed class ChildHandle(Tracked process) : IChildHandle
    {
        public int Pid => process.Pid;

        public bool HasExited => process.HasExited;

        public int ExitCode => process.ExitCode;

        public bool WaitForExit(TimeSpan? timeout) => process.WaitForExit(timeout);

        public void Terminate() => process.Signal(PosixSignals.SigTerm);

        public void Kill() => process.Kill();
    }

    private sealed class Handle(Tracked process) : IWorkerProcess
    {
        public int Pid => process.Pid;

        public void Kill() => process.Kill();

        public bool WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

        public void ReportExitTo(Action<int, int?> onExit)
        {
            process.OnExit = onExit;
            // The exit may have been reported, to the previous receiver, just before.
            if (process.HasExited)
                onExit(process.Pid, process.ReportedExitCode);
        }
    }
}
