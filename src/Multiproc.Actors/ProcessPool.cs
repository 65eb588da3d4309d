using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;

namespace Multiproc.Actors;

/// <summary>
/// A pool of worker processes that runs a function over many inputs in parallel and returns the
/// results in input order.
/// </summary>
/// <remarks>
/// <para>Python: <c>multiprocessing.Pool</c>. Named like .NET's <c>ThreadPool</c>; a bare <c>Pool</c>
/// would clash with <c>Akka.Routing.Pool</c>.</para>
/// <para>How a call flows (every piece of mutable state lives in an actor, never here):</para>
/// <code>
///  Map(func, items)                     caller process                      worker processes
///  ─────────────────                    ──────────────                      ────────────────
///  serialize func + item chunks ──SubmitJob──► PoolActor ──RunChunk──────► WorkerActor → task thread
///  (fails here if they cannot travel)          queue / in flight ◄─ChunkDone── results serialized there
///                                              │ forwards
///  AsyncResult ◄──── results in input order ── JobActor (aggregator: one per call)
/// </code>
/// </remarks>
public sealed class ProcessPool : IDisposable, IAsyncDisposable
{
    private const int Running = 0;
    private const int Closed = 1;
    private const int Terminated = 2;
    private static readonly TimeSpan LaunchTimeout = TimeSpan.FromSeconds(30);

    private readonly MultiprocContext _context;
    private readonly PayloadCodec _codec;
    private readonly IActorRef _actor;
    private readonly TaskCompletionSource _allExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;
    private int _disposed;
    private long _nextJobId;

    /// <summary>Starts a pool of worker processes.</summary>
    /// <param name="processes">Worker processes; <c>null</c> for <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="initializer">Runs once in each worker before its first task, with <paramref name="initargs"/>: the place to set per-worker statics.</param>
    /// <param name="initargs">The initializer's arguments, checked against its parameters before any process starts.</param>
    /// <param name="maxtasksperchild">Tasks a worker runs before a fresh process replaces it; <c>null</c> for no limit.</param>
    /// <param name="context">The context to run in; <c>null</c> for <see cref="MultiprocContext.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="processes"/> or <paramref name="maxtasksperchild"/> is less than 1, or <paramref name="processes"/> is above <c>multiproc.pool.max-processes</c>.</exception>
    /// <exception cref="ArgumentException">The initializer cannot be sent to a worker, or <paramref name="initargs"/> does not fit its parameters.</exception>
    public ProcessPool(int? processes = null, Delegate? initializer = null, object?[]? initargs = null,
        int? maxtasksperchild = null, MultiprocContext? context = null)
        : this(new PoolOptions { Processes = processes, Initializer = initializer, InitArgs = initargs, MaxTasksPerChild = maxtasksperchild }, context)
    {
    }

    /// <summary>Starts a pool of worker processes as <paramref name="options"/> say.</summary>
    /// <param name="options">The pool's options.</param>
    /// <param name="context">The context to run in; <c>null</c> for <see cref="MultiprocContext.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The processes or maxtasksperchild are less than 1, or the processes above <c>multiproc.pool.max-processes</c>.</exception>
    public ProcessPool(PoolOptions options, MultiprocContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Processes is < 1)
            throw new ArgumentOutOfRangeException("processes", options.Processes, "A pool needs at least one worker process.");
        if (options.MaxTasksPerChild is < 1)
            throw new ArgumentOutOfRangeException("maxtasksperchild", options.MaxTasksPerChild, "maxtasksperchild must be at least 1, or null for no limit.");
        Processes = options.Processes ?? Environment.ProcessorCount;
        // Before the default context may start (and start workers for this pool ahead of it): it reads the reference configuration.
        var maxProcesses = Math.Max((context?.Settings ?? DefaultSettings.Value).MaxProcesses, Environment.ProcessorCount);
        if (Processes > maxProcesses)
            throw new ArgumentOutOfRangeException("processes", Processes,
                $"A pool may have at most {maxProcesses} worker processes ('{MultiprocSettings.MaxProcessesKey}', or the machine's cores if more).");
        // Checked before the default context may start (and start workers for this pool ahead of it).
        var initializerRef = Initializers.Validate(options.Initializer, options.InitArgs);
        _context = context ?? MultiprocContext.DefaultFor(Processes);
        var initializer = Initializers.EncodeChecked(initializerRef, options.InitArgs, _context.Codec);

        _context.Track(this);
        var name = _context.NextPoolName();
        // The pool's own shared-memory slots (removed when its actor stops) for its large chunks.
        _codec = _context.Codec.WithSlots(_context.SharedMemory?.ForPool(name));
        try
        {
            var setup = new PoolSetup(Processes, options.MaxTasksPerChild, _context.Token, initializer, _context.Settings, _context.Launcher, _codec, _allExited,
                _context.WarmWorkers);
            _actor = _context.System.ActorOf(PoolActor.Props(setup).WithDispatcher(MultiprocDispatcher), name);
            // Returns once the processes are launched, not once they are ready: the first call waits for them.
            _actor.Ask<Started>(Start.Instance, LaunchTimeout).GetAwaiter().GetResult();
        }
        catch
        {
            _codec.Slots?.Dispose();
            _context.Untrack(this);
            throw;
        }
    }

    internal const string MultiprocDispatcher = "multiproc.dispatcher";

    private static readonly Lazy<MultiprocSettings> DefaultSettings = new(() => MultiprocSettings.Create(MultiprocContext.DefaultConfig));

    /// <summary>The pool actor: the router that owns this pool's work.</summary>
    internal IActorRef Actor => _actor;

    /// <summary>The number of worker processes.</summary>
    public int Processes { get; }

    /// <summary>Applies <paramref name="func"/> to every item and returns the results in input order, blocking until all are in.</summary>
    /// <remarks>Python: <c>Pool.map</c>. Reads the whole input at the call; an exception the input throws is thrown here.</remarks>
    /// <param name="func">A static method, a lambda, or a closure over serializable values.</param>
    /// <param name="iterable">The inputs.</param>
    /// <param name="chunksize">Items per task; <c>null</c> picks ceil(n / (4 × processes)), as Python does.</param>
    /// <returns>The results, in input order.</returns>
    /// <exception cref="InvalidOperationException">The pool was closed or terminated ("Pool not running").</exception>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    public IReadOnlyList<TResult> Map<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int? chunksize = null) =>
        MapAsync(func, iterable, chunksize).Get();

    /// <summary>Starts applying <paramref name="func"/> to every item; the results come in input order.</summary>
    /// <remarks>Python: <c>Pool.map_async</c>. Reads the whole input at the call.</remarks>
    /// <param name="func">A static method, a lambda, or a closure over serializable values.</param>
    /// <param name="iterable">The inputs.</param>
    /// <param name="chunksize">Items per task; <c>null</c> picks ceil(n / (4 × processes)).</param>
    /// <param name="callback">Runs once with the results, on a thread-pool thread of this process, before the result is ready.</param>
    /// <param name="errorCallback">Runs once with the exception if the call fails (the lowest input index's), likewise.</param>
    /// <param name="progress">Told the number of items completed so far, as chunks complete.</param>
    public AsyncResult<IReadOnlyList<TResult>> MapAsync<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable,
        int? chunksize = null, Action<IReadOnlyList<TResult>>? callback = null, Action<Exception>? errorCallback = null,
        IProgress<int>? progress = null) =>
        Result(Call<T, TResult>(func, iterable, chunksize, progress), callback, errorCallback);

    /// <summary>Like <see cref="Map{T, TResult}"/>, for a function of two arguments given as pairs.</summary>
    /// <remarks>Python: <c>Pool.starmap</c>.</remarks>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The argument pairs.</param>
    /// <param name="chunksize">Items per task; <c>null</c> picks one.</param>
    public IReadOnlyList<TResult> Starmap<T1, T2, TResult>(Func<T1, T2, TResult> func, IEnumerable<(T1, T2)> iterable, int? chunksize = null) =>
        StarmapAsync(func, iterable, chunksize).Get();

    /// <summary>Like <see cref="Map{T, TResult}"/>, for a function of three arguments given as triples.</summary>
    /// <remarks>Python: <c>Pool.starmap</c>.</remarks>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The argument triples.</param>
    /// <param name="chunksize">Items per task; <c>null</c> picks one.</param>
    public IReadOnlyList<TResult> Starmap<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> func, IEnumerable<(T1, T2, T3)> iterable, int? chunksize = null) =>
        Result(Call<(T1, T2, T3), TResult>(func, iterable, chunksize, null), null, null).Get();

    /// <summary>Like <see cref="MapAsync{T, TResult}"/>, for a function of two arguments given as pairs.</summary>
    /// <remarks>Python: <c>Pool.starmap_async</c>.</remarks>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The argument pairs.</param>
    /// <param name="chunksize">Items per task; <c>null</c> picks one.</param>
    /// <param name="callback">Runs once with the results, on a thread-pool thread of this process.</param>
    /// <param name="errorCallback">Runs once with the exception if the call fails.</param>
    public AsyncResult<IReadOnlyList<TResult>> StarmapAsync<T1, T2, TResult>(Func<T1, T2, TResult> func, IEnumerable<(T1, T2)> iterable,
        int? chunksize = null, Action<IReadOnlyList<TResult>>? callback = null, Action<Exception>? errorCallback = null) =>
        Result(Call<(T1, T2), TResult>(func, iterable, chunksize, null), callback, errorCallback);

    /// <summary>Runs <paramref name="func"/> once in a worker and returns its result. Python: <c>Pool.apply</c>.</summary>
    /// <param name="func">The function.</param>
    public TResult Apply<TResult>(Func<TResult> func) => ApplyAsync(func).Get();

    /// <summary>Runs <paramref name="func"/> once in a worker with <paramref name="arg"/>. Python: <c>Pool.apply</c>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="arg">Its argument.</param>
    public TResult Apply<T, TResult>(Func<T, TResult> func, T arg) => ApplyAsync(func, arg).Get();

    /// <summary>Runs <paramref name="func"/> once in a worker with two arguments. Python: <c>Pool.apply</c>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="arg1">Its first argument.</param>
    /// <param name="arg2">Its second argument.</param>
    public TResult Apply<T1, T2, TResult>(Func<T1, T2, TResult> func, T1 arg1, T2 arg2) => ApplyAsync(func, arg1, arg2).Get();

    /// <summary>Starts <paramref name="func"/> in a worker. Python: <c>Pool.apply_async</c>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="callback">Runs once with the result, on a thread-pool thread of this process, before the result is ready.</param>
    /// <param name="errorCallback">Runs once with the exception if the call fails, likewise.</param>
    public AsyncResult<TResult> ApplyAsync<TResult>(Func<TResult> func,
        Action<TResult>? callback = null, Action<Exception>? errorCallback = null) =>
        Result(CallOne<int, TResult>(func, 0), callback, errorCallback);

    /// <summary>Starts <paramref name="func"/> in a worker with <paramref name="arg"/>. Python: <c>Pool.apply_async</c>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="arg">Its argument.</param>
    /// <param name="callback">Runs once with the result, on a thread-pool thread of this process, before the result is ready.</param>
    /// <param name="errorCallback">Runs once with the exception if the call fails, likewise.</param>
    public AsyncResult<TResult> ApplyAsync<T, TResult>(Func<T, TResult> func, T arg,
        Action<TResult>? callback = null, Action<Exception>? errorCallback = null) =>
        Result(CallOne<T, TResult>(func, arg), callback, errorCallback);

    /// <summary>Starts <paramref name="func"/> in a worker with two arguments (our extension).</summary>
    /// <param name="func">The function.</param>
    /// <param name="arg1">Its first argument.</param>
    /// <param name="arg2">Its second argument.</param>
    /// <param name="callback">Runs once with the result, on a thread-pool thread of this process, before the result is ready.</param>
    /// <param name="errorCallback">Runs once with the exception if the call fails, likewise.</param>
    public AsyncResult<TResult> ApplyAsync<T1, T2, TResult>(Func<T1, T2, TResult> func, T1 arg1, T2 arg2,
        Action<TResult>? callback = null, Action<Exception>? errorCallback = null) =>
        Result(CallOne<(T1, T2), TResult>(func, (arg1, arg2)), callback, errorCallback);

    /// <summary>
    /// Applies <paramref name="func"/> to the items lazily, yielding results in input order as they complete.
    /// Input is read only as workers have room, so an endless sequence works.
    /// </summary>
    /// <remarks>
    /// Python: <c>Pool.imap</c> — which reads its whole input at once; this does not. Leaving the loop
    /// early stops reading input and drops the call's remaining work. A task's exception is thrown at its
    /// position; one the input throws, after the results before it.
    /// </remarks>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The inputs, read lazily.</param>
    /// <param name="chunksize">Items per task.</param>
    public IEnumerable<TResult> Imap<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int chunksize = 1) =>
        Stream(func, iterable, chunksize, ordered: true, default).ToBlockingEnumerable();

    /// <summary>Like <see cref="Imap{T, TResult}"/>, yielding results as they complete, in any order. Python: <c>Pool.imap_unordered</c>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The inputs, read lazily.</param>
    /// <param name="chunksize">Items per task.</param>
    public IEnumerable<TResult> ImapUnordered<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int chunksize = 1) =>
        Stream(func, iterable, chunksize, ordered: false, default).ToBlockingEnumerable();

    /// <summary>The asynchronous <see cref="Imap{T, TResult}"/>: results in input order; cancelling stops reading input and drops the remaining work.</summary>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The inputs, read lazily.</param>
    /// <param name="chunksize">Items per task.</param>
    /// <param name="cancellationToken">Cancels the iteration.</param>
    public IAsyncEnumerable<TResult> ImapAsync<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int chunksize = 1,
        CancellationToken cancellationToken = default) =>
        Stream(func, iterable, chunksize, ordered: true, cancellationToken);

    /// <summary>The asynchronous <see cref="ImapUnordered{T, TResult}"/>.</summary>
    /// <param name="func">The function.</param>
    /// <param name="iterable">The inputs, read lazily.</param>
    /// <param name="chunksize">Items per task.</param>
    /// <param name="cancellationToken">Cancels the iteration.</param>
    public IAsyncEnumerable<TResult> ImapUnorderedAsync<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int chunksize = 1,
        CancellationToken cancellationToken = default) =>
        Stream(func, iterable, chunksize, ordered: false, cancellationToken);

    /// <summary>Stops accepting work; what is queued finishes, then the workers exit. Python: <c>close()</c>.</summary>
    public void Close()
    {
        if (Interlocked.CompareExchange(ref _state, Closed, Running) == Running)
            _actor.Tell(ClosePool.Instance);
    }

    /// <summary>
    /// Stops the workers now; pending results fail with <see cref="PoolTerminatedException"/>. Python: <c>terminate()</c>.
    /// </summary>
    public void Terminate()
    {
        if (Interlocked.Exchange(ref _state, Terminated) != Terminated)
            _actor.Tell(TerminatePool.Instance);
    }

    /// <summary>Waits for every worker process to exit. Python: <c>join()</c>.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Close"/> or <see cref="Terminate"/> has not been called.</exception>
    public void Join()
    {
        if (Volatile.Read(ref _state) == Running)
            throw new InvalidOperationException("Join() needs Close() or Terminate() first: the workers of a running pool do not exit.");
        // If the context's actor system is gone, its pool actor is too, and it killed its workers on the way out.
        Task.WaitAny(_allExited.Task, _context.System.WhenTerminated);
    }

    /// <summary>Terminates the pool and waits for its workers to exit, as leaving Python's <c>with Pool() as p:</c> does. Harmless twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Terminate();
        Join();
        _context.Untrack(this);
    }

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Terminate();
        await Task.WhenAny(_allExited.Task, _context.System.WhenTerminated).ConfigureAwait(false);
        _context.Untrack(this);
    }

    /// <summary>Starts a whole call: checks it, reads the input, serializes everything, queues it.</summary>
    private Task<IReadOnlyList<TResult>> Call<TItem, TResult>(Delegate func, IEnumerable<TItem> iterable, int? chunksize, IProgress<int>? progress)
    {
        EnsureRunning();
        var function = _context.Functions.Encode(func, nameof(func));
        ArgumentNullException.ThrowIfNull(iterable);
        if (chunksize is < 1)
            throw new ArgumentOutOfRangeException(nameof(chunksize), chunksize, "chunksize must be at least 1, or null to pick one.");
        var items = iterable.ToArray();
        var sink = new MapSink<TResult>(items.Length, progress);
        Submit(function, items, chunksize, sink);
        return sink.Task;
    }

    /// <summary>Starts a one-item call (<c>Apply</c>), whose task is completed with the value itself.</summary>
    private Task<TResult> CallOne<TItem, TResult>(Delegate func, TItem item)
    {
        EnsureRunning();
        var function = _context.Functions.Encode(func, nameof(func));
        var sink = new SingleSink<TResult>();
        Submit(function, [item], 1, sink);
        return sink.Task;
    }

    private void Submit<TItem>(EncodedFunction function, TItem[] items, int? chunksize, IJobSink sink) =>
        _actor.Tell(new SubmitJob(Jobs.Build(Interlocked.Increment(ref _nextJobId), function, items, chunksize, Processes, sink, _codec)));

    private IAsyncEnumerable<TResult> Stream<T, TResult>(Func<T, TResult> func, IEnumerable<T> iterable, int chunksize, bool ordered,
        CancellationToken cancellationToken)
    {
        // Checked at the call, not at the first MoveNext: an iterator would defer these.
        EnsureRunning();
        var function = _context.Functions.Encode(func, nameof(func));
        ArgumentNullException.ThrowIfNull(iterable);
        if (chunksize < 1)
            throw new ArgumentOutOfRangeException(nameof(chunksize), chunksize, "chunksize must be at least 1.");
        // Enough chunks out to keep every worker's prefetch full while the consumer takes results.
        var window = Processes * (_context.Settings.Prefetch + 1);
        var call = new StreamCall<T, TResult>(_actor, Interlocked.Increment(ref _nextJobId), function, _codec, iterable, chunksize, window);
        return call.Run(ordered, cancellationToken);
    }

    private static AsyncResult<T> Result<T>(Task<T> task, Action<T>? callback, Action<Exception>? errorCallback) =>
        new(WithCallbacks(task, callback, errorCallback));

    private void EnsureRunning()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _state) != Running)
            throw new InvalidOperationException("Pool not running: Close() or Terminate() was called. Create a new ProcessPool for more work.");
    }

    private static Task<T> WithCallbacks<T>(Task<T> task, Action<T>? callback, Action<Exception>? errorCallback)
    {
        if (callback is null && errorCallback is null)
            return task;
        // Always queued to the thread pool, even when the call is already done (an empty map): a
        // callback must never run on the caller's own thread, nor on an actor's.
        return task.ContinueWith(done =>
        {
            T result;
            try
            {
                result = done.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                errorCallback?.Invoke(e);
                throw;
            }
            callback?.Invoke(result);
            return result;
        }, CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default);
    }
}
