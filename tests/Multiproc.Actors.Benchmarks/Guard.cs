using System.Diagnostics;

namespace Multiproc.Actors.Benchmarks;

/// <summary>How the runs of one figure went through the guard.</summary>
internal sealed record GuardInfo(int Attempts, int DiscardedNoisyRuns, int NoisyRunsUsed, double ForeignCpuPctMaxUsed);

/// <summary>
/// The contamination guard of the Python side (<c>_bench.measure</c>), for our runs: the machine is
/// shared, so every timed run reads the CPU time of every thread on the machine before and after,
/// counts what threads outside this process tree and process group used ("foreign" CPU), waits
/// (bounded) for a quiet moment before each run, and repeats runs with more than
/// <c>MP_BENCH_MAX_FOREIGN_PCT</c> (default 5) % foreign CPU, at most 3 × runs attempts; if too few
/// clean runs came, the least noisy are used and counted.
/// </summary>
internal sealed class Guard
{
    private static readonly TimeSpan PerRunWait = TimeSpan.FromSeconds(30);
    private readonly int _self = Environment.ProcessId;
    private readonly int _group;
    private readonly int _cpus = Environment.ProcessorCount;
    private TimeSpan _waitBudget;

    public Guard(bool enabled)
    {
        Enabled = enabled;
        MaxForeignPct = EnvDouble("MP_BENCH_MAX_FOREIGN_PCT", 5);
        WaitBudget = TimeSpan.FromSeconds(EnvDouble("MP_BENCH_WAIT_BUDGET_S", 180));
        _group = ProcFs.Stat(_self)?.Group ?? -1;
    }

    public bool Enabled { get; }

    public double MaxForeignPct { get; }

    /// <summary>How long, in all, one scenario may wait for quiet moments.</summary>
    public TimeSpan WaitBudget { get; }

    /// <summary>Starts a scenario: its wait budget is full again.</summary>
    public void NewScenario() => _waitBudget = WaitBudget;

    /// <summary>Calls <paramref name="run"/> until <paramref name="runs"/> clean results were obtained (see the class remarks).</summary>
    public (List<T> Values, GuardInfo? Info) Measure<T>(Func<T> run, int runs)
    {
        if (!Enabled)
            return (Enumerable.Range(0, runs).Select(_ => run()).ToList(), null);
        var kept = new List<(T Value, double Foreign)>();
        var dropped = new List<(T Value, double Foreign)>();
        var attempts = 0;
        while (kept.Count < runs && attempts < 3 * runs)
        {
            attempts++;
            WaitForQuiet();
            var t0 = Stopwatch.GetTimestamp();
            var s0 = Snapshot.Take(_group);
            var value = run();
            var s1 = Snapshot.Take(_group);
            var wall = Stopwatch.GetElapsedTime(t0);
            var foreign = ForeignPct(s0, s1, wall);
            (foreign <= MaxForeignPct ? kept : dropped).Add((value, foreign));
        }
        var noisyUsed = 0;
        if (kept.Count < runs)
        {
            dropped.Sort((a, b) => a.Foreign.CompareTo(b.Foreign));
            noisyUsed = Math.Min(runs - kept.Count, dropped.Count);
            kept.AddRange(dropped.Take(noisyUsed));
            dropped.RemoveRange(0, noisyUsed);
        }
        var info = new GuardInfo(attempts, dropped.Count, noisyUsed, Math.Round(kept.Max(k => k.Foreign), 2));
        return (kept.Select(k => k.Value).ToList(), info);
    }

    /// <summary>Waits until foreign CPU over 0.2 s is at most the threshold, or <paramref name="limit"/> (default 30 s) or the scenario's wait budget is spent.</summary>
    public void WaitForQuiet(TimeSpan? limit = null)
    {
        if (!Enabled)
            return;
        var waiting = Stopwatch.StartNew();
        var within = limit ?? PerRunWait;
        if (_waitBudget < within)
            within = _waitBudget;
        while (true)
        {
            var s0 = Snapshot.Take(_group);
            var t0 = Stopwatch.GetTimestamp();
            Thread.Sleep(200);
            var s1 = Snapshot.Take(_group);
            if (ForeignPct(s0, s1, Stopwatch.GetElapsedTime(t0)) <= MaxForeignPct || waiting.Elapsed > within)
                break;
        }
        _waitBudget -= waiting.Elapsed;
        if (_waitBudget < TimeSpan.Zero)
            _waitBudget = TimeSpan.Zero;
    }

    private double ForeignPct(Snapshot s0, Snapshot s1, TimeSpan wall)
    {
        // Ours: this process's descendants (workers, a start-up child and its workers), plus our process group.
        var children = new Dictionary<int, List<int>>();
        foreach (var map in new[] { s0.Parents, s1.Parents })
        {
            foreach (var (pid, parent) in map)
            {
                if (!children.TryGetValue(parent, out var list))
                    children[parent] = list = [];
                list.Add(pid);
            }
        }
        var ours = new HashSet<int> { _self };
        var todo = new Stack<int>([_self]);
        while (todo.Count > 0)
        {
            if (!children.TryGetValue(todo.Pop(), out var kids))
                continue;
            foreach (var kid in kids)
            {
                if (ours.Add(kid))
                    todo.Push(kid);
            }
        }
        ours.UnionWith(s0.Group);
        ours.UnionWith(s1.Group);
        long foreignNs = 0;
        foreach (var ((pid, tid), ns) in s1.Threads)
        {
            if (!ours.Contains(pid))
                foreignNs += Math.Max(0, ns - s0.Threads.GetValueOrDefault((pid, tid)));
        }
        return 100.0 * foreignNs / (wall.TotalNanoseconds * _cpus);
    }

    private static double EnvDouble(string name, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

    /// <summary>CPU time of every thread on the machine, every process's parent, and the pids in our process group.</summary>
    private sealed record Snapshot(Dictionary<(int Pid, int Tid), long> Threads, Dictionary<int, int> Parents, HashSet<int> Group)
    {
        public static Snapshot Take(int group)
        {
            var threads = new Dictionary<(int, int), long>();
            var parents = new Dictionary<int, int>();
            var inGroup = new HashSet<int>();
            foreach (var pid in ProcFs.Pids())
            {
                if (ProcFs.Stat(pid) is not { } stat)
                    continue;
                parents[pid] = stat.ParentPid;
                if (stat.Group == group)
                    inGroup.Add(pid);
                IEnumerable<string> tasks;
                try
                {
                    tasks = Directory.GetDirectories($"/proc/{pid}/task");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                foreach (var task in tasks)
                {
                    if (int.TryParse(Path.GetFileName(task), out var tid) && ProcFs.ThreadCpuNs(task) is { } ns)
                        threads[(pid, tid)] = ns;
                }
            }
            return new Snapshot(threads, parents, inGroup);
        }
    }
}
