using System.Collections.Concurrent;
using System.Diagnostics;
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
    private readonly WorkerHandshake _handshake;
    private readonly ConcurrentDictionary<int, OsProcess> _running = new();

    public ProcessLauncher(string token, string workerConfig)
    {
        _handshake = new WorkerHandshake(token, "", workerConfig);
    }

    /// <inheritdoc />
    public IWorkerProcess Launch(string parentPath, Action<int, int?> onExit)
    {
        var start = StartInfo(WorkerProgram.Marker);

        var process = new OsProcess { StartInfo = start, EnableRaisingEvents = true };
        var exited = 0;
        process.Exited += (_, _) =>
        {
            if (Interlocked.Exchange(ref exited, 1) != 0)
                return;
            _running.TryRemove(process.Id, out _);
            int? code = null;
            try
            {
                code = process.ExitCode;
            }
            catch (InvalidOperationException)
            {
                // The exit code is gone when the process was reaped elsewhere; the exit itself is what matters.
            }
            onExit(process.Id, code);
        };
        process.Start();
        _running[process.Id] = process;
        // The token travels on stdin, never in argv where `ps` shows it to every user.
        process.StandardInput.Write((_handshake with { ParentPath = parentPath }).Encode());
        process.StandardInput.Flush();
        return new Handle(process);
    }

    /// <summary>Starts a child process that runs one target (<see cref="ChildProgram"/>) instead of pool work.</summary>
    public IChildHandle LaunchChild(ChildStart child)
    {
        var process = new OsProcess { StartInfo = StartInfo(WorkerProgram.Marker, ChildProgram.Mode), EnableRaisingEvents = true };
        process.Exited += (_, _) => _running.TryRemove(process.Id, out _);
        process.Start();
        _running[process.Id] = process;
        try
        {
            process.StandardInput.Write((_handshake with { ParentPath = "" }).Encode() + child.Encode());
            process.StandardInput.Flush();
        }
        catch (IOException)
        {
            // The child died before reading its start (its runtime failed to load): its exit code says so.
        }
        return new ChildHandle(process);
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
        return start;
    }

    /// <summary>Kills every worker this launcher started that is still running, and waits (bounded) for them to go.</summary>
    public void KillAll(TimeSpan wait)
    {
        var processes = _running.Values.ToArray();
        foreach (var process in processes)
            Handle.KillQuietly(process);
        var deadline = Stopwatch.StartNew();
        foreach (var process in processes)
        {
            var left = wait - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                break;
            process.WaitForExit(left);
        }
    }

    private sealed class ChildHandle(OsProcess process) : IChildHandle
    {
        public int Pid { get; } = process.Id;

        public bool HasExited => process.HasExited;

        public int ExitCode => process.ExitCode;

        public bool WaitForExit(TimeSpan? timeout)
        {
            if (timeout is { } limit && limit != Timeout.InfiniteTimeSpan)
                return process.WaitForExit(limit);
            process.WaitForExit();
            return true;
        }

        public void Terminate()
        {
            if (!process.HasExited)
                PosixSignals.Send(Pid, PosixSignals.SigTerm);
        }

        public void Kill() => Handle.KillQuietly(process);
    }

    private sealed class Handle(OsProcess process) : IWorkerProcess
    {
        public int Pid { get; } = process.Id;

        public void Kill() => KillQuietly(process);

        public bool WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

        public static void KillQuietly(OsProcess process)
        {
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
}
