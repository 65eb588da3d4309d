using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// maxtasksperchild: a worker process exits after its quota of tasks (one Apply, or one chunk of a
/// map) and a fresh one, initialized again, takes its place.
/// </summary>
/// <remarks>
/// WorkerReplacementTests already checks that a Map with chunksize 1 never runs more than the quota
/// on one worker; these cover Apply, chunks as tasks, Imap, the initializer, many async calls, and
/// shutting such a pool down.
/// </remarks>
public sealed class MaxTasksPerChildTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    [Fact]
    public Task With_maxtasksperchild_3_the_fourth_Apply_runs_in_a_new_process_whose_initializer_ran_again() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, initializer: WorkerState.Init, initargs: ["configured"], maxtasksperchild: 3, context: fixture.Context));
        try
        {
            var seen = new List<WorkerView>();
            for (var i = 0; i < 4; i++)
                seen.Add(await Call(() => pool.Apply(WorkerState.View)));

            var pids = seen.Select(v => v.Pid).ToArray();
            Assert.True(pids[0] == pids[1] && pids[1] == pids[2], $"the first three tasks ran in different processes: {string.Join(", ", pids)}");
            Assert.NotEqual(pids[0], pids[3]);
            // Every process ran the initializer once, itself: the replacement's value names its own pid.
            Assert.All(seen, view => Assert.Equal($"configured@{view.Pid}", view.Value));
            Assert.All(seen, view => Assert.Equal(1, view.InitRuns));
            Assert.Equal(new[] { 1, 2, 3, 1 }, seen.Select(v => v.TasksRun));
            await Eventually(() => !ProcFs.IsWorkerAlive(pids[0]), CallLimit, () => $"the retired worker {pids[0]} still runs");
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_chunk_of_a_map_or_of_an_imap_counts_as_one_task() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, maxtasksperchild: 2, context: fixture.Context));
        try
        {
            // Two chunks of five: two tasks, so one process runs all ten items.
            var mapPids = await Call(() => pool.Map(_ => Environment.ProcessId, Enumerable.Range(0, 10), chunksize: 5));
            // Four chunks of one: two processes, two tasks each, none of them the first.
            var imapPids = await Call(() => pool.Imap(_ => Environment.ProcessId, Enumerable.Range(0, 4)).ToList());
            var applyPid = await Call(() => pool.Apply(() => Environment.ProcessId));

            Assert.Single(mapPids.Distinct());
            Assert.Equal(imapPids[0], imapPids[1]);
            Assert.Equal(imapPids[2], imapPids[3]);
            var all = new[] { mapPids[0], imapPids[0], imapPids[2], applyPid };
            Assert.Equal(4, all.Distinct().Count());
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_hundred_ApplyAsync_calls_on_three_workers_with_maxtasksperchild_10_are_all_correct_and_workers_are_replaced() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(3, maxtasksperchild: 10, context: fixture.Context));
        try
        {
            var calls = Enumerable.Range(0, 100).Select(i => pool.ApplyAsync(SquareWithPid, i)).ToList();
            var results = await Within(Task.WhenAll(calls.Select(c => c.AsTask())), TimeSpan.FromSeconds(100));

            Assert.Equal(Enumerable.Range(0, 100).Select(i => i * i), results.Select(r => r.Value));
            var perWorker = results.GroupBy(r => r.Pid).ToDictionary(g => g.Key, g => g.Count());
            var described = string.Join(", ", perWorker.Select(p => $"{p.Key}×{p.Value}"));
            Assert.True(perWorker.Count > 3, $"the three workers were never replaced: {described}");
            // Work handed out ahead of time never exceeds a worker's quota.
            Assert.True(perWorker.Values.All(count => count <= 10), $"a worker ran more than 10 tasks: {described}");
            Assert.DoesNotContain(Environment.ProcessId, perWorker.Keys);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    }, TimeSpan.FromSeconds(150));

    [Fact]
    public Task Close_and_Join_with_maxtasksperchild_1_return_while_work_is_still_queued() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, maxtasksperchild: 1, context: fixture.Context));
        try
        {
            var result = pool.MapAsync(_ => Environment.ProcessId, Enumerable.Range(0, 6), chunksize: 1);
            pool.Close();
            await Call(pool.Join);

            // The queued work finished first, one task per process.
            var pids = await Awaited(result);
            Assert.Equal(6, pids.Distinct().Count());
            Assert.Equal("none alive", ProcFs.Alive(pids));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Close_and_Join_with_maxtasksperchild_1_return_right_after_the_last_result() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, maxtasksperchild: 1, context: fixture.Context));
        try
        {
            var pids = await Call(() => pool.Map(_ => Environment.ProcessId, Enumerable.Range(0, 2), chunksize: 1));
            // The two workers are retiring now and their replacements starting.
            pool.Close();
            await Call(pool.Join);

            Assert.Equal(2, pids.Distinct().Count());
            Assert.Equal("none alive", ProcFs.Alive(pids));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    private static (int Value, int Pid) SquareWithPid(int x) => (x * x, Environment.ProcessId);
}

/// <summary>What a task saw of its worker's "globals".</summary>
public sealed record WorkerView(int Pid, string? Value, int InitRuns, int TasksRun);

/// <summary>Per-worker-process statics: set by the initializer, read by tasks.</summary>
public static class WorkerState
{
    private static string? _value;
    private static int _initRuns;
    private static int _tasksRun;

    public static void Init(string value)
    {
        _value = $"{value}@{Environment.ProcessId}";
        Interlocked.Increment(ref _initRuns);
    }

    public static WorkerView View() =>
        new(Environment.ProcessId, _value, Volatile.Read(ref _initRuns), Interlocked.Increment(ref _tasksRun));
}
