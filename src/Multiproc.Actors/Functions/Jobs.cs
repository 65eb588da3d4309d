using Multiproc.Actors.Actors;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Turns a call into a <see cref="JobSpec"/> in the caller's thread: serializes the function and
/// the argument chunks up front, so what cannot travel fails the call here with a clear exception
/// instead of being dropped by Akka.Remote.
/// </summary>
internal static class Jobs
{
    /// <summary>Python's default: ceil(n / (4 × workers)), so each worker gets about four chunks.</summary>
    public static int DefaultChunkSize(int items, int processes) =>
        items == 0 ? 1 : (int)Math.Max(1, ((long)items + 4L * processes - 1) / (4L * processes));

    public static JobSpec Build<T>(long jobId, FunctionRef function, CallKind kind, T[] items, int? chunksize, int processes,
        IJobSink sink, PayloadCodec codec)
    {
        var functionPayload = codec.Encode(new JobFunction(function, kind), "the function with its captured values");
        // Items of a plain type (int, string, a sealed record of those) need no look, one by one.
        if (!CaptureCheck.IsStaticallySafe(typeof(T)))
        {
            for (var i = 0; i < items.Length; i++)
            {
                var index = i;
                CaptureCheck.Ensure(items[i],
                    path => path.Length == 0 ? $"The argument at index {index}" : $"Member '{path}' of the argument at index {index}",
                    "iterable");
            }
        }
        var chunks = new List<ChunkSpec>();
        var size = chunksize ?? DefaultChunkSize(items.Length, processes);
        for (var start = 0; start < items.Length; start += size)
            AddChunk(start, Math.Min(size, items.Length - start), splittable: chunksize is null);
        return new JobSpec(jobId, functionPayload, chunks, sink);

        void AddChunk(int start, int count, bool splittable)
        {
            var slice = start == 0 && count == items.Length ? items : items.AsSpan(start, count).ToArray();
            var what = count == 1 ? $"the argument at index {start}" : $"the arguments at indexes {start}..{start + count - 1}";
            var payload = codec.EncodeUnchecked(slice, what);
            var total = (long)payload.Length + functionPayload.Length;
            if (total > codec.MaximumMessageSize)
            {
                // A chunk size we picked ourselves must not be what makes a call too big: halve it.
                if (splittable && count > 1)
                {
                    AddChunk(start, count / 2, splittable);
                    AddChunk(start + count / 2, count - count / 2, splittable);
                    return;
                }
                throw PayloadCodec.TooLarge(total, codec.MaximumMessageSize, $"{what} (with the function)");
            }
            chunks.Add(new ChunkSpec(chunks.Count, start, count, payload));
        }
    }
}

/// <summary>The typed results of a map-like call, filled chunk by chunk at their input positions.</summary>
internal sealed class MapSink<TResult>(int count, IProgress<int>? progress) : IJobSink
{
    private readonly TResult[] _results = new TResult[count];
    private readonly TaskCompletionSource<IReadOnlyList<TResult>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _done;

    public Task<IReadOnlyList<TResult>> Task => _completion.Task;

    public void Accept(int start, object? results)
    {
        var chunk = (TResult[])results!;
        Array.Copy(chunk, 0, _results, start, chunk.Length);
        _done += chunk.Length;
        progress?.Report(_done);
    }

    public void Complete() => _completion.TrySetResult(_results);

    public void Fail(Exception error) => _completion.TrySetException(error);
}
