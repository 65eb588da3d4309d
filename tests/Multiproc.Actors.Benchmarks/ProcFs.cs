namespace Multiproc.Actors.Benchmarks;

/// <summary>What Linux's /proc says about processes: parents, command lines, CPU time, memory.</summary>
internal static class ProcFs
{
    /// <summary>The argument that marks a worker's command line.</summary>
    public const string WorkerMarker = "Multiproc.Actors.Worker";

    /// <summary>Every pid in /proc right now.</summary>
    public static IEnumerable<int> Pids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
                yield return pid;
        }
    }

    /// <summary>State letter, parent pid and process group from /proc/&lt;pid&gt;/stat, or null when the process is gone.</summary>
    public static (char State, int ParentPid, int Group)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1]), int.Parse(fields[2]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The process's arguments, or null when it is gone.</summary>
    public static string[]? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Running (not zombie) pool worker processes whose parent is <paramref name="parentPid"/>.</summary>
    public static HashSet<int> WorkersOf(int parentPid)
    {
        var found = new HashSet<int>();
        foreach (var pid in Pids())
        {
            if (Stat(pid) is not { } stat || stat.ParentPid != parentPid || stat.State is 'Z' or 'X')
                continue;
            // A pool worker is "... Multiproc.Actors.dll Multiproc.Actors.Worker"; a child process adds "child".
            if (CommandLine(pid) is { } args && Array.IndexOf(args, WorkerMarker) is var at and >= 0 && at == args.Length - 1)
                found.Add(pid);
        }
        return found;
    }

    /// <summary>
    /// CPU time (ns) used so far by <paramref name="pid"/>, threads that have exited included (0 when it
    /// is gone). Live threads count to the ns (schedstat); exited ones only in the process's clock ticks
    /// (utime + stime of /proc/&lt;pid&gt;/stat, 10 ms each, minus the live threads' ticks): summing only
    /// the live threads made a run in which thread-pool threads retired come out negative.
    /// </summary>
    public static long CpuNs(int pid)
    {
        long live = 0, liveTicks = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                live += ThreadCpuNs(task) ?? 0;
                liveTicks += CpuTicks(Path.Combine(task, "stat")) ?? 0;
            }
            var exitedTicks = CpuTicks($"/proc/{pid}/stat") is { } all ? Math.Max(0, all - liveTicks) : 0;
            return live + exitedTicks * NsPerTick;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return live;
        }
    }

    // USER_HZ, the unit of utime and stime in /proc stat files: 100 on x86-64 and arm64 Linux.
    private const long NsPerTick = 10_000_000;

    /// <summary>utime + stime of a /proc stat file (a process's: all its threads, exited ones too), in clock ticks.</summary>
    private static long? CpuTicks(string statPath)
    {
        try
        {
            var stat = File.ReadAllText(statPath);
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 and 15 of stat(5), counted from the state letter (field 3) here.
            return long.Parse(fields[11]) + long.Parse(fields[12]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The first field of /proc/&lt;pid&gt;/task/&lt;tid&gt;/schedstat: time spent on a CPU, in ns.</summary>
    public static long? ThreadCpuNs(string taskDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(taskDirectory, "schedstat"));
            var end = text.IndexOf(' ');
            return long.Parse(end < 0 ? text : text[..end]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The kB fields of /proc/&lt;pid&gt;/status (VmRSS, RssAnon, RssFile, VmHWM ...).</summary>
    public static Dictionary<string, long> StatusKb(int pid)
    {
        var fields = new Dictionary<string, long>();
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            var colon = line.IndexOf(':');
            if (colon < 0 || !line.EndsWith(" kB", StringComparison.Ordinal))
                continue;
            if (long.TryParse(line[(colon + 1)..^3].Trim(), out var kb))
                fields[line[..colon]] = kb;
        }
        return fields;
    }

    /// <summary>Proportional set size (kB) from /proc/&lt;pid&gt;/smaps_rollup, or null where the kernel has none.</summary>
    public static long? PssKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                    return long.Parse(line[4..].Trim().Split(' ')[0]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }
}
