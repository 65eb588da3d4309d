using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using Akka.Remote.Transport.DotNetty;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Launching;
using Multiproc.Actors.Serialization;
using Multiproc.Actors.Worker;

namespace Multiproc.Actors;

/// <summary>
/// The runtime behind pools, queues and child processes: the caller-side <see cref="ActorSystem"/>
/// (Akka.Remote on 127.0.0.1, port 0 unless configured) and the launcher of worker processes.
/// </summary>
/// <remarks>
/// Python: <c>multiprocessing.get_context()</c>. <see cref="Default"/> serves <c>new ProcessPool(...)</c>
/// and lives until the process exits; a context from <see cref="Create(Config?)"/> ends its actor
/// system and every worker it started when disposed; one from <see cref="Create(ActorSystem)"/>
/// ends its workers but never a system it does not own. Either way, disposing terminates its daemon
/// child processes and joins the others for a bounded time (<c>multiproc.process.join-on-exit-timeout</c>),
/// as Python does at exit, then terminates those still running.
/// </remarks>
public sealed class MultiprocContext : IDisposable, IAsyncDisposable
{
    private static readonly Lazy<MultiprocContext> DefaultContext = new(CreateDefault);
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(10);

    // Paths of the caller's configuration a worker needs to read the same payloads and limits.
    private static readonly string[] WorkerConfigPaths =
    [
        "multiproc",
        "akka.loglevel",
        "akka.stdout-loglevel",
        "akka.actor.serializers",
        "akka.actor.serialization-bindings",
        "akka.actor.serialization-identifiers",
        "akka.actor.serialization-settings",
        "akka.remote.dot-netty.tcp.maximum-frame-size",
        // A user's own system with TLS from its configuration: its workers use the same certificate.
        "akka.remote.dot-netty.tcp.enable-ssl",
        "akka.remote.dot-netty.tcp.ssl",
        "akka.scheduler.tick-duration",
    ];

    // Akka.Remote sometimes reports a worker that left cleanly (Retire) as a failed association, with
    // a WARNING and an ERROR carrying stack traces: its disassociate message races the socket's close.
    // A worker's comings and goings are the pool's business (it watches the process itself), so the
    // lifecycle chatter about worker systems is dropped from systems this library creates.
    private static readonly LogFilterSetup WorkerLifecycleLogFilter = new LogFilterBuilder()
        .ExcludeSourceRegex(new Regex(@"/system/endpointManager/reliableEndpointWriter-akka(\.ssl)?\.tcp%3A%2F%2Fmultiproc-worker%40"))
        .ExcludeMessageRegex(new Regex(@"Tried to associate with unreachable remote address \[akka(\.ssl)?\.tcp://multiproc-worker@"))
        .Add(StrangerLogFilter.Instance)
        .Build();

    private readonly bool _ownsSystem;
    private readonly ProcessLauncher _launcher;
    private readonly ConcurrentDictionary<ProcessPool, byte> _pools = new();
    private readonly ConcurrentDictionary<ChildProcess, byte> _children = new();
    private readonly ConcurrentDictionary<IActorRef, byte> _queues = new();
    private readonly ChildProcessSettings _childSettings;
    private readonly QueueSetup _queueSetup;
    private readonly SharedMemoryArea? _sharedMemory;
    private int _disposed;
    private int _childrenStarting;

    private MultiprocContext(ActorSystem system, bool ownsSystem, (string Token, ProcessLauncher Launcher)? launcher = null)
    {
        System = system;
        _ownsSystem = ownsSystem;
        // A system the user brought may lack the library's keys (its dispatcher above all).
        system.Settings.InjectTopLevelFallback(MultiprocConfig.Default);
        var config = system.Settings.Config;
        Settings = MultiprocSettings.Create(config).WithFrameSize(MultiprocConfig.FrameSize(config));
        Codec = new PayloadCodec(system, Settings.MaximumMessageSize);
        Functions = new FunctionCache(Codec);
        _childSettings = ChildProcessSettings.Create(config);
        _queueSetup = new QueueSetup("", Settings.MaximumMessageSize, QueueSettings.Create(config).DedupeRetention);
        (Token, _launcher) = launcher ?? NewLauncher(config, key: null);
        if (Settings.WarmWorkersMax > 0)
            WarmWorkers = system.ActorOf(WarmWorkersActor.Props(Token, Settings).WithDispatcher(ProcessPool.MultiprocDispatcher),
                Names.ForActor("warm-workers"));
        _sharedMemory = SharedMemoryArea.Create(Settings.SharedMemoryDirectory, Settings.SharedMemoryThreshold, Settings.SharedMemoryRetain);
    }

    /// <summary>The process-wide context, started on first use; used by constructors not given one.</summary>
    public static MultiprocContext Default => DefaultContext.Value;

    /// <summary>The embedded reference configuration (hocon/multiproc.conf): merge it as the fallback of your own.</summary>
    public static Config DefaultConfig => MultiprocConfig.Default;

    /// <summary>The caller-side actor system.</summary>
    public ActorSystem System { get; }

    internal MultiprocSettings Settings { get; }

    internal PayloadCodec Codec { get; }

    internal FunctionCache Functions { get; }

    /// <summary>The per-context secret a worker presents to register; travels on stdin only.</summary>
    internal string Token { get; }

    internal IWorkerLauncher Launcher => _launcher;

    /// <summary>The actor keeping idle workers for the next pool (<c>multiproc.warm-workers</c>); null when none are kept.</summary>
    internal IActorRef? WarmWorkers { get; }

    /// <summary>This context's shared-memory directory, for pools' large payloads; null when they all use the socket.</summary>
    internal SharedMemoryArea? SharedMemory => _sharedMemory;

    /// <summary>Creates a context with its own actor system, configured by <paramref name="config"/> over <see cref="DefaultConfig"/>.</summary>
    /// <param name="config">Overrides; <c>null</c> for the defaults.</param>
    public static MultiprocContext Create(Config? config = null) => Create(config, prestart: 0);

    /// <summary>Creates a context whose launcher starts <paramref name="prestart"/> workers for its first pool while its actor system starts.</summary>
    internal static MultiprocContext Create(Config? config, int prestart)
    {
        // Made on another core while this one reads the configuration and starts the first workers.
        var key = TransportKey.ForProcess();
        var owned = MultiprocConfig.ForOwnedSystem(config);
        // The workers' part of the configuration is all in `owned` (the rest is Akka's reference, which
        // every system has): known before this system starts, so workers can start alongside it.
        var launcher = NewLauncher(owned, key);
        launcher.Launcher.Prestart(prestart);
        try
        {
            var system = MultiprocConfig.StartSystem("multiproc", owned, key.GetAwaiter().GetResult(), WorkerLifecycleLogFilter);
            return new MultiprocContext(system, ownsSystem: true, launcher);
        }
        catch
        {
            launcher.Launcher.KillAll(TimeSpan.Zero);
            throw;
        }
    }

    private static (string Token, ProcessLauncher Launcher) NewLauncher(Config config, Task<TransportKey>? key)
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        return (token, new ProcessLauncher(token, key, HoconWriter.Write(config, WorkerConfigPaths)));
    }

    /// <summary>
    /// <see cref="Default"/>, for a pool of <paramref name="workers"/>: if this creates it, that many
    /// workers start while its actor system does (<see cref="ProcessLauncher.Prestart"/>), and the pool
    /// takes them. A fresh process's first pool is then ready in about the time of the slower of the
    /// two starts rather than their sum.
    /// </summary>
    internal static MultiprocContext DefaultFor(int workers)
    {
        if (!DefaultContext.IsValueCreated)
            Interlocked.CompareExchange(ref _defaultPrestart, workers, 0);
        return DefaultContext.Value;
    }

    private static int _defaultPrestart;

    /// <summary>Creates a context inside an existing actor system, which must have remoting enabled.</summary>
    /// <param name="system">The system; merge <see cref="DefaultConfig"/> as its configuration's fallback to get the library's serializer bindings and frame size.</param>
    /// <remarks>
    /// The library cannot add TLS to a system that is already running, so such a context is only as
    /// closed as the system's own transport: with <c>akka.remote.dot-netty.tcp.enable-ssl = off</c> (Akka's
    /// default) any local process that finds the port can send it messages, as to any Akka.Remote
    /// system. With TLS on and the certificate in the configuration (<c>akka.remote.dot-netty.tcp.ssl</c>),
    /// the workers get the same settings and certificate. <see cref="Create(Config?)"/> makes a system
    /// that accepts only its own processes.
    /// </remarks>
    /// <exception cref="ArgumentException">The system has no remoting, or TLS whose certificate its workers cannot get (a <see cref="DotNettySslSetup"/> in code).</exception>
    public static MultiprocContext Create(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (((ExtendedActorSystem)system).Provider is not IRemoteActorRefProvider)
            throw new ArgumentException(
                "The actor system has no remoting: set akka.actor.provider = remote (or cluster), or use MultiprocContext.Create(config).",
                nameof(system));
        if (system.Settings.Config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false)
            && system.Settings.Setup.Get<DotNettySslSetup>().HasValue)
            throw new ArgumentException(
                "The actor system's TLS certificate was given in code (DotNettySslSetup), which its worker processes cannot get: "
                + "set it in akka.remote.dot-netty.tcp.ssl instead, or use MultiprocContext.Create(config), whose processes use a key of their own.",
                nameof(system));
        return new MultiprocContext(system, ownsSystem: false);
    }

    /// <summary>Creates a pool of worker processes in this context.</summary>
    /// <inheritdoc cref="ProcessPool(int?, Delegate?, object?[], int?, MultiprocContext?)" path="/param"/>
    public ProcessPool Pool(int? processes = null, Delegate? initializer = null, object?[]? initargs = null, int? maxtasksperchild = null) =>
        new(processes, initializer, initargs, maxtasksperchild, this);

    /// <summary>Creates a queue shared with the worker and child processes of this context.</summary>
    /// <remarks>Python: <c>multiprocessing.SimpleQueue()</c> (<c>ctx.SimpleQueue()</c>).</remarks>
    /// <typeparam name="T">The item type.</typeparam>
    public SimpleQueue<T> SimpleQueue<T>() => new(this);

    /// <summary>Creates (but does not start) a child process that will run <paramref name="target"/> in this context.</summary>
    /// <remarks>Python: <c>multiprocessing.Process(target=..., args=..., name=..., daemon=...)</c> (<c>ctx.Process(...)</c>).</remarks>
    /// <inheritdoc cref="ChildProcess(Delegate, object?[], string?, bool?, MultiprocContext?)" path="/param"/>
    public ChildProcess Process(Delegate target, object?[]? args = null, string? name = null, bool? daemon = null) =>
        new(target, args, name, daemon, this);

    /// <summary>
    /// True once this process has begun to exit at once (SIGTERM in a child, its parent gone): contexts
    /// disposed from then on only kill their children and workers, and wait for nothing.
    /// </summary>
    internal static bool ExitingAbruptly => Volatile.Read(ref _exitingAbruptly) != 0;

    private static int _exitingAbruptly;

    /// <summary>Marks this process as exiting abruptly; call it just before such an <see cref="Environment.Exit"/>.</summary>
    internal static void BeginAbruptExit() => Volatile.Write(ref _exitingAbruptly, 1);

    /// <summary>The children of this context being tracked (for tests): those that have exited are dropped as others start.</summary>
    internal int TrackedChildren => _children.Count;

    /// <summary>Starts the actor of a new queue; it lives as long as this context (after Close, as an empty tombstone).</summary>
    internal IActorRef CreateQueueActor()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var props = QueueActor.Props(_queueSetup with { Token = Token }).WithDispatcher(ProcessPool.MultiprocDispatcher);
        // Random, not numbered: an actor's name is half of what a forged message needs (see Names).
        var queue = System.ActorOf(props, Names.ForActor("queue"));
        _queues[queue] = 0;
        return queue;
    }

    /// <summary>Launches the process of a child that is starting; after (or during) <see cref="Dispose"/>, refuses.</summary>
    internal IChildHandle StartChild(ChildProcess child, ChildStart start)
    {
        // Counted before the check: Dispose waits for the starts it did not stop to be tracked, then ends them.
        Interlocked.Increment(ref _childrenStarting);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            foreach (var ended in _children.Keys.Where(c => !c.IsAlive).ToArray())
                _children.TryRemove(ended, out _);
            var handle = _launcher.LaunchChild(start);
            _children[child] = 0;
            return handle;
        }
        finally
        {
            Interlocked.Decrement(ref _childrenStarting);
        }
    }

    internal string NextPoolName() => Names.ForActor("pool");

    internal void Track(ProcessPool pool)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _pools[pool] = 0;
    }

    internal void Untrack(ProcessPool pool) => _pools.TryRemove(pool, out _);

    /// <summary>Terminates every pool of this context, kills its workers, and ends the actor system if this context created it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // A child being launched right now is tracked before its start returns: wait for those.
        SpinWait.SpinUntil(() => Volatile.Read(ref _childrenStarting) == 0, ShutdownWait);
        if (ExitingAbruptly)
        {
            // The process is leaving now (SIGTERM, parent gone): no joins, no waits, no graceful leave.
            foreach (var child in _children.Keys)
                child.Kill();
            _launcher.KillAll(TimeSpan.Zero);
            _sharedMemory?.Dispose();
            return;
        }
        // Children first: those still running may be using this context's queues.
        EndChildren();
        // Closed, not stopped: a queue stays as a tombstone that answers every later call, from any
        // process, with ObjectDisposedException (a stopped one would leave them waiting).
        foreach (var queue in _queues.Keys)
            queue.Tell(new QueueProtocol.Close(Token, 0), ActorRefs.NoSender);
        _queues.Clear();
        foreach (var pool in _pools.Keys)
            pool.Terminate();
        if (WarmWorkers is not null)
            System.Stop(WarmWorkers);
        _launcher.KillAll(ShutdownWait);
        if (_ownsSystem)
            System.Terminate().Wait(ShutdownWait);
        // After the workers: none of them writes into it any more.
        _sharedMemory?.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>As Python at exit: daemon children are terminated, the others joined (bounded), then terminated.</summary>
    private void EndChildren()
    {
        var children = _children.Keys.Where(c => c.IsAlive).ToArray();
        _children.Clear();
        foreach (var child in children.Where(c => c.Daemon))
            child.Terminate();
        var deadline = Stopwatch.StartNew();
        foreach (var child in children.Where(c => !c.Daemon))
        {
            var left = _childSettings.JoinOnExitTimeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || !child.Join(left))
                child.Terminate();
        }
        deadline.Restart();
        foreach (var child in children)
        {
            var left = _childSettings.TerminateTimeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || !child.Join(left))
                child.Kill();
        }
    }

    private static MultiprocContext CreateDefault()
    {
        var context = Create(null, Interlocked.Exchange(ref _defaultPrestart, 0));
        // Python joins its pools' workers and non-daemon children at exit; here they are ended so none lingers.
        // The actor system has no exit hook of its own (see MultiprocConfig.ForOwnedSystem): Dispose ends
        // it after the children, whose last puts still need its queues.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => context.Dispose();
        return context;
    }
}
