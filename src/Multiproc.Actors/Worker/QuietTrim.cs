using System.Runtime;
using System.Runtime.InteropServices;

namespace Multiproc.Actors.Worker;

/// <summary>
/// Hands memory back to the system when a worker goes quiet after running new code. Start-up (and
/// the first run of a task) leaves the GC's gen0 budget committed and the JIT's freed scratch memory
/// in malloc's free lists: several MiB that an idle worker would keep resident for nothing. Only new
/// code re-arms it, so a worker in steady work, or idle for good, is not trimmed again and again.
/// A worker idle for a while with nothing to trim is looked at once a second instead of ten times:
/// each look wakes a thread-pool thread, and an idle worker should cost its machine next to nothing.
/// </summary>
internal static class QuietTrim
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SlowTick = TimeSpan.FromSeconds(1);

    // So many quiet ticks in a row with nothing to trim, and the worker is idle: slow ticks from then
    // on, until a task runs (Busy) or a slow tick finds the worker busy.
    private const int QuietTicksBeforeSlow = 20;

    // An idle worker still uses a few % of a core for seconds after start-up (tier-1 recompilation,
    // Akka's scheduler tick); a worker running tasks uses far more than this share of a tick (20 %).
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
    private static int _quietTicks;
    private static volatile bool _slow;
    // Going slow (a tick) and back (a task) each set the flag and the timer's period together: apart,
    // a task between them could leave a slow timer behind a flag that says fast, for good.
    private static readonly Lock Pace = new();

    /// <summary>Starts watching this process; call once, when the worker has started.</summary>
    public static void Start()
    {
        _cpuAtTick = Environment.CpuUsage.TotalTime;
        _timer = new Timer(_ => OnTick(), null, Tick, Tick);
    }

    /// <summary>
    /// Back to ten looks a second: a task is running, so new code (and then a trim) may follow. Called by
    /// the task thread for every chunk; costs a field read unless the worker was idle.
    /// </summary>
    public static void Busy()
    {
        if (!_slow)
            return;
        lock (Pace)
        {
            if (!_slow)
                return;
            _slow = false;
            _quietTicks = 0;
            _timer?.Change(Tick, Tick);
        }
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
            var quiet = cpu - _cpuAtTick < (_slow ? QuietCpu * (SlowTick / Tick) : QuietCpu);
            if (!quiet)
            {
                _quietTicks = 0;
                Busy();
            }
            else if (methods - _methodsAtTrim >= NewMethods)
            {
                Trim();
                _methodsAtTrim = methods;
                _quietTicks = 0;
                // The trim's own CPU is not the worker's.
                cpu = Environment.CpuUsage.TotalTime;
            }
            else if (!_slow && ++_quietTicks >= QuietTicksBeforeSlow)
            {
                lock (Pace)
                {
                    _slow = true;
                    _timer?.Change(SlowTick, SlowTick);
                }
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
