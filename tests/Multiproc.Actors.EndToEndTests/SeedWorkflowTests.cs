using System.Text.RegularExpressions;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using Xunit;
using static Multiproc.Actors.EndToEndTests.Infrastructure.ProcessTestHelpers3;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Runs examples/SeedWorkflow, the seed's Operational Workflow, and checks what it prints.</summary>
public sealed class SeedWorkflowTests
{
    [Fact]
    public async Task SeedWorkflow_prints_rows_in_input_order_from_worker_processes_and_every_queued_pair()
    {
        var run = await RunProgramAsync("SeedWorkflow");

        Assert.True(run.ExitCode == 0, run.ToString());
        var rows = Regex.Matches(run.Stdout, @"\{ process-id = (\d+), data = fetched https://example.com/page/(\d+) \}")
            .Select(m => (Pid: int.Parse(m.Groups[1].Value), Page: int.Parse(m.Groups[2].Value)))
            .ToList();
        var queued = Regex.Matches(run.Stdout, @"\((\d+), fetched https://example.com/page/(\d+)\)")
            .Select(m => (Pid: int.Parse(m.Groups[1].Value), Page: int.Parse(m.Groups[2].Value)))
            .ToList();

        Assert.Equal(Enumerable.Range(1, 12), rows.Select(r => r.Page));
        Assert.DoesNotContain(run.Pid, rows.Select(r => r.Pid));
        // The queue holds the same (pid, value) pairs the tasks returned, each once, in each worker's order.
        Assert.Equal(rows.OrderBy(r => r.Page), queued.OrderBy(q => q.Page));
        foreach (var worker in queued.GroupBy(q => q.Pid))
            Assert.Equal(worker.Select(q => q.Page).Order(), worker.Select(q => q.Page));
        Assert.Contains("Shared queue (12 items):", run.Stdout);
    }
}
