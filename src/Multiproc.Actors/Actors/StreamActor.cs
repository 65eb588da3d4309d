using Akka.Actor;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The aggregator of a streaming call (<c>Imap</c>): decodes each chunk's results as they arrive and
/// hands them to the consumer, which puts them in order (or not) and reads more input as they drain.
/// </summary>
internal sealed class StreamActor : ReceiveActor
{
    private readonly IStreamSink _sink;
    private readonly HashSet<int> _reported = [];

    public StreamActor(IStreamSink sink, PayloadCodec codec)
    {
        _sink = sink;
        Receive<ChunkDone>(done =>
        {
            if (!_reported.Add(done.ChunkIndex))
                return;
            object? results;
            try
            {
                results = codec.Decode(done.Results);
            }
            catch (Exception e)
            {
                _sink.Chunk(done.ChunkIndex, null, e);
                return;
            }
            _sink.Chunk(done.ChunkIndex, results, null);
        });
        Receive<ChunkFailed>(failed =>
        {
            if (_reported.Add(failed.ChunkIndex))
                _sink.Chunk(failed.ChunkIndex, null, failed.Error.ToException());
        });
        Receive<ChunkLost>(lost =>
        {
            if (_reported.Add(lost.ChunkIndex))
                _sink.Chunk(lost.ChunkIndex, null, lost.Error);
        });
    }

    public static Props Props(IStreamSink sink, PayloadCodec codec) =>
        Akka.Actor.Props.Create(() => new StreamActor(sink, codec));
}
