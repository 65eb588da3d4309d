using System.Diagnostics;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>The worker processes as the OS sees them.</summary>
public sealed class WorkerProcessTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    [Fact]
    public Task A_workers_command_line_names_the_worker_entry_point_and_its_parent_is_the_caller() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        try
        {
            var pids = await WorkerPids.Of(pool);

            foreach (var pid in pids)
            {
                var args = ProcFs.CommandLine(pid);
                Assert.NotNull(args);
                Assert.Contains(ProcFs.WorkerMarker, args);
                Assert.Contains(args, a => a.EndsWith("Multiproc.Actors.dll", StringComparison.Ordinal));
                Assert.Equal(Environment.ProcessId, ProcFs.Stat(pid)?.ParentPid);
            }
            // And a scan of /proc finds them as this process's workers.
            Assert.Subset(ProcFs.WorkersOf(Environment.ProcessId).ToHashSet(), pids.ToHashSet());
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Disposing_a_context_ends_its_workers() => Bounded(async () =>
    {
        var context = MultiprocContext.Create();
        int[] pids = [];
        try
        {
            var first = await Call(() => new ProcessPool(2, context: context));
            var second = await Call(() => context.Pool(1));
            pids = [.. await WorkerPids.Of(first), .. await WorkerPids.Of(second)];
            Assert.Equal(3, pids.Distinct().Count());

            await Deadline.Dispose(context);

            await Eventually(() => !pids.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(pids));
            Assert.True(context.System.WhenTerminated.IsCompleted, "the context's actor system still runs");
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(pids);
        }
    });
}

/// <summary>
/// Workers die with their parent. Runs alone (serial collection): the deadline is tight, and a
/// loaded machine is not what it is about.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ParentDeathTests
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData("hold-pool")]   // idle workers
    [InlineData("busy-pool")]   // workers in the middle of CPU-bound tasks
    public Task When_the_parent_is_killed_its_workers_exit_within_two_seconds(string mode) => Bounded(async () =>
    {
        IReadOnlyList<int> workers = [];
        using var app = RunningProgram.Start(Programs.TestApp, mode);
        try
        {
            await app.WaitForLine("ready", TimeSpan.FromSeconds(60));
            workers = ProcFs.WorkersOf(app.Pid);
            Assert.True(workers.Count == 2, $"expected the TestApp's 2 workers, found [{string.Join(", ", workers)}]");
            Assert.All(workers, pid => Assert.True(ProcFs.IsWorkerAlive(pid)));

            app.Process.Kill();   // SIGKILL: no exit handler of the parent runs.
            var sinceKill = Stopwatch.StartNew();

            // (Not waiting for the app's exit first: its workers share its stdout pipe, so that wait
            // would itself wait for them.)
            var pids = workers;
            await Eventually(() => !pids.Any(ProcFs.IsWorkerAlive), ExitWithin, () => ProcFs.Alive(pids), sinceKill);
            await Within(app.Process.WaitForExitAsync());
        }
        finally
        {
            app.Kill();
            ProcFs.KillWorkers(workers);
        }
    });
}

/// <summary>
/// Workers started with a context, before its first pool exists. Runs alone (serial collection): it
/// tells its workers from others by listing this process's children.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PrestartedWorkerTests
{
    [Fact]
    public Task Workers_started_with_a_context_serve_its_first_pool_and_those_left_end_with_the_context() => Bounded(async () =>
    {
        var before = ProcFs.WorkersOf(Environment.ProcessId).ToHashSet();
        var context = MultiprocContext.Create(null, prestart: 3);
        int[] early = [];
        try
        {
            early = ProcFs.WorkersOf(Environment.ProcessId).Where(pid => !before.Contains(pid)).ToArray();
            Assert.Equal(3, early.Length);

            var pool = await Call(() => context.Pool(2));
            Assert.Equal(new[] { 0, -1, -2, -3 }, await Call(() => pool.Map((int x) => -x, [0, 1, 2, 3], 1)));
            Assert.Subset(early.ToHashSet(), (await WorkerPids.Of(pool)).ToHashSet());

            await Deadline.Dispose(context);
            await Eventually(() => !early.Any(ProcFs.IsWorkerAlive), TimeSpan.FromSeconds(10), () => ProcFs.Alive(early));
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(early);
        }
    });
}
