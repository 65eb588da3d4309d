using System.Globalization;

namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// Issue 6's benchmark program: the figures of Python's multiprocessing anchor (../shared/peer/python),
/// measured for this library on the same machine.
/// <code>
/// dotnet run -c Release --project tests/Multiproc.Actors.Benchmarks -- [scenario ...] [--runs N]
///     [--warmup-s S] [--compare-python PATH] [--smoke] [--no-guard] [--list]
/// </code>
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: Multiproc.Actors.Benchmarks [scenario ...] [--runs N] [--warmup-s S] [--compare-python PATH] [--smoke] [--no-guard] [--list]

          scenario             one or more of the names --list prints; all of them when none is given
          --runs N             timed runs per figure after the warm-up (default 5, at least 5 for a figure to quote)
          --warmup-s S         repeat a throughput scenario's unmeasured run until S seconds have passed (default 6;
                               0: one run, as the Python scripts): the timed runs then see steady state, after the
                               JIT has recompiled the hot code; the first run's figure is kept in the JSON line
          --compare-python P   also run the matching Python script (python3 P/<script>.py) in the same session,
                               right after ours, and print the ratio per figure (> 1 = we are better);
                               the Python side runs MP_BENCH_RUNS runs per figure (default: --runs)
          --smoke              every scenario once at tiny size, without warm-up or guard (for the smoke test)
          --no-guard           do not wait for quiet moments or redo runs with > 5 % foreign CPU
          --list               list the scenarios and exit

        Standard output: a table row per figure, one JSON line per scenario, a markdown table at the end.
        Progress goes to standard error.
        """;

    private static int Main(string[] args)
    {
        if (args is [StartupChild.Flag])
            return StartupChild.RunInChild();

        var names = new List<string>();
        var runs = 5;
        var warmUpSeconds = 6.0;
        string? pythonPath = null;
        var smoke = false;
        var guarded = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1:
                    runs = n;
                    i++;
                    break;
                case "--warmup-s" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0:
                    warmUpSeconds = s;
                    i++;
                    break;
                case "--compare-python" when i + 1 < args.Length:
                    pythonPath = args[++i];
                    break;
                case "--smoke":
                    smoke = true;
                    break;
                case "--no-guard":
                    guarded = false;
                    break;
                case "--list":
                    foreach (var s in Catalog.All)
                        Console.Out.WriteLine($"{s.Name,-16} {s.Title}{(s.PythonScript.Length > 0 ? $"  (Python: {s.PythonScript}.py)" : "  (no Python side; only by name)")}");
                    return 0;
                case "-h" or "--help":
                    Console.Out.WriteLine(Usage);
                    return 0;
                case var name when !name.StartsWith('-') && (name == "all" || Catalog.Find(name) is not null):
                    names.Add(name);
                    break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete argument: {args[i]}\n\n{Usage}");
                    return 2;
            }
        }
        var selected = names.Count == 0 || names.Contains("all")
            ? Catalog.All.Where(s => !s.OnlyByName).ToArray()
            : Catalog.All.Where(s => names.Contains(s.Name)).ToArray();

        PythonSide? python = null;
        if (pythonPath is not null)
        {
            python = new PythonSide(pythonPath, runs);
            try
            {
                python.Check(selected.Select(s => s.PythonScript).Where(script => script.Length > 0).Distinct());
            }
            catch (FileNotFoundException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
        }

        var bench = new Bench(runs, smoke, new Guard(guarded && !smoke), TimeSpan.FromSeconds(warmUpSeconds));
        Bench.Log($"{selected.Length} scenario(s), {bench.Runs} run(s) per figure{(smoke ? ", smoke mode" : "")}" +
                  $"{(bench.Guard.Enabled ? $", guard on (max {bench.Guard.MaxForeignPct} % foreign CPU per run)" : ", guard off")}" +
                  $"{(python is null ? "" : $", Python side: {python.Directory}")}; {Environment.ProcessorCount} CPUs.");
        Report.Header(python is not null);

        var all = new List<FigureRow>();
        var failed = false;
        // Ours, then Python's script for the same figures, group by group: the two sides of a figure
        // are taken minutes apart at most, and the host's speed level is probed before each.
        foreach (var group in selected.GroupBy(s => s.PythonScript))
        {
            var probeOurs = python?.Probe();
            var outputs = new List<(ScenarioDef Scenario, ScenarioOutput? Output)>();
            foreach (var scenario in group)
            {
                outputs.Add((scenario, RunOurs(bench, scenario)));
                failed |= outputs[^1].Output is null;
            }
            System.Text.Json.Nodes.JsonObject? pythonJson = null;
            double? probePython = null;
            if (python is not null && group.Key.Length > 0 && outputs.Any(o => o.Output is not null))
            {
                probePython = python.Probe();
                Bench.Log(string.Join(' ', ["python3", $"{group.Key}.py", .. Catalog.PythonArgs(group.First()), "..."]));
                try
                {
                    pythonJson = python.Run(group.Key, Catalog.PythonArgs(group.First()));
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception or System.Text.Json.JsonException)
                {
                    Console.Error.WriteLine($"Python side of {group.Key}: {e.Message}");
                    failed = true;
                }
            }
            foreach (var (scenario, output) in outputs)
            {
                if (output is null)
                    continue;
                var rows = scenario.Figures
                    .Where(f => output.Figures.ContainsKey(f.Key))
                    .Select(f => new FigureRow(scenario, f, output.Figures[f.Key],
                        pythonJson is not null && f.PythonPath is not null
                            ? PythonSide.Figure(pythonJson, f.PythonPath, f.PythonScale, scenario.PythonScript)
                            : null))
                    .ToList();
                Report.Rows(rows, python is not null);
                Report.Json(scenario, output, rows, smoke, python is null ? null : (probeOurs, probePython));
                all.AddRange(rows);
            }
        }
        Report.Markdown(all, python is not null);
        return failed ? 1 : 0;
    }

    private static ScenarioOutput? RunOurs(Bench bench, ScenarioDef scenario)
    {
        Bench.Log($"{scenario.Name}: {scenario.Title} ...");
        bench.Guard.NewScenario();
        using var watchdog = new Watchdog(bench.Smoke ? TimeSpan.FromSeconds(110) : TimeSpan.FromMinutes(20), $"scenario {scenario.Name}");
        try
        {
            var output = scenario.Run(bench);
            Bench.Log($"{scenario.Name}: done.");
            return output;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{scenario.Name} failed: {e}");
            Report.JsonError(scenario, $"{e.GetType().Name}: {e.Message}");
            return null;
        }
    }
}
