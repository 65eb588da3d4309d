using System.Reflection;
using System.Text.Json;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// The benchmark program (tests/Multiproc.Actors.Benchmarks) with <c>--smoke</c>: every scenario once, at
/// tiny size. Nothing about speed is asserted here, only that each scenario runs and reports.
/// </summary>
public sealed class BenchmarkSmokeTests
{
    /// <summary>Issue 6's scenarios, in its table's order.</summary>
    private static readonly string[] Scenarios =
        ["startup", "map_1m", "map_100k_chunk1", "apply", "apply_async", "payload", "cpu", "simplequeue", "memory"];

    [Fact]
    public Task Every_benchmark_scenario_runs_once_at_tiny_size_and_prints_one_JSON_line() => Bounded(async () =>
    {
        using var app = RunningProgram.Start(BenchmarksDll(), "--smoke");
        try
        {
            await app.WaitForExit(TimeSpan.FromSeconds(110));
            var describe = $"Output:\n{app.Output}\nErrors:\n{app.Errors}";
            Assert.True(app.Process.ExitCode == 0, $"exit code {app.Process.ExitCode}. {describe}");

            var lines = app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(line => line.StartsWith("{\"scenario\":", StringComparison.Ordinal))
                .Select(line => JsonDocument.Parse(line).RootElement)
                .ToList();
            Assert.True(Scenarios.SequenceEqual(lines.Select(l => l.GetProperty("scenario").GetString())),
                $"expected one JSON line for each of {string.Join(", ", Scenarios)}, in that order. {describe}");
            foreach (var line in lines)
            {
                Assert.False(line.TryGetProperty("error", out _), $"a scenario failed: {line}. {describe}");
                Assert.Equal(JsonValueKind.String, line.GetProperty("unit").ValueKind);
                var median = line.GetProperty("median").GetDouble();
                Assert.InRange(median, line.GetProperty("min").GetDouble(), line.GetProperty("max").GetDouble());
                Assert.True(line.GetProperty("runs").GetArrayLength() >= 1, $"no runs: {line}");
                Assert.True(line.GetProperty("smoke").GetBoolean(), $"not a smoke run: {line}");
            }
        }
        finally
        {
            app.Kill();
        }
    }, TimeSpan.FromSeconds(120));

    private static string BenchmarksDll()
    {
        var path = Path.GetFullPath(typeof(BenchmarkSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Benchmarks").Value!);
        Assert.True(File.Exists(path), $"The benchmark program is not built at {path}.");
        return path;
    }
}
