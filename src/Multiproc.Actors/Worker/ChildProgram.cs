using System.Reflection;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// The child process host: runs one <see cref="ChildProcess"/> target and exits with 0, or with 1
/// after printing the exception when the target throws, as Python's <c>Process</c> does. It needs
/// an actor system of its own to rebuild its arguments (queue handles among them) and to talk to
/// its context's queues.
/// </summary>
internal static class ChildProgram
{
    /// <summary>The argument after <see cref="WorkerProgram.Marker"/> that starts a child instead of a pool worker.</summary>
    public const string Mode = "child";

    /// <summary>Exit code when the target threw (Python's too).</summary>
    public const int TargetFailedExitCode = 1;

    /// <summary>Exit code on SIGTERM: what .NET reports for a death by that signal, 128 + 15.</summary>
    public const int TerminatedExitCode = 128 + 15;

    public static int Run(ParentPipe stdin)
    {
        var handshake = WorkerHandshake.Read(stdin);
        var start = handshake is null ? null : ChildStart.Read(stdin);
        if (handshake is null || start is null)
            return WorkerProgram.ParentGoneExitCode;
        ProcessIdentity.Name = start.Name;
        // Python's terminate() kills at once; .NET's default SIGTERM handling would run a graceful shutdown first.
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            // No graceful leave of the actor system, and a context the target made only kills its processes.
            MultiprocContext.BeginAbruptExit();
            Environment.Exit(TerminatedExitCode);
        });

        var config = WorkerProgram.ConfigFor(handshake.Config);
        // Named as workers are, so the caller treats the child's association like a worker's.
        var system = MultiprocConfig.StartSystem("multiproc-worker", config, handshake.TransportKey(), WorkerProgram.ShutdownChatterFilter);
        var shutdownTimeout = ChildProcessSettings.Create(config).ShutdownTimeout;
        // Leaving the association before exiting keeps the caller from logging it as failed; this also
        // covers a target that calls Environment.Exit.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (!MultiprocContext.ExitingAbruptly)
                system.Terminate().Wait(shutdownTimeout);
        };

        var exitCode = RunTarget(start, system, config);
        Console.Out.Flush();
        // Exit even if the target left foreground threads behind, as Python's child does (os._exit).
        Environment.Exit(exitCode);
        return exitCode;
    }

    private static int RunTarget(ChildStart start, ActorSystem system, Config config)
    {
        Delegate target;
        object?[] args;
        try
        {
            var limits = MultiprocSettings.Create(config).WithFrameSize(MultiprocConfig.FrameSize(config));
            var call = (TargetCall)new PayloadCodec(system, limits.MaximumMessageSize).Decode(start.Target)!;
            target = call.Function.Resolve();
            args = call.Args;
        }
        catch (Exception e)
        {
            Report(start.Name, "cannot load its target", e);
            return TargetFailedExitCode;
        }
        try
        {
            target.DynamicInvoke(args);
            return 0;
        }
        catch (TargetInvocationException e) when (e.InnerException is { } thrown)
        {
            Report(start.Name, "its target threw", thrown);
            return TargetFailedExitCode;
        }
    }

    /// <summary>Prints a failure on stderr, as Python prints "Process Process-1:" and the traceback.</summary>
    private static void Report(string name, string what, Exception error)
    {
        Console.Error.WriteLine($"Process {name}: {what}:");
        Console.Error.WriteLine(error);
        Console.Error.Flush();
    }
}
