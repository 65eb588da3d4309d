using Akka.Actor;
using Akka.TestKit;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Xunit;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Tests;

public sealed class WarmWorkersActorSpec : MultiprocSpec
{
    private const string Token = "the-token";
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly FakeLauncher _launcher = new();
    private readonly MultiprocSettings _settings;

    public WarmWorkersActorSpec()
    {
        _settings = MultiprocSettings.Create(Sys.Settings.Config) with { WarmWorkersMax = 2, WarmWorkersIdleTimeout = TimeSpan.FromMinutes(5) };
    }

    [Fact]
    public async Task A_claimed_worker_goes_to_the_pool_that_claimed_it_which_hears_of_it_first()
    {
        var warm = Start();
        var (worker, process) = Keep(warm);
        var pool = CreateTestProbe();

        warm.Tell(new ClaimWarm(2), pool.Ref);

        var claimed = await pool.ExpectMsgAsync<WarmClaimed>();
        Assert.Equal([process.Pid], claimed.Workers.Select(w => w.Pid));
        Assert.Equal(pool.Ref, (await worker.ExpectMsgAsync<Transfer>()).NewParent);

        warm.Tell(new ClaimWarm(2), pool.Ref);
        Assert.Empty((await pool.ExpectMsgAsync<WarmClaimed>()).Workers);
    }

    [Fact]
    public async Task A_worker_claimed_before_it_registered_is_sent_on_when_it_does()
    {
        var warm = Start();
        var worker = CreateTestProbe();
        var process = Launch();
        warm.Tell(new KeepWarm(new WarmWorker(process.Pid, worker.Ref, process)));
        var pool = CreateTestProbe();

        warm.Tell(new ClaimWarm(1), pool.Ref);
        Assert.Equal([process.Pid], (await pool.ExpectMsgAsync<WarmClaimed>()).Workers.Select(w => w.Pid));
        await worker.ExpectNoMsgAsync(Quiet);

        warm.Tell(new RegisterWorker(Token, process.Pid), worker.Ref);
        Assert.Equal(pool.Ref, (await worker.ExpectMsgAsync<Transfer>()).NewParent);
    }

    [Fact]
    public async Task Workers_over_the_maximum_are_retired()
    {
        var warm = Start();
        var kept = new List<TestProbe>();
        for (var i = 0; i < 3; i++)
            kept.Add((Keep(warm)).Worker);

        await kept[2].ExpectMsgAsync<Retire>();
        await kept[0].ExpectNoMsgAsync(Quiet);
        await kept[1].ExpectNoMsgAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_worker_that_exits_while_kept_is_never_handed_out()
    {
        var warm = Start();
        var (_, process) = Keep(warm);
        process.Exit(0);
        var pool = CreateTestProbe();

        await AwaitAssertAsync(async () =>
        {
            warm.Tell(new ClaimWarm(1), pool.Ref);
            Assert.Empty((await pool.ExpectMsgAsync<WarmClaimed>()).Workers);
        });
    }

    [Fact]
    public async Task Registrations_of_workers_no_pool_handed_over_or_with_a_wrong_token_are_dropped()
    {
        var warm = Start();
        var worker = CreateTestProbe();
        var process = Launch();
        warm.Tell(new KeepWarm(new WarmWorker(process.Pid, worker.Ref, process)));
        var stranger = CreateTestProbe();
        warm.Tell(new RegisterWorker(Token, process.Pid), stranger.Ref);
        warm.Tell(new RegisterWorker("not-the-token", process.Pid), worker.Ref);
        warm.Tell(new RegisterWorker(Token, 424242), stranger.Ref);
        var pool = CreateTestProbe();

        warm.Tell(new ClaimWarm(1), pool.Ref);

        // Still unregistered: claimed for later, not sent on.
        Assert.Single((await pool.ExpectMsgAsync<WarmClaimed>()).Workers);
        await worker.ExpectNoMsgAsync(Quiet);
        await stranger.ExpectNoMsgAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task An_unclaimed_worker_retires_after_the_idle_timeout()
    {
        var warm = Start(_settings with { WarmWorkersIdleTimeout = TimeSpan.FromMilliseconds(200) });
        var (worker, _) = Keep(warm);
        await worker.ExpectMsgAsync<Retire>(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Stopping_the_warm_workers_kills_their_processes()
    {
        var warm = Start();
        var (_, process) = Keep(warm);
        Sys.Stop(warm);
        await AwaitAssertAsync(() => Assert.True(process.Killed));
    }

    private IActorRef Start(MultiprocSettings? settings = null) =>
        Sys.ActorOf(WarmWorkersActor.Props(Token, settings ?? _settings));

    private FakeProcess Launch() => (FakeProcess)_launcher.Launch("unused", (_, _) => { });

    // Messages from this test reach the actor in order: what is told next finds it registered.
    private (TestProbe Worker, FakeProcess Process) Keep(IActorRef warm)
    {
        var worker = CreateTestProbe();
        var process = Launch();
        warm.Tell(new KeepWarm(new WarmWorker(process.Pid, worker.Ref, process)));
        warm.Tell(new RegisterWorker(Token, process.Pid), worker.Ref);
        return (worker, process);
    }
}
