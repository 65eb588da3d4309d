namespace Multiproc.Actors;

/// <summary>
/// A task whose worker process died each time it ran it (killed, crashed, <c>Environment.Exit</c>),
/// given up after <c>multiproc.pool.max-tries</c> tries.
/// </summary>
/// <remarks>Python's <c>Pool</c> hangs forever in this case; <c>concurrent.futures</c> raises <c>BrokenProcessPool</c>.</remarks>
public class WorkerCrashedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="taskIndex">The task's input position (0 for <c>Apply</c>).</param>
    /// <param name="tries">How many times the task was run.</param>
    /// <param name="exitCode">The exit code of the last worker that died running it, when known.</param>
    public WorkerCrashedException(int taskIndex, int tries, int? exitCode)
        : base($"The worker process running task {taskIndex} died on each of {tries} tries" +
               (exitCode is { } code ? $" (last exit code {code})." : "."))
    {
        TaskIndex = taskIndex;
        Tries = tries;
        ExitCode = exitCode;
    }

    /// <summary>The task's input position; 0 for <c>Apply</c>.</summary>
    public int TaskIndex { get; }

    /// <summary>How many times the task was run.</summary>
    public int Tries { get; }

    /// <summary>The exit code of the last worker that died running the task, when known.</summary>
    public int? ExitCode { get; }
}
