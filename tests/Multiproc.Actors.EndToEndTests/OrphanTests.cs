using System.Diagnostics;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// No worker outlives its parent, not even one still starting: a parent killed while its pool's
/// workers are in the middle of their start-up leaves none of them running.
/// </summary>
public sealed class OrphanTests
{
    private const int Workers = 4;

    [Fact]
    public Task Workers_still_starting_when_their_parent_is_killed_exit_within_seconds() => Bounded(async () =>
    {
        // The app's workers never finish starting (see ProcessTestApp's pool-then-wait).
        using var app = RunningProgram.Start(Programs.ProcessTestApp, "pool-then-wait", Workers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var workers = Array.Empty<int>();
        try
        {
            await app.WaitForLine("launched", TimeSpan.FromSeconds(60));
            await Eventually(() => (workers = WorkersOf(app.Pid)).Length == Workers, TimeSpan.FromSeconds(30),
                () => $"{Workers} workers launched by {app.Pid}; found {workers.Length}");

            app.Kill();

            await Eventually(() => workers.All(pid => !ProcessTestHelpers3.IsRunning(pid)), TimeSpan.FromSeconds(5),
                () => $"workers still running 5 s after their parent was killed: {string.Join(", ", workers.Where(ProcessTestHelpers3.IsRunning))}");
        }
        finally
        {
            // Whatever happened, none of them is left behind by the test.
            foreach (var pid in workers.Where(ProcessTestHelpers3.IsRunning))
            {
                try
                {
                    Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                    // Gone meanwhile.
                }
            }
        }
    });

    /// <summary>The worker processes whose parent is <paramref name="parent"/>, from /proc.</summary>
    private static int[] WorkersOf(int parent)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // "pid (comm) state ppid ...": the fields after the parenthesized name.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == parent
                    && File.ReadAllText(Path.Combine(directory, "cmdline")).Contains("Multiproc.Actors.Worker", StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }
        return found.ToArray();
    }
}
