using System.Text.RegularExpressions;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>The QuickStart example, run once as a user would run it (<c>dotnet exec QuickStart.dll</c>).</summary>
public sealed partial class QuickStartTests(QuickStartTests.Run run) : IClassFixture<QuickStartTests.Run>
{
    [Fact]
    public Task QuickStart_exits_with_code_0() => Bounded(async () =>
    {
        Assert.True(run.ExitCode == 0, $"exit code {run.ExitCode}. {run.Describe()}");
        await Task.CompletedTask;
    });

    [Fact]
    public Task QuickStart_prints_12_rows_in_input_order_from_worker_processes_then_a_summary() => Bounded(async () =>
    {
        var lines = run.Lines;
        var rows = lines.Select((line, index) => (Match: RowPattern().Match(line), Index: index)).Where(r => r.Match.Success).ToList();
        Assert.True(rows.Count == 12, $"expected 12 rows. {run.Describe()}");
        var pids = new List<int>();
        for (var i = 0; i < 12; i++)
        {
            pids.Add(int.Parse(rows[i].Match.Groups["pid"].Value));
            Assert.Contains($"https://example.com/page/{i + 1} ", rows[i].Match.Groups["data"].Value);
        }
        Assert.DoesNotContain(run.Pid, pids);

        var summaries = lines.Select((line, index) => (Match: SummaryPattern().Match(line), Index: index)).Where(s => s.Match.Success).ToList();
        var summary = Assert.Single(summaries);
        Assert.True(summary.Index > rows[^1].Index, $"the summary comes before the last row. {run.Describe()}");
        Assert.Equal(pids.Distinct().Count(), int.Parse(summary.Match.Groups["workers"].Value));
        if (summary.Match.Groups["self"].Success)
            Assert.Equal(run.Pid, int.Parse(summary.Match.Groups["self"].Value));
        await Task.CompletedTask;
    });

    [Fact]
    public Task QuickStart_output_is_its_rows_and_summary_only() => Bounded(async () =>
    {
        // What the program prints, and nothing else: no log lines of the library's actor systems.
        var lines = run.Lines;
        Assert.True(lines.Length == 13, $"expected exactly 12 rows and the summary on standard output. {run.Describe()}");
        Assert.All(lines[..12], line => Assert.Matches(RowPattern(), line));
        Assert.Matches(SummaryPattern(), lines[12]);
        Assert.True(run.Errors.Length == 0, $"standard error is not empty. {run.Describe()}");
        await Task.CompletedTask;
    });

    [GeneratedRegex(@"^\{ process-id = (?<pid>\d+), data = (?<data>.*) \}$")]
    private static partial Regex RowPattern();

    [GeneratedRegex(@"^12 results from (?<workers>\d+) worker processes(?: \(this process is (?<self>\d+)\))?")]
    private static partial Regex SummaryPattern();

    /// <summary>One run of QuickStart, shared by the tests that look at it.</summary>
    public sealed class Run : IAsyncLifetime
    {
        public int ExitCode { get; private set; }

        public int Pid { get; private set; }

        public string Output { get; private set; } = "";

        public string Errors { get; private set; } = "";

        public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public string Describe() => $"Output:\n{Output}\nErrors:\n{Errors}";

        public async Task InitializeAsync()
        {
            using var app = RunningProgram.Start(Programs.QuickStart);
            try
            {
                Pid = app.Pid;
                await app.WaitForExit(TimeSpan.FromSeconds(60));
                ExitCode = app.Process.ExitCode;
                Output = app.Output;
                Errors = app.Errors;
            }
            finally
            {
                app.Kill();
            }
        }

        public Task DisposeAsync() => Task.CompletedTask;
    }
}
