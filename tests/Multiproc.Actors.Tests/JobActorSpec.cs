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
        var aggregator = Sys.ActorOf(JobActor.Props(job, _codec));

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
        var aggregator = Sys.ActorOf(JobActor.Props(job, _codec));

        aggregator.Tell(Done(job, 0, [1, 2]));
        aggregator.Tell(new ChunkDone(job.JobId, 1, _codec.Encode("not an int array", "results")));

        await Assert.ThrowsAsync<InvalidCastException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_lost_chunk_fails_the_call_with_its_error()
    {
        var (job, sink) = Job(2, 1);
        var aggregator = Sys.ActorOf(JobActor.Props(job, _codec));

        aggregator.Tell(new ChunkLost(1, 1, new WorkerCrashedException(1, 3, 137)));
        aggregator.Tell(Done(job, 0, [1]));

        var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(1, error.TaskIndex);
    }

    [Fact]
    public async Task Stopping_the_aggregator_before_every_chunk_reported_fails_the_call()
    {
        var (job, sink) = Job(2, 1);
        var aggregator = Sys.ActorOf(JobActor.Props(job, _codec));
        aggregator.Tell(Done(job, 0, [1]));

        Sys.Stop(aggregator);

        await Assert.ThrowsAsync<PoolTerminatedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
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
