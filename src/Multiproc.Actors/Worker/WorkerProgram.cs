using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;

namespace Multiproc.Actors.Worker;

/// <summary>
/// The worker host: the entry point of Multiproc.Actors.dll when a pool launches it as
/// <c>dotnet exec … Multiproc.Actors.dll Multiproc.Actors.Worker</c>, or a child process as
/// <c>… Multiproc.Actors.Worker child</c> (see <see cref="ChildProgram"/>).
/// </summary>
internal static class WorkerProgram
{
    /// <summary>The argument that marks a worker's command line (and makes workers easy to find with <c>ps</c>).</summary>
    public const string Marker = "Multiproc.Actors.Worker";

    /// <summary>Exit code when the parent went away (stdin closed) before the worker was told to retire.</summary>
    public const int ParentGoneExitCode = 3;

    /// <summary>Exit code when the worker could not start (bad handshake, parent unreachable).</summary>
    public const int StartFailedExitCode = 4;

    // Settings only a worker needs: its own ephemeral port; no CLR exit hook, because a worker
    // whose parent is gone must exit at once rather than run a graceful shutdown; and Akka's JSON
    // serializer and Hyperion built only if something uses them (see DeferredJsonSerializer,
    // DeferredHyperionSerializer).
    internal const string WorkerOverrides = """
        akka.remote.dot-netty.tcp.port = 0
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.coordinated-shutdown.exit-clr = off
        akka.actor.serializers.json = "Multiproc.Actors.Worker.DeferredJsonSerializer, Multiproc.Actors"
        akka.actor.serializers.hyperion = "Multiproc.Actors.Worker.DeferredHyperionSerializer, Multiproc.Actors"
        """;

    // DotNetty warns on a clean shutdown that it "may not shut down cleanly" when a channel has
    // already left its group; a worker's output is its user's output, so that line is dropped, and
    // strangers' refused connections are not let flood it.
    internal static readonly LogFilterSetup ShutdownChatterFilter = new LogFilterBuilder()
        .ExcludeMessageRegex(new Regex("Unable to REMOVE channel .* May not shut down cleanly"))
        .Add(StrangerLogFilter.Instance)
        .Build();

    /// <summary>
    /// A worker's (or child process's) configuration: what it must run with over the caller's
    /// settings it was handed (<paramref name="callerHocon"/>), over the library's reference.
    /// </summary>
    internal static Config ConfigFor(string callerHocon) =>
        ConfigurationFactory.ParseString(WorkerOverrides)
            .WithFallback(ConfigurationFactory.ParseString(callerHocon))
            .WithFallback(MultiprocConfig.Default);

    /// <summary>The name of the worker actor under /user.</summary>
    internal const string WorkerActorName = "worker";

    /// <summary>This process's actor system when it is a pool worker; null elsewhere.</summary>
    internal static ActorSystem? System { get; private set; }

    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] != Marker)
        {
            Console.Error.WriteLine("Multiproc.Actors.dll is a library; it runs only as a worker process that a ProcessPool launches.");
            return 2;
        }
        // First of all: a worker whose parent dies while it starts must not outlive it.
        var stdin = ParentPipe.Watch(Console.OpenStandardInput());
        if (args.Length > 1 && args[1] == ChildProgram.Mode)
            return ChildProgram.Run(stdin);
        ProcessIdentity.Name = $"PoolWorker-{Environment.ProcessId}";
        var handshake = WorkerHandshake.ReadStart(stdin);
        if (handshake is null)
            return ParentGoneExitCode;

        var config = ConfigFor(handshake.Config);
        var system = MultiprocConfig.StartSystem("multiproc-worker", config, handshake.TransportKey(), ShutdownChatterFilter);
        // Started ahead of its pool, a worker gets the pool's path only now (see ProcessLauncher.Prestart).
        // Null only at EOF, where the pipe's watcher is already exiting the process.
        if (WorkerHandshake.ReadParent(stdin) is not { } parentPath)
            return ParentGoneExitCode;
        handshake = handshake with { ParentPath = parentPath };
        IActorRef parent;
        try
        {
            parent = ((ExtendedActorSystem)system).Provider.ResolveActorRef(handshake.ParentPath);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Multiproc.Actors worker {Environment.ProcessId}: cannot resolve its pool at {handshake.ParentPath}: {e}");
            return StartFailedExitCode;
        }
        var settings = MultiprocSettings.Create(config)
            .WithFrameSize(MultiprocConfig.FrameSize(config));
        System = system;
        system.ActorOf(WorkerActor.Props(parent, handshake.Token, settings), WorkerActorName);
        QuietTrim.Start();
        system.WhenTerminated.Wait();
        return 0;
    }

}
