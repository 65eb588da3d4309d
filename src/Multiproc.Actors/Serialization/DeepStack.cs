using System.Runtime.ExceptionServices;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Runs a (de)serialization that may recurse deeper than an ordinary thread's stack survives on a
/// thread of its own with a stack sized for the depth. Hyperion recurses once per level of nesting
/// and a stack overflow ends the process, so depth beyond <see cref="InlineDepth"/> is never
/// (de)serialized on the caller's thread.
/// </summary>
internal static class DeepStack
{
    /// <summary>
    /// Levels of nesting every thread the library (de)serializes on survives, with room to spare:
    /// measured on a 1.5 MiB stack (.NET's secondary and thread-pool threads on Linux) Hyperion reads
    /// ~2,600 levels of a linked list and ~4,500 of nested object arrays, and writes more.
    /// </summary>
    public const int InlineDepth = 1000;

    /// <summary>The deepest limit that may be configured: its thread reserves ~250 MiB of address space for its stack (committed only as used).</summary>
    public const int MaxDepth = 100_000;

    // Measured ~600 bytes a level reading a linked list; four times that, plus what the run's own frames take.
    private const long BytesPerLevel = 2560;
    private const long BaseStack = 1 << 20;

    /// <summary>Runs <paramref name="work"/> here when <paramref name="depth"/> is within <see cref="InlineDepth"/>, else on a thread with a stack for it.</summary>
    public static T Run<T>(int depth, Func<T> work)
    {
        if (depth <= InlineDepth)
            return work();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var stack = checked(BaseStack + depth * BytesPerLevel);
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, (int)Math.Min(stack, int.MaxValue))
        {
            IsBackground = true,
            Name = "multiproc-deep-value",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
