using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>What a program using pools prints is its own output: the library adds nothing to it.</summary>
public sealed class ProgramOutputTests
{
    [Fact]
    public Task Close_and_Join_add_nothing_to_a_programs_output() => Bounded(async () =>
    {
        const int rounds = 5;
        const int processes = 4;
        using var app = RunningProgram.Start(Programs.TestApp, "close-join", rounds.ToString(), processes.ToString());
        try
        {
            await app.WaitForExit(TimeSpan.FromSeconds(100));
            var describe = $"Output:\n{app.Output}\nErrors:\n{app.Errors}";
            Assert.True(app.Process.ExitCode == 0, $"exit code {app.Process.ExitCode}. {describe}");

            var expected = Enumerable.Range(1, rounds).Select(r => $"round {r}: {4 * processes} results").Append("done");
            var lines = app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(expected.SequenceEqual(lines), $"standard output holds more than the program printed. {describe}");
            Assert.True(app.Errors.Length == 0, $"standard error is not empty. {describe}");
        }
        finally
        {
            app.Kill();
        }
    }, TimeSpan.FromSeconds(110));
}
