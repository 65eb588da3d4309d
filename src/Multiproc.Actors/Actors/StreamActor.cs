using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The aggregator of a streaming call (<c>Imap</c>): decodes each chunk's results as they arrive and
/// hands them to the consumer, which puts them in order (or not) and reads more input as they drain.
/// A chunk that was split after its worker died is put back together before it is handed on, so
/// the consumer sees exactly the chunks it submitted.
/// </summary>
internal sealed class StreamActor : ReceiveActor
{
    private readonly IStreamSink _sink;
    private readonly PayloadCodec _codec;
    private readonly DroppedMessages _dropped = new(Context.GetLogger(), "A call's aggregator");
    private readonly HashSet<int> _reported = [];
    private readonly Dictionary<int, (Assembly Whole, int Slot)> _parts = new();
    private bool _draining;

    public StreamActor(IStreamSink sink, PayloadCodec codec)
    {
        _sink = sink;
        _codec = codec;
        Receive<ChunkDone>(FromPool, done =>
        {
            if (_draining)
            {
                _codec.Release(done.Results);
                return;
            }
            object? results;
            try
            {
                results = _codec.Decode(done.Results, "the results of a chunk");
            }
            catch (Exception e)
            {
                Report(done.ChunkIndex, null, e);
                return;
            }
            finally
            {
                // The results' shared-memory slot (if any) is free once they are read.
                _codec.Release(done.Results);
            }
            Report(done.ChunkIndex, results, null);
        });
        Receive<ChunkFailed>(FromPool, failed => Report(failed.ChunkIndex, null, failed.Error.ToException()));
        Receive<ChunkLost>(lost => Report(lost.ChunkIndex, null, lost.Error));
        Receive<Drain>(_ =>
        {
            _draining = true;
            // Behind every report already in the mailbox.
            Self.Tell(PoisonPill.Instance);
        });
        Receive<ChunkSplit>(split =>
        {
            var whole = new Assembly(split.ChunkIndex, split.Parts.Length);
            for (var i = 0; i < split.Parts.Length; i++)
                _parts[split.Parts[i].Index] = (whole, i);
        });
        // Reports reach a call only through its pool, which took them from the worker that ran the chunk.
        ReceiveAny(message => _dropped.Drop(message, Sender, "a call's results come only through its pool."));
    }

    /// <summary>
    /// The consumer is gone: give back the shared-memory slots of the reports still queued here,
    /// unread, then stop (a plain stop would drop them as dead letters, slots and all).
    /// </summary>
    public sealed record Drain : ILocalOnly
    {
        public static readonly Drain Instance = new();
    }

    private bool FromPool(object _) => Sender.Equals(Context.Parent);

    public static Props Props(IStreamSink sink, PayloadCodec codec) =>
        Akka.Actor.Props.Create(() => new StreamActor(sink, codec));

    private void Report(int chunkIndex, object? results, Exception? error)
    {
        if (!_reported.Add(chunkIndex))
            return;
        if (!_parts.Remove(chunkIndex, out var part))
        {
            _sink.Chunk(chunkIndex, results, error);
            return;
        }
        var whole = part.Whole;
        if (whole.Delivered)
            return;
        if (error is not null)
        {
            // The consumer throws at the chunk's position either way: no need to wait for the other parts.
            whole.Delivered = true;
            _sink.Chunk(whole.ChunkIndex, null, error);
            return;
        }
        whole.Results[part.Slot] = (Array)results!;
        if (--whole.Missing > 0)
            return;
        whole.Delivered = true;
        _sink.Chunk(whole.ChunkIndex, Concatenate(whole.Results), null);
    }

    private static Array Concatenate(Array?[] parts)
    {
        var all = Array.CreateInstance(parts[0]!.GetType().GetElementType()!, parts.Sum(p => p!.Length));
        var offset = 0;
        foreach (var part in parts)
        {
            Array.Copy(part!, 0, all, offset, part!.Length);
            offset += part.Length;
        }
        return all;
    }

    /// <summary>A split chunk being put back together.</summary>
    private sealed class Assembly(int chunkIndex, int parts)
    {
        public int ChunkIndex { get; } = chunkIndex;
        public Array?[] Results { get; } = new Array?[parts];
        public int Missing { get; set; } = parts;
        public bool Delivered { get; set; }
    }
}
