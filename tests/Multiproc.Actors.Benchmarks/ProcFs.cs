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

    /// <summary>CPU time (ns) used so far by each live thread of <paramref name="pid"/>, by thread id (empty when it is gone).</summary>
    public static Dictionary<int, long> ThreadsCpuNs(int pid)
    {
        var threads = new Dictionary<int, long>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), out var tid) && ThreadCpuNs(task) is { } ns)
                    threads[tid] = ns;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return threads;
    }

    /// <summary>
    /// CPU time (ns) a process used between two <see cref="ThreadsCpuNs"/> readings: a thread in both
    /// counts what it added, a thread born since counts whole, a thread gone since counts nothing.
    /// Threads that go are mostly thread-pool threads retiring after seconds of idleness, so they used
    /// next to nothing in between; a sum over the live threads counted their past as negative time.
    /// </summary>
    public static long CpuNsBetween(Dictionary<int, long> before, Dictionary<int, long> after) =>
        after.Sum(t => t.Value - before.GetValueOrDefault(t.Key));

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
