using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// Chunks and results at or above <c>multiproc.shared-memory.threshold</c> (64 KiB by default) travel
/// through files in /dev/shm: they come back exact on either side of it, and a closed pool, a killed
/// worker or a disposed context leaves no file. Only this test's own directories are looked at:
/// other test runs on the machine use /dev/shm at the same time.
/// </summary>
public sealed class SharedMemoryTests(ContextFixture fixture) : IClassFixture<ContextFixture>
{
    private const int Threshold = 64 * 1024;

    // A chunk of one byte[] of n bytes serializes to n + 8 (count and length): these sit on either side.
    public static TheoryData<int> Sizes() => [0, 1, 1000, Threshold - 9, Threshold - 8, Threshold, 3 * Threshold + 5, (1 << 20) + 3];

    [Theory]
    [MemberData(nameof(Sizes))]
    public Task A_byte_array_of_any_size_round_trips_exactly(int size) => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            var data = new[] { Payloads.Pattern(size, seed: size), Payloads.Pattern(size, seed: size + 1) };

            var results = await Call(() => pool.Map(Payloads.Reversed, data, chunksize: 1));

            Assert.Equal(data.Select(Payloads.Reversed), results);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Chunks_of_several_large_and_small_items_with_nulls_round_trip_exactly() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        try
        {
            byte[]?[] data = [Payloads.Pattern(200_000, 1), null, Payloads.Pattern(10, 2), Payloads.Pattern(Threshold, 3), [], Payloads.Pattern(500_000, 4)];

            var echoed = await Call(() => pool.Map(Echo, data, chunksize: 4));
            var sums = await Call(() => pool.Map(b => b is null ? -1 : Payloads.Checksum(b), data, chunksize: 3));

            Assert.Equal(data, echoed);
            Assert.Equal(data.Select(b => b is null ? -1 : Payloads.Checksum(b)), sums);
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Large_values_of_types_Hyperion_serializes_round_trip_exactly() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            var text = new string('x', 300_000) + "é";
            var numbers = Enumerable.Range(0, 50_000).Select(i => (long)i * i).ToList();

            var texts = await Call(() => pool.Map(s => s + "!", new[] { text, "short" }));
            var lists = await Call(() => pool.Map(l => l.Select(x => x + 1).ToList(), new[] { numbers }));

            Assert.Equal(new[] { text + "!", "short!" }, texts);
            Assert.Equal(numbers.Select(x => x + 1), Assert.Single(lists));
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task Only_payloads_over_the_threshold_make_files_and_a_closed_pool_leaves_none() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        var dir = PoolDirectory(fixture.Context, pool);
        try
        {
            await Call(() => pool.Map(x => new byte[100], Enumerable.Range(0, 20), chunksize: 1));
            Assert.Empty(SlotFiles(dir));

            var data = Enumerable.Range(0, 6).Select(i => Payloads.Pattern(Threshold * 2, i)).ToArray();
            Assert.Equal(data, await Call(() => pool.Map(Echo, data, chunksize: 1)));
            // Kept for the next call rather than made again.
            Assert.NotEmpty(SlotFiles(dir));

            await Call(() =>
            {
                pool.Close();
                pool.Join();
            });
            await Eventually(() => !Directory.Exists(dir), TimeSpan.FromSeconds(30), () => $"{dir} still holds: {string.Join(", ", SlotFiles(dir))}");
        }
        finally
        {
            await Deadline.Dispose(pool);
        }
    });

    [Fact]
    public Task A_worker_killed_during_a_large_chunk_is_replaced_the_chunk_runs_again_and_no_file_is_left() => Bounded(async () =>
    {
        var pool = await Call(() => new ProcessPool(2, context: fixture.Context));
        var dir = PoolDirectory(fixture.Context, pool);
        using var tasks = new TaskDirectory();
        var killed = new List<int>();
        try
        {
            var data = Enumerable.Range(0, 4).Select(i => Payloads.Pattern((1 << 20) + i, i)).ToArray();
            var pending = pool.MapAsync(MarkWaitReverse(tasks.Path), data, chunksize: 1);
            await Eventually(() => tasks.Marks().Count > 0, TimeSpan.FromSeconds(60), () => "no task started");
            var victim = tasks.Marks()[0];
            killed.Add(victim);
            ProcFs.KillWorkers([victim]);
            await Eventually(() => !ProcFs.IsWorkerAlive(victim), TimeSpan.FromSeconds(30), () => $"worker {victim} still alive");
            tasks.Open();

            var results = await Awaited(pending);

            Assert.Equal(data.Select(Payloads.Reversed), results);
            await Call(() =>
            {
                pool.Close();
                pool.Join();
            });
            await Eventually(() => !Directory.Exists(dir), TimeSpan.FromSeconds(30), () => $"{dir} still holds: {string.Join(", ", SlotFiles(dir))}");
        }
        finally
        {
            ProcFs.KillWorkers(killed);
            await Deadline.Dispose(pool);
        }
    }, TimeSpan.FromSeconds(150));

    [Fact]
    public Task The_directory_name_tells_an_outsider_nothing_about_the_pool_actor_or_the_process() => Bounded(async () =>
    {
        // /dev/shm is listable by every user: its names must not lead to a pool's actor path.
        var pool = await Call(() => new ProcessPool(1, context: fixture.Context));
        var other = await Call(() => new ProcessPool(1, context: fixture.Context));
        try
        {
            var directory = Path.GetFileName(Assert.IsType<string>(fixture.Context.SharedMemory?.Directory));
            var random = directory["multiproc-".Length..];
            var poolName = pool.Actor.Path.Name["pool-".Length..];
            var otherName = other.Actor.Path.Name["pool-".Length..];

            Assert.Matches("^[0-9a-f]{32}$", random);
            Assert.Matches("^[0-9a-f]{32}$", poolName);
            Assert.DoesNotContain(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), random);
            // Eight hex digits in common by chance: about 1 in 10 million.
            Assert.Null(CommonPiece(random, poolName, 8));
            Assert.Null(CommonPiece(poolName, otherName, 8));
        }
        finally
        {
            await Deadline.Dispose(pool);
            await Deadline.Dispose(other);
        }
    });

    [Fact]
    public Task The_directory_of_a_killed_process_is_found_by_the_pid_inside_and_swept_by_the_next_context() => Bounded(async () =>
    {
        IReadOnlyList<int> workers = [];
        using var app = RunningProgram.Start(Programs.TestApp, "hold-pool");
        try
        {
            await app.WaitForLine("ready", TimeSpan.FromSeconds(60));
            workers = ProcFs.WorkersOf(app.Pid);
            app.Process.Kill();   // SIGKILL: its context never removes its directory.
            await Within(app.Process.WaitForExitAsync());
            // Its lock is gone with it: now the pid inside can be read, as the sweep reads it.
            var left = Directory.GetDirectories("/dev/shm", "multiproc-*").Where(d => OwnerPid(d) == app.Pid).ToArray();
            var directory = Assert.Single(left);
            Assert.DoesNotContain(app.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Path.GetFileName(directory));

            using (MultiprocContext.Create())
            {
            }

            Assert.False(Directory.Exists(directory), $"{directory} of killed process {app.Pid} was not swept");
        }
        finally
        {
            app.Kill();
            ProcFs.KillWorkers(workers);
        }
    }, TimeSpan.FromSeconds(150));

    private static int? OwnerPid(string directory)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(directory, ".owner")), out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;   // another live context's (locked), or another user's
        }
    }

    private static string? CommonPiece(string a, string b, int length) =>
        Enumerable.Range(0, Math.Max(0, a.Length - length + 1)).Select(i => a.Substring(i, length)).FirstOrDefault(b.Contains);

    [Fact]
    public Task A_disposed_context_leaves_no_directory_even_with_a_pool_still_open() => Bounded(async () =>
    {
        var context = MultiprocContext.Create();
        try
        {
            var area = Assert.IsType<string>(context.SharedMemory?.Directory);
            Assert.StartsWith("/dev/shm/multiproc-", area);
            var pool = await Call(() => new ProcessPool(2, context: context));
            var data = Enumerable.Range(0, 4).Select(i => Payloads.Pattern(Threshold * 4, i)).ToArray();
            Assert.Equal(data, await Call(() => pool.Map(Echo, data, chunksize: 1)));
            Assert.NotEmpty(SlotFiles(PoolDirectory(context, pool)));

            await Deadline.Dispose(context);

            Assert.False(Directory.Exists(area), $"{area} is still there");
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    [Fact]
    public Task With_shared_memory_off_large_payloads_travel_through_the_socket() => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("multiproc.shared-memory.threshold = off"));
        try
        {
            Assert.Null(context.SharedMemory);
            var pool = await Call(() => new ProcessPool(1, context: context));
            var data = Payloads.Pattern(1 << 20, 7);

            Assert.Equal(Payloads.Reversed(data), Assert.Single(await Call(() => pool.Map(Payloads.Reversed, new[] { data }))));
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });

    private static byte[]? Echo(byte[]? data) => data;

    private static string PoolDirectory(MultiprocContext context, ProcessPool pool) =>
        Path.Combine(context.SharedMemory!.Directory, pool.Actor.Path.Name);

    private static string[] SlotFiles(string dir) => Directory.Exists(dir) ? Directory.GetFiles(dir) : [];

    // Built here so the closure holds only the directory's path.
    private static Func<byte[], byte[]> MarkWaitReverse(string dir) => data =>
    {
        TaskDirectory.Mark(dir, Environment.ProcessId);
        TaskDirectory.WaitAtGate(dir);
        return Payloads.Reversed(data);
    };
}
