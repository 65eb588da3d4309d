using Multiproc.Actors.EndToEndTests.Infrastructure;
using Xunit;
using static Multiproc.Actors.EndToEndTests.Infrastructure.ProcessTestHelpers3;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Runs examples/ProcessBasics and the forwarding test program, and reads what their children printed.</summary>
public sealed class ProcessBasicsTests
{
    [Fact]
    public async Task ProcessBasics_prints_the_numbers_and_letters_of_its_two_children_and_their_exit_codes()
    {
        var run = await RunProgramAsync("ProcessBasics");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Stdout.Split('\n', StringSplitOptions.TrimEntries);
        Assert.All(Enumerable.Range(0, 10).Select(i => i.ToString()).Concat("abcdefghij".Select(c => c.ToString())),
            expected => Assert.Contains(expected, lines));
        // Each child's own lines keep their order.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), lines.Where(l => l.Length == 1 && char.IsDigit(l[0])));
        Assert.Equal("abcdefghij".Select(c => c.ToString()), lines.Where(l => l.Length == 1 && char.IsLetter(l[0])));
        Assert.Matches(@"Process-1 \(pid \d+\) exit code: 0", run.Stdout);
        Assert.Matches(@"Process-2 \(pid \d+\) exit code: 0", run.Stdout);
    }

    [Fact]
    public async Task A_childs_stdout_and_stderr_appear_in_the_callers_and_a_target_that_throws_prints_its_exception_there()
    {
        var run = await RunProgramAsync("ProcessTestApp", "forwarding");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("stdout of printer", run.Stdout);
        Assert.Contains("stderr of printer", run.Stderr);
        Assert.Contains("Process thrower:", run.Stderr);
        Assert.Contains("System.InvalidOperationException: boom from the child", run.Stderr);
        Assert.Contains("   at ", run.Stderr);
        Assert.Contains("printer exit code: 0", run.Stdout);
        Assert.Contains("thrower exit code: 1", run.Stdout);
    }

    [Fact]
    public async Task At_exit_the_default_context_joins_a_non_daemon_child_while_its_queues_still_work()
    {
        var run = await RunProgramAsync("ProcessTestApp", "exit-joins-child");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("main returns", run.Stdout);
        Assert.True(run.Stdout.Contains("child put returned"), run.ToString());
        Assert.True(run.Stderr.Length == 0, run.ToString());
    }
}
