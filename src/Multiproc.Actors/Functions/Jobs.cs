using Multiproc.Actors.Actors;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Turns a call into work in the caller's thread: serializes the function and the argument chunks
/// up front, so what cannot travel fails the call here with a clear exception instead of being
/// dropped by Akka.Remote.
/// </summary>
internal static class Jobs
{
    /// <summary>Python's default: ceil(n / (4 × workers)), so each worker gets about four chunks.</summary>
    public static int DefaultChunkSize(int items, int processes) =>
        items == 0 ? 1 : (int)Math.Max(1, ((long)items + 4L * processes - 1) / (4L * processes));


    /// <summary>A whole call (<c>Map</c>, <c>Starmap</c>, <c>Apply</c>) with all its chunks.</summary>
    public static JobSpec Build<T>(long jobId, EncodedFunction function, T[] items, int? chunksize, int processes,
        IJobSink sink, PayloadCodec codec)
    {
        var functionPayload = function.Payload;
        CheckItems(items, 0, items.Length);
        var chunks = new List<ChunkSpec>();
        var size = chunksize ?? DefaultChunkSize(items.Length, processes);
        try
        {
            for (var start = 0; start < items.Length; start += size)
                AddChunk(start, Math.Min(size, items.Length - start));
        }
        catch
        {
            // The call fails here: the chunks already in shared memory will never be sent.
            foreach (var chunk in chunks)
                codec.Release(chunk.Items);
            throw;
        }
        return new JobSpec(jobId, function, chunks, sink);

        void AddChunk(int start, int count)
        {
            var slice = start == 0 && count == items.Length ? items : items.AsSpan(start, count).ToArray();
            if (TryEncodeChunk(codec, functionPayload, chunks.Count, start, slice, out var chunk))
                chunks.Add(chunk);
            else if (chunksize is null && count > 1)
            {
                // A chunk size we picked ourselves must not be what makes a call too big: halve it.
                AddChunk(start, count / 2);
                AddChunk(start + count / 2, count - count / 2);
            }
            else
                throw TooLarge(codec, functionPayload, chunk);
        }
    }

    /// <summary>One chunk of items starting at input position <paramref name="start"/>, held to the size limit.</summary>
    public static ChunkSpec EncodeChunk<T>(PayloadCodec codec, Payload function, int index, int start, T[] items) =>
        TryEncodeChunk(codec, function, index, start, items, out var chunk) ? chunk : throw TooLarge(codec, function, chunk);

    private static bool TryEncodeChunk<T>(PayloadCodec codec, Payload function, int index, int start, T[] items, out ChunkSpec chunk)
    {
        // What would be over the limit stays out of shared memory, for the check below to refuse.
        var limit = codec.MaximumMessageSize - function.Length;
        chunk = new ChunkSpec(index, start, items.Length, codec.EncodeChunk(items, Describe(start, items.Length), limit));
        return chunk.Items.Length <= limit;
    }

    private static ArgumentException TooLarge(PayloadCodec codec, Payload function, ChunkSpec chunk) =>
        PayloadCodec.TooLarge((long)chunk.Items.Length + function.Length, codec.MaximumMessageSize,
            $"{Describe(chunk.Start, chunk.Count)} (with the function)");

    private static string Describe(int start, int count) =>
        count == 1 ? $"the argument at index {start}" : $"the arguments at indexes {start}..{start + count - 1}";

    /// <summary>Refuses items that hold process-local state, naming the first one's position.</summary>
    public static void CheckItems<T>(IReadOnlyList<T> items, int firstIndex, int count)
    {
        // Items of a plain type (int, string, a sealed record of those) need no look, one by one.
        if (CaptureCheck.IsStaticallySafe(typeof(T)))
            return;
        for (var i = 0; i < count; i++)
        {
            var index = firstIndex + i;
            CaptureCheck.Ensure(items[i],
                path => path.Length == 0 ? $"The argument at index {index}" : $"Member '{path}' of the argument at index {index}",
                "iterable");
        }
    }
}
