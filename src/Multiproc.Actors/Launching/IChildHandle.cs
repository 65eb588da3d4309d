namespace Multiproc.Actors.Launching;

/// <summary>The OS process of a started <see cref="ChildProcess"/>.</summary>
internal interface IChildHandle
{
    /// <summary>The OS process id.</summary>
    int Pid { get; }

    /// <summary>True once the process has ended.</summary>
    bool HasExited { get; }

    /// <summary>The exit code as .NET reports it (128 + n for a death by signal n); only once <see cref="HasExited"/>.</summary>
    int ExitCode { get; }

    /// <summary>Waits for the process to end; true when it has.</summary>
    /// <param name="timeout">How long to wait; null for as long as it takes.</param>
    bool WaitForExit(TimeSpan? timeout);

    /// <summary>Sends SIGTERM, unless the process has ended.</summary>
    void Terminate();

    /// <summary>Sends SIGKILL, unless the process has ended.</summary>
    void Kill();
}
