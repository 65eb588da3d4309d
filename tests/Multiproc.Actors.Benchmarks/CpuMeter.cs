namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// CPU time spent by this process (getrusage) and by a pool's worker processes (/proc, per thread) over a run:
/// where a figure's time goes (caller side or worker side), for the speed work. No Python counterpart.
/// </summary>
internal sealed class CpuMeter
{
    private readonly int[] _workers;

    private CpuMeter(int[] workers) => _workers = workers;

    /// <summary>Whether both workers of a two-worker pool were found.</summary>
    public bool Complete => _workers.Length == 2;

    /// <summary>The worker processes of this process that are not in <paramref name="before"/>: the pool made since.</summary>
    public static CpuMeter ForWorkersSince(HashSet<int> before) =>
        new(ProcFs.WorkersOf(Environment.ProcessId).Except(before).ToArray());

    /// <summary>A reading to measure from: this process's CPU ns so far, and each worker thread's.</summary>
    public (long Parent, Dictionary<int, long>[] Workers) Now() =>
        ((long)Environment.CpuUsage.TotalTime.TotalNanoseconds, _workers.Select(ProcFs.ThreadsCpuNs).ToArray());

    /// <summary>CPU µs per unit since <paramref name="start"/>, this process and the workers.</summary>
    public (double Parent, double Workers) PerUnitSince((long Parent, Dictionary<int, long>[] Workers) start, double units)
    {
        var (parent, workers) = Now();
        var workersNs = workers.Select((threads, i) => ProcFs.CpuNsBetween(start.Workers[i], threads)).Sum();
        return ((parent - start.Parent) / 1e3 / units, workersNs / 1e3 / units);
    }
}
