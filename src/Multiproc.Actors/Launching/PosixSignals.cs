using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Multiproc.Actors.Launching;

/// <summary>
/// Sends POSIX signals. <see cref="System.Diagnostics.Process.Kill()"/> can only send SIGKILL, and
/// Python's <c>terminate()</c> is a SIGTERM the child may answer.
/// </summary>
internal static class PosixSignals
{
    /// <summary>SIGTERM: the same number on every POSIX system.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGKILL: the same number on every POSIX system.</summary>
    public const int SigKill = 9;

    private const int NoSuchProcess = 3; // ESRCH

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; a process already gone is not an error.</summary>
    /// <exception cref="PlatformNotSupportedException">Not a POSIX system.</exception>
    public static void Send(int pid, int signal)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("Child processes are signalled with POSIX signals: Linux and other POSIX systems only.");
        if (kill(pid, signal) != 0 && Marshal.GetLastPInvokeError() is var errno and not NoSuchProcess)
            throw new Win32Exception(errno, $"kill({pid}, {signal}) failed");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
