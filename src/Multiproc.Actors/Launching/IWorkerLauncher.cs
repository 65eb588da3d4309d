namespace Multiproc.Actors.Launching;

/// <summary>Starts worker processes. The seam that lets actor specs test the pool's logic without processes.</summary>
internal interface IWorkerLauncher
{
    /// <summary>Starts a worker that will register with <paramref name="parentPath"/>.</summary>
    /// <param name="parentPath">The full path (with address and UID) of the actor the worker registers with.</param>
    /// <param name="onExit">Called once, on any thread, with the process id and exit code when the process ends.</param>
    IWorkerProcess Launch(string parentPath, Action<int, int?> onExit);
}

/// <summary>A launched worker process.</summary>
internal interface IWorkerProcess
{
    /// <summary>The OS process id.</summary>
    int Pid { get; }

    /// <summary>Kills the process (SIGKILL) if it is still running.</summary>
    void Kill();

    /// <summary>Waits up to <paramref name="timeout"/> for the process to end; true when it has.</summary>
    bool WaitForExit(TimeSpan timeout);

    /// <summary>
    /// Reports the process's exit to <paramref name="onExit"/> from now on, instead of to whoever it
    /// was reported to before (a worker handed from a pool to the warm workers, or back). If it has
    /// already exited, <paramref name="onExit"/> is called now; it may then be called twice.
    /// </summary>
    void ReportExitTo(Action<int, int?> onExit);
}
