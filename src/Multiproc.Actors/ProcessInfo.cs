namespace Multiproc.Actors;

/// <summary>A process's name and OS process id.</summary>
/// <remarks>Python: the <c>name</c> and <c>pid</c> of <c>multiprocessing.current_process()</c>.</remarks>
/// <param name="Name">"MainProcess" in the caller; a <see cref="ChildProcess"/>'s <see cref="ChildProcess.Name"/> inside that child.</param>
/// <param name="Pid">The OS process id.</param>
public sealed record ProcessInfo(string Name, int Pid);
