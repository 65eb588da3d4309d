using Multiproc.Actors.Worker;

namespace Multiproc.Actors;

/// <summary>Python's module-level helpers of <c>multiprocessing</c>.</summary>
/// <remarks>Python: <c>multiprocessing.cpu_count()</c>, <c>current_process()</c>, <c>active_children()</c>.</remarks>
public static class Multiprocessing
{
    /// <summary>The number of processors this process may use.</summary>
    /// <remarks>Python: <c>multiprocessing.cpu_count()</c> (here the processors available to this process, as <see cref="Environment.ProcessorCount"/>).</remarks>
    public static int CpuCount() => Environment.ProcessorCount;

    /// <summary>This process: "MainProcess" in the caller, a child's name inside a <see cref="ChildProcess"/>, "PoolWorker-&lt;pid&gt;" in a pool worker.</summary>
    /// <remarks>Python: <c>multiprocessing.current_process()</c>.</remarks>
    public static ProcessInfo CurrentProcess() => new(ProcessIdentity.Name, Environment.ProcessId);

    /// <summary>The child processes this process started that are still running.</summary>
    /// <remarks>Python: <c>multiprocessing.active_children()</c>.</remarks>
    public static IReadOnlyList<ChildProcess> ActiveChildren() => ChildProcess.Active();
}
