using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Tests;

public sealed class JobActorSpec : MultiprocSpec
{
    private readonly PayloadCodec _codec;

    public JobActorSpec() => _codec = new PayloadCodec(Sys, 1 << 20);

    [Fact]
    public async Task A_chunk_reported_twice_counts_once()
    {
        var (job, sink) = Job(4, 2);
        var aggregator = Aggregator(job);

        aggregator.Tell(Done(job, 0, [1, 2]));
        aggregator.Tell(Done(job, 0, [9, 9]));
        Assert.False(sink.Completion.Task.IsCompleted);
        aggregator.Tell(Done(job, 1, [3, 4]));

        Assert.Equal(new[] { 1, 2, 3, 4 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Results_that_cannot_be_decoded_fail_the_call_at_their_chunks_first_item()
    {
        var (job, sink) = Job(4, 2);
        var aggregator = Aggregator(job);

        aggregator.Tell(Done(job, 0, [1, 2]));
        aggregator.Tell(new ChunkDone(job.JobId, 1, _codec.Encode("not an int array", "results")));

        await Assert.ThrowsAsync<InvalidCastException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_lost_chunk_fails_the_call_with_its_error()
    {
        var (job, sink) = Job(2, 1);
        var aggregator = Aggregator(job);

        aggregator.Tell(new ChunkLost(1, 1, new WorkerCrashedException(1, 3, 137)));
        aggregator.Tell(Done(job, 0, [1]));

        var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(1, error.TaskIndex);
    }

    [Fact]
    public async Task Stopping_the_aggregator_before_every_chunk_reported_fails_the_call()
    {
        var (job, sink) = Job(2, 1);
        var aggregator = Aggregator(job);
        aggregator.Tell(Done(job, 0, [1]));

        Sys.Stop(aggregator);

        await Assert.ThrowsAsync<PoolTerminatedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Results_told_to_the_aggregator_by_anyone_but_its_pool_are_dropped()
    {
        var (job, sink) = Job(2, 1);
        var pool = Aggregator(job);
        var aggregator = await pool.Ask<IActorRef>(PoolStandIn.WhichChild, RemainingOrDefault);

        // A forger that found the aggregator's path, with and without a sender.
        aggregator.Tell(Done(job, 0, [666]), TestActor);
        aggregator.Tell(Done(job, 1, [666]), ActorRefs.NoSender);
        aggregator.Tell(new ChunkFailed(job.JobId, 1, 1, RemoteError.From(new InvalidOperationException("forged"))), TestActor);
        pool.Tell(Done(job, 0, [1]));
        pool.Tell(Done(job, 1, [2]));

        Assert.Equal(new[] { 1, 2 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    /// <summary>The aggregator as the pool actor makes it: its child, which takes reports only from it.</summary>
    private IActorRef Aggregator(JobSpec job) => Sys.ActorOf(Akka.Actor.Props.Create(() => new PoolStandIn(JobActor.Props(job, _codec))));

    /// <summary>Stands in for the pool actor: passes on what it is told, as the pool passes on its workers' reports.</summary>
    private sealed class PoolStandIn : ReceiveActor
    {
        public const string WhichChild = "which child?";

        public PoolStandIn(Props child)
        {
            var aggregator = Context.ActorOf(child);
            Receive<string>(question => question == WhichChild, _ => Sender.Tell(aggregator));
            ReceiveAny(message => aggregator.Tell(message));
        }
    }

    private (JobSpec Job, RecordingSink<int> Sink) Job(int items, int chunkSize)
    {
        var sink = new RecordingSink<int>(items);
        var chunks = Enumerable.Range(0, items / chunkSize)
            .Select(i => new ChunkSpec(i, i * chunkSize, chunkSize, _codec.Encode(new int[chunkSize], "items")))
            .ToList();
        return (new JobSpec(1, new EncodedFunction(_codec.Encode("function", "function")), chunks, sink), sink);
    }

    private ChunkDone Done(JobSpec job, int chunkIndex, int[] results) =>
        new(job.JobId, chunkIndex, _codec.Encode(results, "results"));
}
