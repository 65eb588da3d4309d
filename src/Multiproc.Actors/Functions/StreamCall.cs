using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Serialization;
using static Multiproc.Actors.Actors.PoolCommands;

namespace Multiproc.Actors.Functions;

/// <summary>
/// One <c>Imap</c>-family call: reads the input lazily on the consumer's side, a chunk at a time and
/// only while fewer than <c>window</c> chunks are out, so an endless input works and memory stays
/// flat; yields results in input order or as they arrive.
/// </summary>
internal sealed class StreamCall<T, TResult> : IStreamSink
{
    private readonly Channel<(int ChunkIndex, object? Results, Exception? Error)> _events =
        Channel.CreateUnbounded<(int, object?, Exception?)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly IActorRef _pool;
    private readonly long _jobId;
    private readonly EncodedFunction _function;
    private readonly PayloadCodec _codec;
    private readonly IEnumerable<T> _input;
    private readonly int _chunksize;
    private readonly int _window;

    public StreamCall(IActorRef pool, long jobId, EncodedFunction function, PayloadCodec codec, IEnumerable<T> input, int chunksize, int window)
    {
        _pool = pool;
        _jobId = jobId;
        _function = function;
        _codec = codec;
        _input = input;
        _chunksize = chunksize;
        _window = window;
    }

    void IStreamSink.Chunk(int chunkIndex, object? results, Exception? error) => _events.Writer.TryWrite((chunkIndex, results, error));

    void IStreamSink.Fail(Exception error) => _events.Writer.TryWrite((-1, null, error));

    public async IAsyncEnumerable<TResult> Run(bool ordered, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _pool.Tell(new OpenStream(_jobId, _function, this));
        var ready = new Dictionary<int, (object? Results, Exception? Error)>();
        var submitted = 0;
        var nextToYield = 0;
        var inFlight = 0;
        var position = 0;
        ExceptionDispatchInfo? inputError = null;
        var inputDone = false;
        IEnumerator<T>? input = null;
        try
        {
            while (true)
            {
                // Ordered, a chunk counts against the window until it is yielded, not just until it is
                // back: results waiting behind a slow chunk must not let more input in.
                while (!inputDone && inputError is null && (ordered ? submitted - nextToYield : inFlight) < _window)
                {
                    var items = new List<T>(Math.Min(_chunksize, 1024));
                    try
                    {
                        input ??= _input.GetEnumerator();
                        while (items.Count < _chunksize && input.MoveNext())
                            items.Add(input.Current);
                        inputDone = items.Count < _chunksize;
                    }
                    catch (Exception e)
                    {
                        // Thrown once the results before it are out, as a task's exception at that position would be.
                        inputError = ExceptionDispatchInfo.Capture(e);
                    }
                    if (items.Count == 0)
                        break;
                    try
                    {
                        Jobs.CheckItems(items, position, items.Count);
                        _pool.Tell(new AddChunk(_jobId, Jobs.EncodeChunk(_codec, _function.Payload, submitted, position, items.ToArray())));
                    }
                    catch (Exception e)
                    {
                        inputError = ExceptionDispatchInfo.Capture(e);
                        break;
                    }
                    submitted++;
                    inFlight++;
                    position += items.Count;
                }
                if (inFlight == 0)
                {
                    inputError?.Throw();
                    yield break;
                }

                var (chunkIndex, results, error) = await _events.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (chunkIndex < 0)
                    throw error!;
                inFlight--;
                if (!ordered)
                {
                    if (error is not null)
                        throw error;
                    foreach (var result in (TResult[])results!)
                        yield return result;
                    continue;
                }
                ready[chunkIndex] = (results, error);
                while (ready.Remove(nextToYield, out var next))
                {
                    nextToYield++;
                    if (next.Error is not null)
                        throw next.Error;
                    foreach (var result in (TResult[])next.Results!)
                        yield return result;
                }
            }
        }
        finally
        {
            input?.Dispose();
            // Finished, failed, abandoned (break, dispose) or cancelled: the pool drops what is left.
            _pool.Tell(new EndStream(_jobId));
        }
    }
}
