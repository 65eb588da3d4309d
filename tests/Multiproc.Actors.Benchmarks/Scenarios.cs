using System.Diagnostics;

namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// The scenarios, each shaped like its Python script (same item counts, same functions, same
/// warm-up, same timing window). Every pool is a fresh <c>ProcessPool(2)</c> in the default context,
/// disposed at the end of its scenario, as the scripts' <c>with ctx.Pool(2) as pool:</c>.
/// </summary>
internal static class Scenarios
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(300);

    /// <summary>pool_startup.py, cold and warm: a fresh process per run (see <see cref="StartupChild"/>).</summary>
    public static ScenarioOutput Startup(Bench bench)
    {
        if (bench.WarmUp)
            StartupChild.Run();
        var (trials, guard) = bench.Measure(StartupChild.Run);
        var figures = trials[0].Keys.ToDictionary(key => key, key => Summary.Of(trials.Select(t => t[key])));
        return new ScenarioOutput(figures, guard, new() { ["workers"] = 2, ["map_items"] = 2 });
    }

    /// <summary>map_overhead.py's map_1M_default: <c>MapAsync(Identity, range(1M)).Get()</c>, default chunksize.</summary>
    public static ScenarioOutput Map1M(Bench bench) => MapItems(bench, bench.Smoke ? 1_000 : 1_000_000, chunksize: null);

    /// <summary>map_overhead.py's map_100k_chunk1.</summary>
    public static ScenarioOutput Map100KChunk1(Bench bench) => MapItems(bench, bench.Smoke ? 1_000 : 100_000, chunksize: 1);

    private static ScenarioOutput MapItems(Bench bench, int n, int? chunksize)
    {
        var before = ProcFs.WorkersOf(Environment.ProcessId);
        using var pool = new ProcessPool(2);
        var cpu = CpuMeter.ForWorkersSince(before);
        // map_overhead.py warms its pool with a map over 10,000 items; one whole unmeasured run also warms the JIT here.
        pool.Map(Tasks.Identity, Enumerable.Range(0, Math.Min(n, 10_000)));
        var expected = (long)n * (n - 1) / 2;
        (double Rate, (double Parent, double Workers) Cpu) One()
        {
            var c0 = cpu.Now();
            var t0 = Stopwatch.GetTimestamp();
            var result = pool.MapAsync(Tasks.Identity, Enumerable.Range(0, n), chunksize).Get(CallLimit);
            var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var used = cpu.PerUnitSince(c0, n);
            Check(result.Count == n && result[^1] == n - 1 && result.Sum(x => (long)x) == expected, "Map returned wrong results.");
            return (n / wall, used);
        }
        var first = bench.WarmUpRuns(One);
        var (runs, guard) = bench.Measure(One);
        var figures = new Dictionary<string, Summary> { ["items_per_s"] = Summary.Of(runs.Select(r => r.Rate)) };
        AddCpu(figures, cpu, runs.Select(r => r.Cpu));
        return new ScenarioOutput(figures, guard, new()
        {
            ["N"] = n,
            ["chunksize"] = chunksize?.ToString() ?? "default",
            ["first_run_items_per_s"] = Round(first?.Rate),
        });
    }

    /// <summary>latency.py's apply figure: 2,000 sequential <c>Apply(Identity, i)</c>, each timed; per run the median, p99 (nearest rank) and mean.</summary>
    public static ScenarioOutput Apply(Bench bench)
    {
        var calls = bench.Smoke ? 20 : 2_000;
        var (pool, cpu) = ApplyPool(bench);
        using var disposePool = pool;
        (double Median, double P99, double Mean, (double Parent, double Workers) Cpu) One()
        {
            var c0 = cpu.Now();
            var latencies = new double[calls];
            for (var i = 0; i < calls; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                var r = pool.Apply(Tasks.Identity, i);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                Check(r == i, "Apply returned a wrong result.");
            }
            var used = cpu.PerUnitSince(c0, calls);
            Array.Sort(latencies);
            return (Stats.Median(latencies), Stats.Percentile(latencies, 99), latencies.Average(), used);
        }
        var first = bench.WarmUpRuns(One);
        var (runs, guard) = bench.Measure(One);
        var figures = new Dictionary<string, Summary>
        {
            ["median_us"] = Summary.Of(runs.Select(r => r.Median)),
            ["p99_us"] = Summary.Of(runs.Select(r => r.P99)),
            ["mean_us"] = Summary.Of(runs.Select(r => r.Mean)),
        };
        AddCpu(figures, cpu, runs.Select(r => r.Cpu));
        return new ScenarioOutput(figures, guard, new() { ["calls"] = calls, ["first_run_median_us"] = Round(first?.Median) });
    }

    /// <summary>A fresh pool and the meter of its workers' CPU, after latency.py's 500 unmeasured applies.</summary>
    private static (ProcessPool Pool, CpuMeter Cpu) ApplyPool(Bench bench)
    {
        var before = ProcFs.WorkersOf(Environment.ProcessId);
        var pool = new ProcessPool(2);
        var cpu = CpuMeter.ForWorkersSince(before);
        if (bench.WarmUp)
        {
            for (var i = 0; i < 500; i++)
                pool.Apply(Tasks.Identity, i);
        }
        return (pool, cpu);
    }

    /// <summary>latency.py's fan-out figure: 10,000 <c>ApplyAsync(Identity, i)</c> back to back, then <c>Get</c> on all.</summary>
    public static ScenarioOutput ApplyAsync(Bench bench)
    {
        var calls = bench.Smoke ? 100 : 10_000;
        var (pool, cpu) = ApplyPool(bench);
        using var disposePool = pool;
        (double Rate, (double Parent, double Workers) Cpu) One()
        {
            var c0 = cpu.Now();
            var t0 = Stopwatch.GetTimestamp();
            var pending = new AsyncResult<int>[calls];
            for (var i = 0; i < calls; i++)
                pending[i] = pool.ApplyAsync(Tasks.Identity, i);
            var last = 0;
            foreach (var result in pending)
                last = result.Get(CallLimit);
            var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var used = cpu.PerUnitSince(c0, calls);
            Check(last == calls - 1, "ApplyAsync returned a wrong result.");
            return (calls / wall, used);
        }
        var first = bench.WarmUpRuns(One);
        var (runs, guard) = bench.Measure(One);
        var figures = new Dictionary<string, Summary> { ["calls_per_s"] = Summary.Of(runs.Select(r => r.Rate)) };
        AddCpu(figures, cpu, runs.Select(r => r.Cpu));
        return new ScenarioOutput(figures, guard, new() { ["calls"] = calls, ["first_run_calls_per_s"] = Round(first?.Rate) });
    }

    /// <summary>payload.py's echo_chunk1: 200 distinct random 1 MiB <c>byte[]</c> through <c>MapAsync(Echo, data, 1)</c>.</summary>
    public static ScenarioOutput Payload(Bench bench)
    {
        var (items, size) = bench.Smoke ? (4, 64 << 10) : (200, 1 << 20);
        var random = new Random(6);
        var data = Enumerable.Range(0, items).Select(_ =>
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return bytes;
        }).ToArray();
        var mib = (double)items * size / (1 << 20);
        var before = ProcFs.WorkersOf(Environment.ProcessId);
        using var pool = new ProcessPool(2);
        var cpu = CpuMeter.ForWorkersSince(before);
        pool.Map(Tasks.Echo, data.Take(8), 1);
        (double Rate, (double Parent, double Workers) Cpu) One()
        {
            var c0 = cpu.Now();
            var t0 = Stopwatch.GetTimestamp();
            var result = pool.MapAsync(Tasks.Echo, data, 1).Get(CallLimit);
            var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var used = cpu.PerUnitSince(c0, mib);
            var probe = Math.Min(7, items - 1);
            Check(result.Count == items && result[probe].AsSpan().SequenceEqual(data[probe]), "Echo returned wrong bytes.");
            return (mib / wall, used);
        }
        var first = bench.WarmUpRuns(One);
        var (runs, guard) = bench.Measure(One);
        var figures = new Dictionary<string, Summary> { ["mib_per_s"] = Summary.Of(runs.Select(r => r.Rate)) };
        AddCpu(figures, cpu, runs.Select(r => r.Cpu));
        return new ScenarioOutput(figures, guard, new()
        {
            ["items"] = items,
            ["item_bytes"] = size,
            ["round_trip_MiB_per_s_median"] = Math.Round(2 * Stats.Median(runs.Select(r => r.Rate)), 1),
            ["first_run_mib_per_s"] = Round(first?.Rate),
        });
    }

    /// <summary>
    /// cpu_scaling.py: <c>Work(k)</c> calibrated to ~20 ms, 200 items; serial in this process (measured
    /// before and after the pool figures) vs a warm <c>ProcessPool(2)</c> with chunksize 1 and the default.
    /// efficiency = median serial / pool wall / 2, per run.
    /// </summary>
    public static ScenarioOutput Cpu(Bench bench)
    {
        var items = bench.Smoke ? 4 : 200;
        var targetMs = bench.Smoke ? 1.0 : 20.0;
        bench.Guard.WaitForQuiet(TimeSpan.FromSeconds(60));
        var (k, perCallMs) = Calibrate(targetMs, bench.Smoke);
        var work = Enumerable.Repeat(k, items).ToArray();
        var expected = Tasks.Work(k);

        double Serial()
        {
            var t0 = Stopwatch.GetTimestamp();
            var last = 0L;
            foreach (var x in work)
                last = Tasks.Work(x);
            var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            Check(last == expected, "Work returned a wrong result.");
            return wall;
        }
        var (serialBefore, guardBefore) = bench.Measure(Serial);

        var before = ProcFs.WorkersOf(Environment.ProcessId);
        List<(double Wall, double Cpu)> chunk1, defaults;
        GuardInfo? guard;
        using (var pool = new ProcessPool(2))
        {
            pool.Map(Tasks.Work, Enumerable.Repeat(1000L, 10));
            var workers = ProcFs.WorkersOf(Environment.ProcessId).Except(before).ToArray();
            Check(workers.Length == 2, $"Expected 2 worker processes, found {workers.Length}.");
            (double Wall, double Cpu) Timed(int? chunksize)
            {
                var c0 = workers.Select(ProcFs.ThreadsCpuNs).ToArray();
                var t0 = Stopwatch.GetTimestamp();
                var result = pool.MapAsync(Tasks.Work, work, chunksize).Get(CallLimit);
                var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var cpu = workers.Select((pid, i) => ProcFs.CpuNsBetween(c0[i], ProcFs.ThreadsCpuNs(pid))).Sum() / 1e9;
                Check(result[^1] == expected, "Work returned a wrong result.");
                Check(workers.All(ProcFs.WorkersOf(Environment.ProcessId).Contains), "A worker was replaced during the run.");
                return (wall, cpu);
            }
            (defaults, _) = bench.Measure(() => Timed(null));
            (chunk1, guard) = bench.Measure(() => Timed(1));
        }
        var (serialAfter, guardAfter) = bench.Measure(Serial);
        var serial = serialBefore.Concat(serialAfter).ToArray();
        var serialMedian = Stats.Median(serial);
        return new ScenarioOutput(new()
        {
            ["efficiency"] = Summary.Of(chunk1.Select(r => serialMedian / r.Wall / 2)),
            ["speedup"] = Summary.Of(chunk1.Select(r => serialMedian / r.Wall)),
            ["worker_utilization"] = Summary.Of(chunk1.Select(r => r.Cpu / (2 * r.Wall))),
            ["efficiency_default_chunks"] = Summary.Of(defaults.Select(r => serialMedian / r.Wall / 2)),
            ["pool_wall_s"] = Summary.Of(chunk1.Select(r => r.Wall)),
            ["serial_s"] = Summary.Of(serial),
        }, guard, new()
        {
            ["items"] = items,
            ["k"] = k,
            ["one_call_ms_at_calibration"] = Math.Round(perCallMs, 2),
            ["serial_per_call_ms_median"] = Math.Round(serialMedian / items * 1e3, 2),
            ["serial_median_before_s"] = Math.Round(Stats.Median(serialBefore), 4),
            ["serial_median_after_s"] = Math.Round(Stats.Median(serialAfter), 4),
            ["serial_guard"] = new[] { guardBefore, guardAfter },
        });
    }

    /// <summary>cpu_scaling.py's calibrate: scale k until one call takes the target, then time it 9 times.</summary>
    private static (long K, double PerCallMs) Calibrate(double targetMs, bool quick)
    {
        var k = 50_000L;
        for (var round = 0; round < 3; round++)
        {
            var per = Stats.Median(Enumerable.Range(0, quick ? 3 : 5).Select(_ => TimeWork(k)));
            k = Math.Max(1000, (long)(k * (targetMs / 1e3) / per));
        }
        var perCall = Stats.Median(Enumerable.Range(0, quick ? 3 : 9).Select(_ => TimeWork(k)));
        return (k, perCall * 1e3);
    }

    private static double TimeWork(long k)
    {
        var t0 = Stopwatch.GetTimestamp();
        Tasks.Work(k);
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>
    /// simplequeue.py's SimpleQueue figure: a queue handed to <c>ProcessPool(2)</c> through
    /// <c>initargs</c>; <c>MapAsync(Produce, 100 ranges of 1,000, 1)</c> makes the workers put
    /// 100,000 <c>(pid, value)</c> while this process does 100,000 <c>Get()</c>. Then the same with
    /// one <c>PutMany</c> per task.
    /// </summary>
    public static ScenarioOutput SimpleQueue(Bench bench)
    {
        var (n, batch) = bench.Smoke ? (100, 10) : (100_000, 1_000);
        var ranges = Enumerable.Range(0, n / batch).Select(i => (Start: i * batch, End: i * batch + batch)).ToArray();
        var queue = new SimpleQueue<(int Pid, int Value)>();
        try
        {
            var before = ProcFs.WorkersOf(Environment.ProcessId);
            using var pool = new ProcessPool(2, initializer: Tasks.InitQueue, initargs: [queue]);
            var cpu = CpuMeter.ForWorkersSince(before);
            pool.Map(Tasks.Identity, Enumerable.Range(0, 4));

            (double Wall, int[] Split, (double Parent, double Workers) Cpu) Once(Func<(int Start, int End), int> produce)
            {
                var seen = new byte[n];
                var perWorker = new Dictionary<int, int>();
                var c0 = cpu.Now();
                var t0 = Stopwatch.GetTimestamp();
                var pending = pool.MapAsync(produce, ranges, 1);
                for (var i = 0; i < n; i++)
                {
                    var (pid, value) = queue.Get();
                    seen[value]++;
                    perWorker[pid] = perWorker.GetValueOrDefault(pid) + 1;
                }
                var sent = pending.Get(CallLimit).Sum();
                var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var used = cpu.PerUnitSince(c0, n);
                Check(sent == n && seen.All(s => s == 1), "Lost or duplicated queue items.");
                return (wall, perWorker.Values.Order().ToArray(), used);
            }

            // simplequeue.py: one unmeasured run (here: as many as the warm-up takes), then the measured ones.
            var firstPut = bench.WarmUpRuns(() => Once(Tasks.Produce));
            var (puts, guard) = bench.Measure(() => Once(Tasks.Produce));
            var firstMany = bench.WarmUpRuns(() => Once(Tasks.ProduceMany));
            var (many, guardMany) = bench.Measure(() => Once(Tasks.ProduceMany));
            var figures = new Dictionary<string, Summary>
            {
                ["put_items_per_s"] = Summary.Of(puts.Select(r => n / r.Wall)),
                ["putmany_items_per_s"] = Summary.Of(many.Select(r => n / r.Wall)),
            };
            AddCpu(figures, cpu, puts.Select(r => r.Cpu), "put_");
            AddCpu(figures, cpu, many.Select(r => r.Cpu), "putmany_");
            return new ScenarioOutput(figures, guard, new()
            {
                ["items"] = n,
                ["tasks"] = ranges.Length,
                ["put_items_per_worker_per_run"] = puts.Select(r => r.Split).ToArray(),
                ["putmany_items_per_worker_per_run"] = many.Select(r => r.Split).ToArray(),
                ["putmany_guard"] = guardMany,
                ["first_run_put_items_per_s"] = Round(n / firstPut?.Wall),
                ["first_run_putmany_items_per_s"] = Round(n / firstMany?.Wall),
            });
        }
        finally
        {
            queue.Close();
        }
    }

    /// <summary>
    /// memory.py's pool figure: the two workers of an idle <c>ProcessPool(2)</c> after a small map,
    /// read 0.3 s later from /proc/&lt;pid&gt;/status and smaps_rollup; a fresh pool per run, both workers
    /// sampled (so 2 × runs samples).
    /// </summary>
    public static ScenarioOutput Memory(Bench bench)
    {
        var samples = new List<(long VmRss, long RssAnon, long? Pss)>();
        var threads = new List<long>();
        for (var run = 0; run < bench.Runs; run++)
        {
            var before = ProcFs.WorkersOf(Environment.ProcessId);
            using var pool = new ProcessPool(2);
            pool.Map(Tasks.Identity, Enumerable.Range(0, 8), 1);
            // One fast worker can run all 8 items while the other is still starting (and smaller):
            // measure only once both have run a task, as both of Python's have by then.
            for (var attempt = 0; attempt < 100 && pool.Map(Tasks.ProcessId, Enumerable.Range(0, 8), 1).Distinct().Count() < 2; attempt++)
            {
            }
            Thread.Sleep(300);
            var workers = ProcFs.WorkersOf(Environment.ProcessId).Except(before).ToArray();
            Check(workers.Length == 2, $"Expected 2 worker processes, found {workers.Length}.");
            foreach (var pid in workers)
            {
                var status = ProcFs.StatusKb(pid);
                samples.Add((status["VmRSS"], status.GetValueOrDefault("RssAnon"), ProcFs.PssKb(pid)));
                threads.Add(File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("Threads:", StringComparison.Ordinal))
                    .Select(l => long.Parse(l[8..].Trim())).FirstOrDefault());
            }
        }
        var figures = new Dictionary<string, Summary>
        {
            ["vmrss_mib"] = Summary.Of(samples.Select(s => s.VmRss / 1024.0)),
            ["rss_anon_mib"] = Summary.Of(samples.Select(s => s.RssAnon / 1024.0)),
        };
        if (samples.All(s => s.Pss is not null))
            figures["pss_mib"] = Summary.Of(samples.Select(s => s.Pss!.Value / 1024.0));
        using var self = Process.GetCurrentProcess();
        return new ScenarioOutput(figures, null, new()
        {
            ["settle_s"] = 0.3,
            ["worker_threads_median"] = Stats.Median(threads.Select(t => (double)t)),
            ["parent_VmRSS_MiB"] = Math.Round(ProcFs.StatusKb(Environment.ProcessId)["VmRSS"] / 1024.0, 1),
        });
    }

    /// <summary>Adds the CPU figures (µs per item of this process and of both workers) when both workers were found.</summary>
    private static void AddCpu(Dictionary<string, Summary> figures, CpuMeter cpu, IEnumerable<(double Parent, double Workers)> runs, string prefix = "")
    {
        if (!cpu.Complete)
            return;
        var list = runs.ToList();
        figures[prefix + "parent_cpu_us"] = Summary.Of(list.Select(r => r.Parent));
        figures[prefix + "workers_cpu_us"] = Summary.Of(list.Select(r => r.Workers));
    }

    /// <summary>A figure for the JSON notes: 3 significant digits are all a run's noise leaves (null stays null).</summary>
    private static double? Round(double? value) =>
        value is not { } v || v == 0 ? value : Math.Round(v, Math.Max(0, 2 - (int)Math.Floor(Math.Log10(Math.Abs(v)))));

    private static void Check(bool condition, string message)
    {
        if (!condition)
            throw new InvalidOperationException(message);
    }
}
