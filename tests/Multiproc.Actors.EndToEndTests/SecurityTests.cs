using Akka.Actor;
using Akka.Configuration;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Multiproc.Actors.Worker;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// The second line of defence, behind the transport's (see <see cref="TransportSecurityTests"/>): a
/// hand-made actor system that holds the transport key — as code running in one of the context's own
/// processes could — tries to join a pool and to make a worker run its code. The pool lets in only
/// processes it launched, with the context's token, and a worker runs work only from its own pool.
/// </summary>
public sealed class SecurityTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    private ActorSystem _stranger = null!;

    public Task InitializeAsync()
    {
        // Without the key it could not even connect: its handshake would fail before anything it sent was read.
        _stranger = MultiprocConfig.StartSystem("stranger", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.loglevel = ERROR
            akka.stdout-loglevel = ERROR
            """).WithFallback(MultiprocContext.DefaultConfig), TransportKey.ForProcess().Result);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Within(_stranger.Terminate(), TimeSpan.FromSeconds(10));

    [Fact]
    public Task A_registration_with_a_wrong_token_or_from_a_process_the_pool_did_not_launch_gets_no_answer() => Bounded(async () =>
    {
        var pool = Resolve(Akka.Serialization.Serialization.SerializedActorPath(fixture.Pool.Actor));
        var inbox = Inbox.Create(_stranger);
        var connected = Inbox.Create(_stranger);
        _stranger.EventStream.Subscribe(connected.Receiver, typeof(Akka.Remote.AssociatedEvent));

        pool.Tell(new PoolProtocol.RegisterWorker("not-the-token", Environment.ProcessId), inbox.Receiver);
        pool.Tell(new PoolProtocol.RegisterWorker(fixture.Context.Token, Environment.ProcessId), inbox.Receiver);

        // The key let it through the transport: what stops it here is the pool.
        Assert.IsType<Akka.Remote.AssociatedEvent>(await connected.ReceiveAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<TimeoutException>(() => inbox.ReceiveAsync(Quiet));
        Assert.Equal(new[] { 1, 2 }, await Call(() => fixture.Pool.Map(x => x + 1, new[] { 0, 1 })));
    });

    [Fact]
    public Task Results_from_a_stranger_do_not_reach_a_call() => Bounded(async () =>
    {
        var pool = Resolve(Akka.Serialization.Serialization.SerializedActorPath(fixture.Pool.Actor));
        var codec = new PayloadCodec(_stranger, 1 << 20);
        var pending = fixture.Pool.MapAsync(SlowIdentity, new[] { 5 }, chunksize: 1);

        // Whatever job and chunk the call has, a forged answer for the first few is dropped.
        for (var job = 0; job < 50; job++)
            pool.Tell(new PoolProtocol.ChunkDone(job, 0, codec.Encode(new[] { -1 }, "forged results")), ActorRefs.NoSender);

        Assert.Equal(new[] { 5 }, await Awaited(pending));
    });

    [Fact]
    public Task A_worker_runs_no_work_sent_by_anyone_but_its_pool() => Bounded(async () =>
    {
        var workers = await Call(() => fixture.Pool.Map(_ => WorkerPath(), Enumerable.Range(0, 16), chunksize: 1));
        var marker = Path.Combine(Path.GetTempPath(), $"multiproc-forged-{Guid.NewGuid():N}");
        var codec = new PayloadCodec(_stranger, 1 << 20);
        var function = codec.Encode(new JobFunction(FunctionRef.From(Touch(marker), "func"), CallKind.Map, Stateless: false), "function");
        try
        {
            foreach (var path in workers.Distinct())
            {
                var worker = Resolve(path);
                worker.Tell(new PoolProtocol.RunChunk(999_999, 0, 0, function, codec.Encode(new[] { 1 }, "items"), []), ActorRefs.NoSender);
                worker.Tell(new PoolProtocol.Welcome(null), ActorRefs.NoSender);
            }
            // The pool's own work after the forged messages proves they have been read (and dropped).
            Assert.Equal(Enumerable.Range(1, 8), await Call(() => fixture.Pool.Map(x => x + 1, Enumerable.Range(0, 8), chunksize: 1)));
            Assert.False(File.Exists(marker), "a worker ran work from a stranger");
        }
        finally
        {
            File.Delete(marker);
        }
    });

    private IActorRef Resolve(string path) => ((ExtendedActorSystem)_stranger).Provider.ResolveActorRef(path);

    private static string WorkerPath() =>
        $"{((ExtendedActorSystem)WorkerProgram.System!).Provider.DefaultAddress}/user/{WorkerProgram.WorkerActorName}";

    private static int SlowIdentity(int x)
    {
        Thread.Sleep(500);
        return x;
    }

    private static Func<int, int> Touch(string marker) => x =>
    {
        File.WriteAllText(marker, "forged");
        return x;
    };
}
