using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Multiproc.Actors.Benchmarks;

/// <summary>A figure read from a Python script's JSON line (min and max when the script gives them).</summary>
internal sealed record PythonFigure(double? Min, double Median, double? Max, string Source);

/// <summary>
/// Runs the scripts of the Python anchor (<c>python3 PATH/&lt;script&gt;.py</c>) and reads their one JSON
/// line. Each script measures with its own foreign-CPU guard and <c>MP_BENCH_RUNS</c> runs per figure:
/// the environment's value if set, else our own <c>--runs</c>.
/// </summary>
internal sealed class PythonSide(string directory, int runs)
{
    private static readonly TimeSpan ScriptLimit = TimeSpan.FromSeconds(1300);
    private readonly string _python = Environment.GetEnvironmentVariable("PYTHON") is { Length: > 0 } python ? python : "python3";

    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Fails early, before any of our figures are taken, if the scripts are not there.</summary>
    public void Check(IEnumerable<string> scripts)
    {
        foreach (var script in scripts.Append("_bench"))
        {
            var path = Path.Combine(Directory, script + ".py");
            if (!File.Exists(path))
                throw new FileNotFoundException($"--compare-python: {path} does not exist.", path);
        }
    }

    /// <summary>Runs one script and returns its JSON line, or throws with its standard error.</summary>
    public JsonObject Run(string script, string[] args)
    {
        var start = Start(Path.Combine(Directory, script + ".py"), args);
        if (Environment.GetEnvironmentVariable("MP_BENCH_RUNS") is not { Length: > 0 })
            start.Environment["MP_BENCH_RUNS"] = runs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (code, stdout, stderr) = Execute(start, ScriptLimit);
        var line = LastJsonLine(stdout);
        if (code != 0 || line is null)
            throw new InvalidOperationException($"{script}.py exited with {code}. Standard error (end):\n{Tail(stderr)}\nStandard output (end):\n{Tail(stdout)}");
        var json = JsonNode.Parse(line)!.AsObject();
        if (json["error"] is { } error)
            throw new InvalidOperationException($"{script}.py reported an error: {error}");
        return json;
    }

    /// <summary><c>python3 _bench.py --probe SECONDS</c>: the host-speed probe's median ms (~5.5 fast level, ~9.7 slow level), or null if it failed.</summary>
    public double? Probe(double seconds = 3)
    {
        try
        {
            var start = Start(Path.Combine(Directory, "_bench.py"), ["--probe", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var (code, stdout, _) = Execute(start, TimeSpan.FromSeconds(seconds + 60));
            return code == 0 && LastJsonLine(stdout) is { } line ? JsonNode.Parse(line)?["probe_ms"]?["median"]?.GetValue<double>() : null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads a figure at a dotted path: an object with min/median/max, or a number.</summary>
    public static PythonFigure? Figure(JsonObject json, string path, double scale, string script)
    {
        JsonNode? node = json;
        foreach (var key in path.Split('.'))
            node = node?[key];
        var source = $"{script}.py {path}";
        return node switch
        {
            JsonObject summary when summary["median"] is { } median => new PythonFigure(
                summary["min"]?.GetValue<double>() * scale, median.GetValue<double>() * scale, summary["max"]?.GetValue<double>() * scale, source),
            JsonValue value when value.TryGetValue<double>(out var number) => new PythonFigure(null, number * scale, null, source),
            _ => null,
        };
    }

    private ProcessStartInfo Start(string script, string[] args)
    {
        var start = new ProcessStartInfo(_python)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    private static (int Code, string Stdout, string Stderr) Execute(ProcessStartInfo start, TimeSpan limit)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            // Only what we started: the script and its own descendants.
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{string.Join(' ', start.ArgumentList)} did not finish within {limit}.");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string? LastJsonLine(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
