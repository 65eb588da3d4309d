using System.Runtime;
using System.Runtime.InteropServices;

namespace Multiproc.Actors.Worker;

/// <summary>
/// Hands memory back to the system when a worker goes quiet after running new code. Start-up (and
/// the first run of a task) leaves the GC's gen0 budget committed and the JIT's freed scratch memory
/// in malloc's free lists: several MiB that an idle worker would keep resident for nothing. Only new
/// code re-arms it, so a worker in steady work, or idle for good, is not trimmed again and again.
/// </summary>
internal static class QuietTrim
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    // An idle worker still uses 5-8 % of a core for seconds after start-up (tier-1 recompilation,
    // Akka's 10 ms scheduler tick); a worker running tasks uses far more than this share of a tick.
    private static readonly TimeSpan QuietCpu = TimeSpan.FromMilliseconds(20);

    // So many methods jitted since the last trim make another worth its GC (a few ms on a small
    // heap). Start-up compiles thousands, a new task's first run hundreds; tier-1 recompilation
    // trickles on for some seconds after, then stops.
    private const long NewMethods = 200;

    // The GC part compacts the whole heap: cheap for the few MiB a worker starts with, a stall for
    // the next task when the user keeps a big heap, where the few MiB do not matter anyway.
    private const long MaxHeapToCompact = 64L << 20;

    private static Timer? _timer;
    private static TimeSpan _cpuAtTick;
    private static long _methodsAtTrim;
    private static int _busy;

    /// <summary>Starts watching this process; call once, when the worker has started.</summary>
    public static void Start()
    {
        _cpuAtTick = Environment.CpuUsage.TotalTime;
        _timer = new Timer(_ => OnTick(), null, Tick, Tick);
    }

    private static void OnTick()
    {
        // Timer callbacks may overlap when the thread pool is late; one at a time is enough.
        if (Interlocked.Exchange(ref _busy, 1) == 1)
            return;
        try
        {
            var methods = JitInfo.GetCompiledMethodCount();
            var cpu = Environment.CpuUsage.TotalTime;
            if (cpu - _cpuAtTick < QuietCpu && methods - _methodsAtTrim >= NewMethods)
            {
                Trim();
                _methodsAtTrim = methods;
                // The trim's own CPU is not the worker's.
                cpu = Environment.CpuUsage.TotalTime;
            }
            _cpuAtTick = cpu;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void Trim()
    {
        if (GC.GetGCMemoryInfo().HeapSizeBytes <= MaxHeapToCompact)
        {
            // Aggressive: also decommits the free space, which a plain full GC keeps (and grows).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
        if (OperatingSystem.IsLinux())
        {
            try
            {
                malloc_trim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc (musl has no malloc_trim): its allocator returns memory its own way.
            }
        }
    }

    [DllImport("libc")]
    private static extern int malloc_trim(nuint pad);
}
