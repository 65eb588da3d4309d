using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Workers that die mid-task, and workers retired by maxtasksperchild, are replaced.</summary>
public sealed class WorkerReplacementTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    [Fact]
    public Task A_worker_that_dies_mid_task_is_replaced_and_its_task_runs_again() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        var dir = Directory.CreateTempSubdirectory("multiproc-e2e-").FullName;
        try
        {
            var before = await WorkerPids.Of(pool);
            var func = ExitOnceAt(dir, item: 5);

            var results = await Call(() => pool.Map(func, Enumerable.Range(0, 10), chunksize: 1));

            Assert.Equal(Enumerable.Range(0, 10).Select(x => x * 10), results);
            var crashed = int.Parse(File.ReadAllText(Path.Combine(dir, "crashed")));
            Assert.Contains(crashed, before);
            await Eventually(() => !ProcFs.IsWorkerAlive(crashed), TimeSpan.FromSeconds(10), () => $"worker {crashed} still runs");
            var after = await WorkerPids.Of(pool);
            Assert.Equal(2, after.Length);
            Assert.DoesNotContain(crashed, after);
        }
        finally
        {
            await Deadline.Dispose(pool);
            Directory.Delete(dir, recursive: true);
        }
    });

    [Fact]
    public Task A_task_that_kills_its_worker_on_every_try_fails_with_WorkerCrashedException_naming_its_index() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        try
        {
            var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => Call(() =>
                pool.Map(x => x == 3 ? ExitNow(42) : x, Enumerable.Range(0, 8), chunksize: 1)));

            Assert.Equal(3, error.TaskIndex);
            Assert.Equal(3, error.Tries);
            Assert.Equal(new[] { 1, 2, 3 }, await Call(() => pool.Map(x => x + 1, new[] { 0, 1, 2 })));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_poison_item_in_a_chunk_is_found_item_by_item_and_named_by_its_own_index() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        try
        {
            var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => Call(() =>
                pool.Map(x => x == 6 ? ExitNow(42) : x, Enumerable.Range(0, 12), chunksize: 4)));

            // The chunk [4..7] is retried item by item: the poison item is 6, not the chunk's start.
            Assert.Equal(6, error.TaskIndex);
            Assert.Equal(new[] { 1 }, await Call(() => pool.Map(x => x + 1, new[] { 0 })));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_call_whose_tasks_never_crash_is_not_failed_by_another_calls_poison_task() => Bounded(async () =>
    {
        // One worker: the benign call's first task is handed to it ahead of time, behind the poison task.
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            var poison = pool.MapAsync(x => ExitNow(42), new[] { 0 });
            var benign = pool.MapAsync(x => x + 1, new[] { 0, 1, 2 }, chunksize: 1);

            var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => Awaited(poison));
            Assert.Equal(0, error.TaskIndex);
            Assert.Equal(new[] { 1, 2, 3 }, await Awaited(benign));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Maxtasksperchild_replaces_each_worker_after_its_quota_of_tasks() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, maxtasksperchild: 2, context: fixture.Context));
        try
        {
            // chunksize 1: one item is one task.
            var pids = await Call(() => pool.Map(_ => Environment.ProcessId, Enumerable.Range(0, 12), chunksize: 1));

            Assert.Equal(12, pids.Count);
            var perWorker = pids.GroupBy(pid => pid).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(perWorker.Values.All(count => count <= 2),
                $"a worker ran more than maxtasksperchild (2) tasks: {string.Join(", ", perWorker.Select(p => $"{p.Key}×{p.Value}"))}");
            Assert.True(perWorker.Count >= 6, $"expected at least 6 worker processes, saw {perWorker.Count}");
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    private static int ExitNow(int code)
    {
        Environment.Exit(code);
        return code;
    }

    // The first run of `item` records its worker's pid and kills that worker; the run again succeeds.
    private static Func<int, int> ExitOnceAt(string dir, int item) => x =>
    {
        if (x == item)
        {
            var marker = Path.Combine(dir, "crashed");
            if (!File.Exists(marker))
            {
                File.WriteAllText(marker, Environment.ProcessId.ToString());
                Environment.Exit(9);
            }
        }
        return x * 10;
    };
}
