using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Multiproc.Actors.Benchmarks;

/// <summary>
/// The start-up scenario's fresh process: the benchmark program itself, run with the hidden
/// <c>--startup-child</c> flag, times <c>ProcessPool(2)</c> → first result → close + join from inside
/// (as pool_startup.py's <c>--trial</c> does), then once more for a second pool in the same process,
/// then for a pool that takes the kept workers of the one before (<c>multiproc.warm-workers</c>),
/// and prints one JSON line.
/// </summary>
internal static class StartupChild
{
    public const string Flag = "--startup-child";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>In the child: two trials, one JSON line.</summary>
    public static int RunInChild()
    {
        using var watchdog = new Watchdog(Limit, "the start-up child");
        double runtimeStart;
        using (var self = Process.GetCurrentProcess())
            runtimeStart = (DateTime.Now - self.StartTime).TotalMilliseconds;
        var cold = Trial(MultiprocContext.Default);
        var warm = Trial(MultiprocContext.Default);
        Dictionary<string, double> kept;
        using (var keeping = MultiprocContext.Create(Akka.Configuration.ConfigurationFactory.ParseString("multiproc.warm-workers.max = 2")))
        {
            // Its first pool launches the workers the others take; as pool_startup.py's warm
            // trials, one unmeasured trial comes before the measured one.
            Trial(keeping);
            Trial(keeping);
            kept = Trial(keeping);
        }
        var line = new JsonObject { ["runtime_start_ms"] = runtimeStart };
        foreach (var (key, value) in cold)
            line[key] = value;
        foreach (var (key, value) in warm)
            line["warm_" + key] = value;
        foreach (var (key, value) in kept)
            line["kept_" + key] = value;
        Console.Out.WriteLine(line.ToJsonString());
        Console.Out.Flush();
        return 0;
    }

    /// <summary>In the parent: runs a fresh child and returns its figures (plus its wall time from spawn to exit).</summary>
    public static Dictionary<string, double> Run()
    {
        var start = new ProcessStartInfo(Dotnet())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(StartupChild).Assembly.Location);
        start.ArgumentList.Add(Flag);
        var t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The start-up child did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The start-up child did not exit within {Limit}.");
        }
        process.WaitForExit();
        var wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var output = stdout.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The start-up child exited with {process.ExitCode}: {stderr.GetAwaiter().GetResult()}");
        var json = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last(l => l.StartsWith('{'));
        var figures = JsonNode.Parse(json)!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<double>());
        figures["process_wall_ms"] = wall;
        return figures;
    }

    private static Dictionary<string, double> Trial(MultiprocContext context)
    {
        var t0 = Stopwatch.GetTimestamp();
        var pool = context.Pool(2);
        var t1 = Stopwatch.GetTimestamp();
        var result = pool.MapAsync(Tasks.Identity, Enumerable.Range(0, 2)).Get(TimeSpan.FromSeconds(60));
        var t2 = Stopwatch.GetTimestamp();
        pool.Close();
        pool.Join();
        var t3 = Stopwatch.GetTimestamp();
        pool.Dispose();
        if (result is not [0, 1])
            throw new InvalidOperationException($"Map returned [{string.Join(", ", result)}], not [0, 1].");
        return new Dictionary<string, double>
        {
            ["ctor_ms"] = Ms(t0, t1),
            ["first_result_ms"] = Ms(t0, t2),
            ["close_join_ms"] = Ms(t2, t3),
            ["total_ms"] = Ms(t0, t3),
        };
    }

    private static double Ms(long from, long to) => (to - from) * 1e3 / Stopwatch.Frequency;

    /// <summary>The <c>dotnet</c> muxer: the one running this process if it is one, else the SDK's, else the PATH's.</summary>
    internal static string Dotnet()
    {
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
            return self;
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            return host;
        return "dotnet";
    }
}
