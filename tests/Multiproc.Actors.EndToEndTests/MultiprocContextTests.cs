using Akka.Actor;
using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>A context hosted in the user's own actor system, as an Akka.NET service would do it.</summary>
public sealed class MultiprocContextTests
{
    [Fact]
    public Task A_context_in_the_users_own_system_runs_pools_and_never_ends_that_system() => Bounded(async () =>
    {
        var system = ActorSystem.Create("service", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """).WithFallback(MultiprocContext.DefaultConfig));
        int[] workers = [];
        try
        {
            var context = MultiprocContext.Create(system);
            Assert.Same(system, context.System);
            var pool = await Call(() => new ProcessPool(2, context: context));
            Assert.Equal(new[] { 1, 4, 9 }, await Call(() => pool.Map(x => x * x, new[] { 1, 2, 3 })));
            workers = await WorkerPids.Of(pool);

            await Deadline.Dispose(context);

            await Eventually(() => !workers.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(workers));
            Assert.False(system.WhenTerminated.IsCompleted, "the context ended a system it does not own");
        }
        finally
        {
            ProcFs.KillWorkers(workers);
            await Within(system.Terminate(), TimeSpan.FromSeconds(10));
        }
    });

    [Fact]
    public Task A_system_without_remoting_is_refused_with_a_clear_exception() => Bounded(async () =>
    {
        var system = ActorSystem.Create("local-only", ConfigurationFactory.ParseString("akka.actor.provider = local"));
        try
        {
            var error = Assert.Throws<ArgumentException>(() => MultiprocContext.Create(system));
            Assert.Contains("remot", error.Message);
        }
        finally
        {
            await Within(system.Terminate(), TimeSpan.FromSeconds(10));
        }
    });

    [Fact]
    public Task A_system_whose_TLS_certificate_was_given_in_code_is_refused_since_its_workers_could_not_get_it() => Bounded(async () =>
    {
        var key = Multiproc.Actors.Configuration.TransportKey.Create();
        var system = ActorSystem.Create("tls-in-code", Akka.Actor.Setup.ActorSystemSetup.Create(
            BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("""
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, enable-ssl = on }
                """).WithFallback(MultiprocContext.DefaultConfig)),
            key.Setup()));
        try
        {
            var error = Assert.Throws<ArgumentException>(() => MultiprocContext.Create(system));
            Assert.Contains("DotNettySslSetup", error.Message);
        }
        finally
        {
            await Within(system.Terminate(), TimeSpan.FromSeconds(10));
        }
    });

    [Fact]
    public Task A_context_keeps_untrusted_mode_on_whatever_its_configuration_says() => Bounded(async () =>
    {
        // The library's local-only commands are kept from other processes by untrusted mode.
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("akka.remote.untrusted-mode = off"));
        try
        {
            var provider = (Akka.Remote.RemoteActorRefProvider)((ExtendedActorSystem)context.System).Provider;
            Assert.True(provider.RemoteSettings.UntrustedMode, "a configuration turned untrusted mode off in a system the library owns");
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    [Fact]
    public Task A_pool_made_without_a_context_runs_in_the_default_one() => Bounded(async () =>
    {
        using var pool = await Call(() => new ProcessPool(1));
        var pids = await Call(() => pool.Map(_ => Environment.ProcessId, new[] { 0 }));
        Assert.NotEqual(Environment.ProcessId, pids[0]);
        Assert.NotNull(MultiprocContext.Default.System);
    });

    [Fact]
    public Task Workers_run_with_the_scheduler_tick_of_their_context() => Bounded(async () =>
    {
        // The library's 50 ms tick is a setting of the context: a caller who needs finer timers
        // (or coarser) gets them in its workers too.
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("akka.scheduler.tick-duration = 20ms"));
        try
        {
            var pool = await Call(() => new ProcessPool(1, context: context));
            Assert.Equal(20, Assert.Single(await Call(() => pool.Map(_ => WorkerTick().TotalMilliseconds, new[] { 0 }))));
            using var usual = await Call(() => new ProcessPool(1));
            Assert.Equal(50, Assert.Single(await Call(() => usual.Map(_ => WorkerTick().TotalMilliseconds, new[] { 0 }))));
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    private static TimeSpan WorkerTick() =>
        Worker.WorkerProgram.System!.Settings.Config.GetTimeSpan("akka.scheduler.tick-duration", null);
}
