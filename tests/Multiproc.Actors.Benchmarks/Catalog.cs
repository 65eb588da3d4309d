namespace Multiproc.Actors.Benchmarks;

/// <summary>What a figure must reach (issue 6's "target for us" column).</summary>
/// <param name="Text">The target as the issue words it.</param>
/// <param name="Check">Met or not, from our median and the ratio to Python (null when the ratio is unknown).</param>
internal sealed record Target(string Text, Func<double, double?, bool?> Check)
{
    /// <summary>A ratio to Python's figure (&gt; 1 = we are better) of at least <paramref name="ratio"/>.</summary>
    public static Target RatioAtLeast(double ratio, string text) => new(text, (_, r) => r is { } x ? x >= ratio : null);

    /// <summary>Our median at most <paramref name="value"/>.</summary>
    public static Target AtMost(double value, string text) => new(text, (ours, _) => ours <= value);

    /// <summary>Our median at least <paramref name="value"/>.</summary>
    public static Target AtLeast(double value, string text) => new(text, (ours, _) => ours >= value);
}

/// <summary>One figure of a scenario, and where the matching Python figure is in its script's JSON line.</summary>
/// <param name="Key">The figure's name in our JSON line.</param>
/// <param name="Title">What it measures, for the table.</param>
/// <param name="Unit">Its unit.</param>
/// <param name="Better">Whether bigger or smaller is better.</param>
/// <param name="PythonPath">Dotted path to Python's figure in the script's JSON (a min/median/max object or a number); null when there is none.</param>
/// <param name="PythonScale">Factor from Python's unit to ours (kB to MiB).</param>
/// <param name="Target">The target, if it sets one for this figure.</param>
internal sealed record FigureDef(string Key, string Title, string Unit, Better Better, string? PythonPath,
    double PythonScale = 1, Target? Target = null);

/// <summary>A scenario: one row of the table, its figures (the first is the headline), and the Python script that measures the same.</summary>
/// <param name="Name">The scenario's name on the command line.</param>
/// <param name="Title">What it measures.</param>
/// <param name="PythonScript">The script; empty for none.</param>
/// <param name="PythonSpawnOnly">Whether the script takes <c>--methods spawn</c>.</param>
/// <param name="Figures">Its figures, the headline first.</param>
/// <param name="Run">Measures it.</param>
/// <param name="OnlyByName">Not among "all": runs only when named (a soak rather than a figure).</param>
internal sealed record ScenarioDef(string Name, string Title, string PythonScript, bool PythonSpawnOnly, FigureDef[] Figures,
    Func<Bench, ScenarioOutput> Run, bool OnlyByName = false)
{
    public FigureDef Headline => Figures[0];
}

/// <summary>What a scenario measured: its figures by key, the guard's account of the runs, and notes for the JSON line.</summary>
internal sealed record ScenarioOutput(Dictionary<string, Summary> Figures, GuardInfo? Guard, Dictionary<string, object?> Notes);

/// <summary>The scenarios of issue 6, in the order, each with the Python script and JSON fields it compares with.</summary>
internal static class Catalog
{
    private const string Spawn = "spawn";

    public static readonly ScenarioDef[] All =
    [
        new("startup", "ProcessPool(2) construct -> first result -> close + join, fresh process", "pool_startup", PythonSpawnOnly: false,
        [
            new("total_ms", "ProcessPool(2) -> first result -> close+join, fresh process", "ms", Better.Lower, "cold.spawn.total_ms",
                Target: Target.RatioAtLeast(0.5, "<= 2x Python spawn cold")),
            new("first_result_ms", "... -> first result only, fresh process", "ms", Better.Lower, "cold.spawn.first_result_ms"),
            new("ctor_ms", "... constructor only, fresh process", "ms", Better.Lower, "cold.spawn.ctor_ms"),
            new("close_join_ms", "... close+join only, fresh process", "ms", Better.Lower, "cold.spawn.close_join_ms"),
            new("warm_total_ms", "second pool in the same process, new workers -> close+join", "ms", Better.Lower, "warm.spawn.total_ms"),
            new("warm_first_result_ms", "second pool in the same process, new workers -> first result", "ms", Better.Lower, "warm.spawn.first_result_ms"),
            new("kept_total_ms", "next pool taking the kept workers (warm-workers.max = 2) -> close+join", "ms", Better.Lower, "warm.spawn.total_ms",
                Target: Target.AtMost(20, "<= 20 ms (warm workers reused)")),
            new("kept_first_result_ms", "next pool taking the kept workers -> first result", "ms", Better.Lower, "warm.spawn.first_result_ms"),
            new("runtime_start_ms", "fresh process: process start -> Main, for scale", "ms", Better.Lower, null),
            new("process_wall_ms", "fresh process: spawn -> exit, seen from the parent (4 pools)", "ms", Better.Lower, null),
        ], Scenarios.Startup),

        new("map_1m", "Map identity over 1M ints, default chunks", "map_overhead", PythonSpawnOnly: true,
        [
            new("items_per_s", "Map identity over 1M ints, default chunks", "items/s", Better.Higher, "spawn.map_1M_default.items_per_s",
                Target: Target.RatioAtLeast(3, ">= 3x Python")),
            new("parent_cpu_us", "... CPU of this process per item", "us/item", Better.Lower, null),
            new("workers_cpu_us", "... CPU of both workers per item", "us/item", Better.Lower, null),
        ], Scenarios.Map1M),

        new("map_100k_chunk1", "Map 100k items, chunksize 1", "map_overhead", PythonSpawnOnly: true,
        [
            new("items_per_s", "Map 100k items, chunksize 1", "items/s", Better.Higher, "spawn.map_100k_chunk1.items_per_s",
                Target: Target.RatioAtLeast(2, ">= 2x Python")),
            new("parent_cpu_us", "... CPU of this process per item", "us/item", Better.Lower, null),
            new("workers_cpu_us", "... CPU of both workers per item", "us/item", Better.Lower, null),
        ], Scenarios.Map100KChunk1),

        new("apply", "Apply round trip, 2000 sequential calls", "latency", PythonSpawnOnly: true,
        [
            new("median_us", "Apply round trip, median of 2000", "us", Better.Lower, "spawn.apply_median_us",
                Target: Target.AtMost(120, "<= 120 us")),
            new("p99_us", "Apply round trip, p99 of 2000", "us", Better.Lower, "spawn.apply_p99_us"),
            new("mean_us", "Apply round trip, mean of 2000", "us", Better.Lower, "spawn.apply_mean_us"),
            new("parent_cpu_us", "... CPU of this process per call", "us/call", Better.Lower, null),
            new("workers_cpu_us", "... CPU of both workers per call", "us/call", Better.Lower, null),
        ], Scenarios.Apply),

        new("apply_async", "ApplyAsync fan-out of 10k, then get all", "latency", PythonSpawnOnly: true,
        [
            new("calls_per_s", "ApplyAsync fan-out of 10k, then get all", "calls/s", Better.Higher, "spawn.fanout_calls_per_s",
                Target: Target.RatioAtLeast(3, ">= 3x Python")),
            new("parent_cpu_us", "... CPU of this process per call", "us/call", Better.Lower, null),
            new("workers_cpu_us", "... CPU of both workers per call", "us/call", Better.Lower, null),
        ], Scenarios.ApplyAsync),

        new("payload", "200 x 1 MiB byte[] echoed, chunksize 1", "payload", PythonSpawnOnly: true,
        [
            new("mib_per_s", "200 x 1 MiB byte[] echoed, chunksize 1", "MiB/s", Better.Higher, "spawn.echo_chunk1.MiB_per_s",
                Target: Target.RatioAtLeast(2, ">= 2x Python")),
            new("parent_cpu_us", "... CPU of this process per MiB", "us/MiB", Better.Lower, null),
            new("workers_cpu_us", "... CPU of both workers per MiB", "us/MiB", Better.Lower, null),
        ], Scenarios.Payload),

        new("cpu", "CPU-bound 200 x ~20 ms tasks on 2 workers, chunksize 1", "cpu_scaling", PythonSpawnOnly: true,
        [
            new("efficiency", "CPU-bound 200 x ~20 ms, 2 workers, chunksize 1: efficiency", "", Better.Higher, "spawn_pool_chunk1.efficiency",
                Target: Target.AtLeast(0.97, ">= 0.97")),
            new("speedup", "... speed-up over serial in the parent", "x", Better.Higher, "spawn_pool_chunk1.speedup"),
            new("worker_utilization", "... worker CPU time / (2 x wall)", "", Better.Higher, "spawn_pool_chunk1.worker_utilization"),
            new("efficiency_default_chunks", "... efficiency with the default chunksize (25)", "", Better.Higher, "spawn_pool_default.efficiency"),
            new("pool_wall_s", "... pool wall time, chunksize 1", "s", Better.Lower, "spawn_pool_chunk1.wall_s"),
            new("serial_s", "... serial time in the parent, 200 calls", "s", Better.Lower, "sequential_s"),
        ], Scenarios.Cpu),

        new("simplequeue", "SimpleQueue: 100 tasks x 1000 (pid, value) puts from 2 workers via initargs", "simplequeue", PythonSpawnOnly: true,
        [
            new("put_items_per_s", "SimpleQueue: 100 x 1000 Put from 2 workers, parent Get", "items/s", Better.Higher, "spawn.SimpleQueue.items_per_s",
                Target: Target.RatioAtLeast(1, ">= 1x Python")),
            new("putmany_items_per_s", "SimpleQueue: 100 x PutMany(1000) from 2 workers, parent Get", "items/s", Better.Higher, "spawn.SimpleQueue.items_per_s",
                Target: Target.RatioAtLeast(10, ">= 10x Python")),
            new("put_parent_cpu_us", "... Put: CPU of this process per item", "us/item", Better.Lower, null),
            new("put_workers_cpu_us", "... Put: CPU of both workers per item", "us/item", Better.Lower, null),
            new("putmany_parent_cpu_us", "... PutMany: CPU of this process per item", "us/item", Better.Lower, null),
            new("putmany_workers_cpu_us", "... PutMany: CPU of both workers per item", "us/item", Better.Lower, null),
        ], Scenarios.SimpleQueue),

        new("memory", "idle worker VmRSS", "memory", PythonSpawnOnly: false,
        [
            new("vmrss_mib", "idle pool worker VmRSS", "MiB", Better.Lower, "pool_spawn_worker.VmRSS_kB", 1.0 / 1024,
                Target: Target.AtMost(40, "<= 40 MiB")),
            new("rss_anon_mib", "idle pool worker RssAnon", "MiB", Better.Lower, "pool_spawn_worker.RssAnon_kB", 1.0 / 1024),
            new("pss_mib", "idle pool worker PSS", "MiB", Better.Lower, "pool_spawn_worker.Pss_kB", 1.0 / 1024),
        ], Scenarios.Memory),

        new("kill_soak", "a ready worker of ProcessPool(3) SIGKILLed every 300 ms during Map of 5,000 x ~2 ms tasks, chunksize 1", "",
            PythonSpawnOnly: false,
        [
            new("wall_s", "kill soak: Map of 5,000 x 2 ms on 3 workers, one killed every 300 ms (every result once, in order)", "s",
                Better.Lower, null),
            new("kills", "... workers killed during the Map", "", Better.Higher, null),
        ], KillSoak.Run, OnlyByName: true),
    ];

    public static ScenarioDef? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>The arguments for the Python script: only the spawn method where the script takes <c>--methods</c>.</summary>
    public static string[] PythonArgs(ScenarioDef scenario) => scenario.PythonSpawnOnly ? ["--methods", Spawn] : [];
}
