using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The aggregator of one call: puts each chunk's results at its input position, keeps the failure
/// with the lowest input index, and completes the call once every chunk has reported — no fail-fast,
/// as Python's pool.
/// </summary>
internal sealed class JobActor : ReceiveActor
{
    private readonly JobSpec _job;
    private readonly PayloadCodec _codec;
    private readonly DroppedMessages _dropped = new(Context.GetLogger(), "A call's aggregator");
    // Chunks still to report, by index, with their first item's input position.
    private readonly Dictionary<int, int> _pending;
    private int _remaining;
    private int _failedAt = int.MaxValue;
    private Func<Exception>? _failure;

    public JobActor(JobSpec job, PayloadCodec codec)
    {
        _job = job;
        _codec = codec;
        _pending = job.Chunks.ToDictionary(c => c.Index, c => c.Start);
        _remaining = job.Chunks.Count;

        Receive<ChunkDone>(FromPool, done =>
        {
            try
            {
                Report(done.ChunkIndex, start =>
                {
                    // Once some item has failed, later results are never read: skip decoding them.
                    if (_failure is not null)
                        return;
                    try
                    {
                        _job.Sink.Accept(start, _codec.Decode(done.Results, $"the results of items {start} and on"));
                    }
                    catch (Exception e)
                    {
                        Fail(start, () => e);
                    }
                });
            }
            finally
            {
                // Read or not, the results' shared-memory slot (if any) is free once this report is handled.
                _codec.Release(done.Results);
            }
        });
        Receive<ChunkFailed>(FromPool, failed => Report(failed.ChunkIndex, _ => Fail(failed.ItemIndex, failed.Error.ToException)));
        Receive<ChunkLost>(lost => Report(lost.ChunkIndex, _ => Fail(lost.ItemIndex, () => lost.Error)));
        Receive<ChunkSplit>(split =>
        {
            if (!_pending.Remove(split.ChunkIndex))
                return;
            foreach (var part in split.Parts)
                _pending[part.Index] = part.Start;
            _remaining += split.Parts.Length - 1;
        });
        // Reports reach a call only through its pool, which took them from the worker that ran the chunk.
        ReceiveAny(message => _dropped.Drop(message, Sender, "a call's results come only through its pool."));
    }

    private bool FromPool(object _) => Sender.Equals(Context.Parent);

    public static Props Props(JobSpec job, PayloadCodec codec) =>
        Akka.Actor.Props.Create(() => new JobActor(job, codec));

    protected override void PostStop()
    {
        // Stopped before every chunk reported (the pool was terminated or its system shut down):
        // the call must still end. A sink already completed ignores this.
        if (_remaining > 0)
            _job.Sink.Fail(new PoolTerminatedException("The pool stopped before this work completed."));
    }

    private void Report(int chunkIndex, Action<int> record)
    {
        // A chunk reports once; a late duplicate (a worker presumed dead that answered after all) is ignored.
        if (!_pending.Remove(chunkIndex, out var start))
            return;
        record(start);
        if (--_remaining > 0)
            return;
        if (_failure is not null)
            _job.Sink.Fail(_failure());
        else
            _job.Sink.Complete();
        Context.Stop(Self);
    }

    private void Fail(int itemIndex, Func<Exception> error)
    {
        if (itemIndex >= _failedAt)
            return;
        _failedAt = itemIndex;
        _failure = error;
    }
}
