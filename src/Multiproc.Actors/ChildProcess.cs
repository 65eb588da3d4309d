using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Launching;
using Multiproc.Actors.Worker;

namespace Multiproc.Actors;

/// <summary>
/// Runs one function (the target) in a new OS process: its own memory, statics and process id.
/// Its standard output and error are the caller's own.
/// </summary>
/// <remarks>
/// <para>Python: <c>multiprocessing.Process</c>. Named <c>ChildProcess</c> because a bare <c>Process</c>
/// would clash with <see cref="System.Diagnostics.Process"/>.</para>
/// <para>The child exits with 0 when the target returns, with 1 when it throws (the exception and its
/// stack trace are printed on the child's standard error), and with <c>n</c> when it calls
/// <c>Environment.Exit(n)</c>. If the caller dies, the child exits within a couple of seconds
/// (unlike Python's, which become orphans). Linux and other POSIX systems only.</para>
/// </remarks>
public sealed class ChildProcess
{
    // Bits of _signalsSent: which signals we sent, so that a death by them reads as Python's -15 / -9.
    private const int SentTerm = 1;
    private const int SentKill = 2;

    private static int _counter;
    private static readonly ConcurrentDictionary<ChildProcess, byte> Started = new();

    private readonly MultiprocContext _context;
    private readonly FunctionRef _function;
    private readonly object?[] _args;
    private readonly Lock _gate = new();
    private IChildHandle? _handle;
    private bool _starting;
    private bool _daemon;
    private string _name;
    private int _signalsSent;

    /// <summary>Creates a child process that will run <paramref name="target"/> with <paramref name="args"/> once started.</summary>
    /// <remarks>Python: <c>Process(target=..., args=..., name=..., daemon=...)</c>.</remarks>
    /// <param name="target">The function to run: a static method, a lambda with typed parameters, or a closure over serializable values.</param>
    /// <param name="args">The target's arguments, checked against its parameters now; serialized at <see cref="Start"/>.</param>
    /// <param name="name">The process's name; <c>null</c> for "Process-N".</param>
    /// <param name="daemon">Whether the context terminates it at shutdown instead of joining it; <c>null</c> for false.</param>
    /// <param name="context">The context to run in; <c>null</c> for <see cref="MultiprocContext.Default"/>.</param>
    /// <exception cref="ArgumentException">The target cannot be sent to another process, or <paramref name="args"/> do not fit its parameters.</exception>
    public ChildProcess(Delegate target, object?[]? args = null, string? name = null, bool? daemon = null, MultiprocContext? context = null)
    {
        _args = args ?? [];
        _function = Initializers.Check(target, _args, "target", nameof(target), nameof(args));
        // As Python, every process created takes a number, named or not.
        var number = Interlocked.Increment(ref _counter);
        Name = name ?? $"Process-{number}";
        _daemon = daemon ?? false;
        _context = context ?? MultiprocContext.Default;
    }

    /// <summary>The process's name: "Process-N" unless given; <see cref="Multiprocessing.CurrentProcess"/> reports it inside the child.</summary>
    /// <remarks>Python: <c>Process.name</c>. Changing it after <see cref="Start"/> does not reach the child.</remarks>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public string Name
    {
        get => _name;
        [MemberNotNull(nameof(_name))]
        set => _name = value ?? throw new ArgumentNullException(nameof(value), "A process needs a name.");
    }

    /// <summary>Whether the context terminates this child at shutdown instead of waiting for it.</summary>
    /// <remarks>Python: <c>Process.daemon</c>.</remarks>
    /// <exception cref="InvalidOperationException">Set after <see cref="Start"/>.</exception>
    public bool Daemon
    {
        get => _daemon;
        set
        {
            lock (_gate)
            {
                if (_starting)
                    throw new InvalidOperationException("Daemon can be set only before Start().");
                _daemon = value;
            }
        }
    }

    /// <summary>The OS process id; <c>null</c> before <see cref="Start"/>.</summary>
    /// <remarks>Python: <c>Process.pid</c>.</remarks>
    public int? Pid => _handle?.Pid;

    /// <summary>
    /// <c>null</c> while the process runs (or before it starts); then 0 when the target returned, 1 when
    /// it threw, <c>n</c> for <c>Environment.Exit(n)</c>, -15 or -9 after <see cref="Terminate"/> or
    /// <see cref="Kill"/>, and 128 + n for any other death by signal n (as .NET reports it).
    /// </summary>
    /// <remarks>Python: <c>Process.exitcode</c>, which reports every death by signal n as -n.</remarks>
    public int? ExitCode
    {
        get
        {
            if (_handle is not { HasExited: true } handle)
                return null;
            var code = handle.ExitCode;
            var sent = Volatile.Read(ref _signalsSent);
            if (code == 128 + PosixSignals.SigTerm && (sent & SentTerm) != 0)
                return -PosixSignals.SigTerm;
            if (code == 128 + PosixSignals.SigKill && (sent & SentKill) != 0)
                return -PosixSignals.SigKill;
            return code;
        }
    }

    /// <summary>True from <see cref="Start"/> until the process ends.</summary>
    /// <remarks>Python: <c>Process.is_alive()</c>.</remarks>
    public bool IsAlive => _handle is { HasExited: false };

    /// <summary>Starts the process; the target's arguments are serialized now.</summary>
    /// <remarks>Python: <c>Process.start()</c>.</remarks>
    /// <exception cref="InvalidOperationException">The process was already started.</exception>
    /// <exception cref="System.Runtime.Serialization.SerializationException">The target or an argument cannot be serialized.</exception>
    /// <exception cref="ArgumentException">The target with its arguments is over <c>multiproc.maximum-message-size</c>.</exception>
    public void Start()
    {
        lock (_gate)
        {
            if (_starting)
                throw new InvalidOperationException($"{Name} was already started: a process can be started only once.");
            _starting = true;
        }
        try
        {
            var target = _context.Codec.Encode(new TargetCall(_function, _args), "the target with its args");
            _handle = _context.StartChild(this, new ChildStart(Name, target));
            Started[this] = 0;
        }
        catch
        {
            lock (_gate)
                _starting = false;
            throw;
        }
    }

    /// <summary>Waits for the process to end.</summary>
    /// <remarks>Python: <c>Process.join(timeout)</c>, which returns nothing; test <see cref="IsAlive"/> or the result here.</remarks>
    /// <param name="timeout">How long to wait; <c>null</c> for as long as it takes.</param>
    /// <returns>True when the process has ended.</returns>
    /// <exception cref="InvalidOperationException">The process was not started.</exception>
    public bool Join(TimeSpan? timeout = null)
    {
        var handle = _handle ?? throw new InvalidOperationException($"{Name} was not started: only a started process can be joined.");
        var exited = handle.WaitForExit(timeout);
        if (exited)
            Started.TryRemove(this, out _);
        return exited;
    }

    /// <summary>Sends the process SIGTERM; it exits at once (no graceful shutdown), and <see cref="ExitCode"/> becomes -15.</summary>
    /// <remarks>Python: <c>Process.terminate()</c>. Nothing happens when the process has already ended.</remarks>
    /// <exception cref="InvalidOperationException">The process was not started.</exception>
    public void Terminate()
    {
        var handle = _handle ?? throw new InvalidOperationException($"{Name} was not started: there is nothing to terminate.");
        Interlocked.Or(ref _signalsSent, SentTerm);
        handle.Terminate();
    }

    /// <summary>Sends the process SIGKILL; <see cref="ExitCode"/> becomes -9.</summary>
    /// <remarks>Python: <c>Process.kill()</c>. Nothing happens when the process has already ended.</remarks>
    /// <exception cref="InvalidOperationException">The process was not started.</exception>
    public void Kill()
    {
        var handle = _handle ?? throw new InvalidOperationException($"{Name} was not started: there is nothing to kill.");
        Interlocked.Or(ref _signalsSent, SentKill);
        handle.Kill();
    }

    /// <summary>Name, pid, and state, for logs.</summary>
    /// <remarks>Python: <c>repr(Process)</c>.</remarks>
    public override string ToString()
    {
        var state = _handle is null ? "initial" : ExitCode is { } code ? $"stopped exitcode={code}" : "started";
        return $"<ChildProcess name='{Name}' pid={Pid?.ToString() ?? "none"} {state}{(Daemon ? " daemon" : "")}>";
    }

    /// <summary>The started children of this process (in any context) that have not ended.</summary>
    internal static IReadOnlyList<ChildProcess> Active()
    {
        var alive = new List<ChildProcess>();
        foreach (var child in Started.Keys)
        {
            if (child.IsAlive)
                alive.Add(child);
            else
                Started.TryRemove(child, out _);
        }
        return alive;
    }
}
