namespace Multiproc.Actors.Worker;

/// <summary>The name <see cref="Multiprocessing.CurrentProcess"/> reports for this process.</summary>
internal static class ProcessIdentity
{
    /// <summary>Python's name for a process that no one started as a child.</summary>
    public const string MainProcessName = "MainProcess";

    /// <summary>"MainProcess", a child's <see cref="ChildProcess.Name"/>, or a pool worker's name; set once at start-up.</summary>
    public static string Name { get; set; } = MainProcessName;
}
