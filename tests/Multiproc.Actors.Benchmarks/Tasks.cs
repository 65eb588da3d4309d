using System.Runtime.CompilerServices;

namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// The functions the workers run: the same shapes as the Python scripts' (<c>identity</c>, <c>echo</c>,
/// <c>work(k)</c>, the queue initializer and <c>produce</c>). Static methods, so a worker rebuilds them
/// from this very assembly.
/// </summary>
internal static class Tasks
{
    /// <summary>The queue a pool's initializer hands to its workers (simplequeue.py's <c>_q</c>).</summary>
    private static SimpleQueue<(int Pid, int Value)>? _queue;

    /// <summary>map_overhead.py / latency.py / pool_startup.py: <c>identity(x)</c>.</summary>
    public static int Identity(int x) => x;

    /// <summary>The worker's process id (the memory scenario's check that both workers have started).</summary>
    public static int ProcessId(int _) => Environment.ProcessId;

    /// <summary>payload.py: <c>echo(b)</c>.</summary>
    public static byte[] Echo(byte[] data) => data;

    /// <summary>
    /// cpu_scaling.py's <c>work(k) = sum(i*i for i in range(k))</c>: a loop the JIT cannot fold away,
    /// compiled fully optimized from the first call (no tier-0 code in the calibration or in a fresh worker).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static long Work(long k)
    {
        long sum = 0;
        for (long i = 0; i < k; i++)
            sum += i * i;
        return sum;
    }

    /// <summary>simplequeue.py's <c>init(q)</c>: the pool initializer that keeps the queue in a static.</summary>
    public static void InitQueue(SimpleQueue<(int Pid, int Value)> queue) => _queue = queue;

    /// <summary>simplequeue.py's <c>produce(bounds)</c>: one <c>Put((pid, value))</c> per value.</summary>
    public static int Produce((int Start, int End) bounds)
    {
        var queue = _queue ?? throw new InvalidOperationException("The pool initializer did not run.");
        var pid = Environment.ProcessId;
        for (var v = bounds.Start; v < bounds.End; v++)
            queue.Put((pid, v));
        return bounds.End - bounds.Start;
    }

    /// <summary>The same items as <see cref="Produce"/>, in one <c>PutMany</c> (our extension).</summary>
    public static int ProduceMany((int Start, int End) bounds)
    {
        var queue = _queue ?? throw new InvalidOperationException("The pool initializer did not run.");
        var pid = Environment.ProcessId;
        queue.PutMany(Enumerable.Range(bounds.Start, bounds.End - bounds.Start).Select(v => (pid, v)));
        return bounds.End - bounds.Start;
    }
}
