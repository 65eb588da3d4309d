using System.Diagnostics;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>What Linux's /proc says about processes: liveness, command lines, parents.</summary>
internal static class ProcFs
{
    /// <summary>The argument that marks a worker's command line.</summary>
    public const string WorkerMarker = "Multiproc.Actors.Worker";

    /// <summary>The process's arguments, or null when it is gone.</summary>
    public static string[]? CommandLine(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            return raw.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>State letter and parent pid from /proc/&lt;pid&gt;/stat, or null when the process is gone.</summary>
    public static (char State, int ParentPid)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>True while <paramref name="pid"/> is a running (not zombie) worker process.</summary>
    public static bool IsWorkerAlive(int pid)
    {
        if (Stat(pid) is not { } stat || stat.State is 'Z' or 'X' or 'x')
            return false;
        // A pid reused by an unrelated process is not our worker any more.
        return CommandLine(pid) is { } args && args.Contains(WorkerMarker);
    }

    /// <summary>Running worker processes whose parent is <paramref name="parentPid"/>.</summary>
    public static IReadOnlyList<int> WorkersOf(int parentPid)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            if (Stat(pid) is { ParentPid: var parent } && parent == parentPid && IsWorkerAlive(pid))
                found.Add(pid);
        }
        return found;
    }

    /// <summary>Describes which of <paramref name="pids"/> still run, for failure messages.</summary>
    public static string Alive(IEnumerable<int> pids)
    {
        var alive = pids.Where(IsWorkerAlive).ToList();
        return alive.Count == 0 ? "none alive" : "still alive: " + string.Join(", ", alive.Select(p => $"{p} [{Stat(p)}]"));
    }

    /// <summary>SIGKILLs the worker processes among <paramref name="pids"/> that still run (cleanup; never throws).</summary>
    public static void KillWorkers(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            if (!IsWorkerAlive(pid))
                continue;
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }
    }
}
