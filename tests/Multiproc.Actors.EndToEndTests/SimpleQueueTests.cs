using Multiproc.Actors.EndToEndTests.Infrastructure;
using Xunit;
using static Multiproc.Actors.EndToEndTests.Infrastructure.ProcessTestHelpers3;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>SimpleQueue between the caller, pool workers and child processes: real processes throughout.</summary>
public sealed class SimpleQueueTests(SharedContext3 shared) : IClassFixture<SharedContext3>
{
    private readonly MultiprocContext _context = shared.Context;

    [Fact]
    public async Task Items_a_child_puts_arrive_in_put_order_and_Put_returns_once_the_queue_holds_them()
    {
        var queue = _context.SimpleQueue<string>();
        var child = _context.Process(static (SimpleQueue<string> q, int count) =>
        {
            for (var i = 0; i < count; i++)
                q.Put($"{Multiprocessing.CurrentProcess().Name}:{i}");
            q.PutMany(["many:0", "many:1"]);
            // Nothing lost even though the process ends right after Put returns.
            Environment.Exit(0);
        }, [queue, 100], name: "producer");
        child.Start();

        Assert.True(await Bounded(() => child.Join()));
        var items = queue.GetAll();

        Assert.Equal(0, child.ExitCode);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"producer:{i}").Concat(["many:0", "many:1"]), items);
    }

    [Fact]
    public async Task A_blocking_Get_is_released_by_a_later_Put_from_a_child()
    {
        var queue = _context.SimpleQueue<(int Pid, string Text)>();
        var get = Task.Run(queue.Get);
        var child = _context.Process(static (SimpleQueue<(int Pid, string Text)> q) => q.Put((Environment.ProcessId, "hello")), [queue]);

        child.Start();
        var (pid, text) = await get.WaitAsync(Liveness);

        Assert.Equal("hello", text);
        Assert.Equal(child.Pid, pid);
        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(0, child.ExitCode);
    }

    [Fact]
    public async Task TryGet_returns_false_when_nothing_comes_in_time_and_the_queue_stays_usable()
    {
        var queue = _context.SimpleQueue<int>();

        Assert.False(await Bounded(() => queue.TryGet(TimeSpan.FromMilliseconds(200), out _)));
        queue.Put(5);
        Assert.True(queue.TryGet(TimeSpan.FromSeconds(10), out var item));
        Assert.Equal(5, item);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Close_releases_a_child_blocked_in_Get_and_later_calls_anywhere_throw_ObjectDisposedException()
    {
        var queue = _context.SimpleQueue<int>();
        var ready = _context.SimpleQueue<string>();
        var child = _context.Process(static (SimpleQueue<int> q, SimpleQueue<string> r) =>
        {
            r.Put("about to get");
            try
            {
                q.Get();
            }
            catch (ObjectDisposedException)
            {
                Environment.Exit(42);
            }
        }, [queue, ready]);
        child.Start();
        Assert.Equal("about to get", await Bounded(ready.Get));

        queue.Close();

        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(42, child.ExitCode);
        Assert.Throws<ObjectDisposedException>(() => queue.Put(1));
        Assert.Throws<ObjectDisposedException>(() => queue.Get());
        Assert.Throws<ObjectDisposedException>(() => queue.GetAll());
        queue.Close();
    }

    [Fact]
    public async Task A_queue_passed_to_two_pool_workers_in_initargs_gets_all_10000_pairs_in_each_producers_order_before_Map_returns()
    {
        var queue = _context.SimpleQueue<(int Pid, int Value)>();
        await using var pool = _context.Pool(processes: 2, initializer: QueueWorker.Init, initargs: [queue]);

        var pids = await Bounded(() => pool.Map(QueueWorker.PutPidAndValue, Enumerable.Range(0, 10_000), chunksize: 100));
        // Every item a task put is in the queue by the time its result is back.
        var items = queue.GetAll();

        Assert.Equal(10_000, items.Count);
        Assert.Equal(Enumerable.Range(0, 10_000), items.Select(i => i.Value).Order());
        Assert.Equal(pids.ToHashSet(), items.Select(i => i.Pid).ToHashSet());
        Assert.DoesNotContain(Environment.ProcessId, pids);
        foreach (var producer in items.GroupBy(i => i.Pid))
        {
            var values = producer.Select(i => i.Value).ToList();
            Assert.Equal(values.Order(), values);
        }
    }

    [Fact]
    public async Task A_queue_as_a_task_argument_keeps_each_item_once_when_a_task_is_re_run_after_its_worker_died()
    {
        var queue = _context.SimpleQueue<int>();
        var marker = Path.Combine(Path.GetTempPath(), $"multiproc-{Guid.NewGuid():N}.crashed");
        try
        {
            await using var pool = _context.Pool(processes: 1);
            var tasks = Enumerable.Range(0, 5).Select(x => (queue, marker, x));

            await Bounded(() => pool.Map(QueueWorker.PutTwiceCrashOnceAt2, tasks, chunksize: 5));

            Assert.True(File.Exists(marker), "the task at 2 should have killed its worker once");
            Assert.Equal(new[] { 0, 1, 10, 11, 20, 21, 30, 31, 40, 41 }, queue.GetAll());

            // A pipelined put to a closed queue fails its task, and so the call.
            queue.Close();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => Bounded(() => pool.Map(QueueWorker.PutTwiceCrashOnceAt2, tasks.Take(1))));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public async Task An_item_that_cannot_travel_fails_its_put_in_a_child_and_the_queue_stays_usable()
    {
        var queue = _context.SimpleQueue<object>();
        var child = _context.Process(static (SimpleQueue<object> q) =>
        {
            try
            {
                q.Put(new MemoryStream());
            }
            catch (ArgumentException e)
            {
                q.Put($"refused: {e.GetType().Name}");
            }
            try
            {
                q.Put(new FileInfo("/tmp"));
            }
            catch (System.Runtime.Serialization.SerializationException e)
            {
                q.Put($"refused: {e.GetType().Name}");
            }
        }, [queue]);
        child.Start();

        Assert.Equal("refused: ArgumentException", await Bounded(queue.Get));
        Assert.Equal("refused: SerializationException", await Bounded(queue.Get));
        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(0, child.ExitCode);
    }
    [Fact]
    public async Task Items_handed_to_getters_whose_process_was_killed_go_back_to_the_queue_in_order()
    {
        var queue = _context.SimpleQueue<string>();
        var ready = _context.SimpleQueue<string>();
        var child = _context.Process(static (SimpleQueue<string> q, SimpleQueue<string> r) =>
        {
            var getter = new Thread(() => q.Get()) { IsBackground = true };
            var tryGetter = new Thread(() => q.TryGet(TimeSpan.FromMinutes(10), out _)) { IsBackground = true };
            getter.Start();
            tryGetter.Start();
            // Blocked means the Take was sent; it reaches the queue before the Put below reaches the other
            // queue, since both travel in order over the one connection to the caller.
            if (SpinWait.SpinUntil(() => Blocked(getter) && Blocked(tryGetter), TimeSpan.FromSeconds(30)))
                r.Put("getting");
            Thread.Sleep(Timeout.Infinite);

            static bool Blocked(Thread t) => (t.ThreadState & ThreadState.WaitSleepJoin) != 0;
        }, [queue, ready]);
        child.Start();
        Assert.Equal("getting", await Bounded(ready.Get));

        child.Kill();
        Assert.True(await Bounded(() => child.Join()));
        // The queue may still count the dead process's getters as waiting: these two may go to them.
        queue.PutMany(["first", "second"]);

        // Once the queue learns that the getters' process is gone, their items are back, oldest first.
        // (An item put after them could overtake them while the queue does not know yet.)
        Assert.Equal("first", await Bounded(queue.Get));
        Assert.Equal("second", await Bounded(queue.Get));
        queue.Put("third");
        Assert.Equal("third", await Bounded(queue.Get));
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task PutMany_and_GetAll_of_a_million_ints_work_from_a_child()
    {
        var queue = _context.SimpleQueue<int>();
        var report = _context.SimpleQueue<string>();
        var child = _context.Process(static (SimpleQueue<int> q, SimpleQueue<string> r) =>
        {
            q.PutMany(Enumerable.Range(0, 1_000_000));
            var all = q.GetAll();
            r.Put($"{all.Count} {all.SequenceEqual(Enumerable.Range(0, 1_000_000))}");
            q.PutMany(Enumerable.Range(0, 1_000_000));
        }, [queue, report]);
        child.Start();

        Assert.Equal("1000000 True", await Bounded(report.Get));
        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(0, child.ExitCode);
        Assert.Equal(Enumerable.Range(0, 1_000_000), await Bounded(queue.GetAll));
    }
}

/// <summary>Pool tasks and initializers for the queue tests; the statics are per worker process.</summary>
internal static class QueueWorker
{
    private static SimpleQueue<(int Pid, int Value)>? _queue;

    public static void Init(SimpleQueue<(int Pid, int Value)> sharedQueue) => _queue = sharedQueue;

    public static int PutPidAndValue(int value)
    {
        _queue!.Put((Environment.ProcessId, value));
        return Environment.ProcessId;
    }

    public static int PutTwiceCrashOnceAt2((SimpleQueue<int> Queue, string Marker, int X) task)
    {
        task.Queue.Put(task.X * 10);
        task.Queue.Put(task.X * 10 + 1);
        if (task.X == 2 && !File.Exists(task.Marker))
        {
            File.WriteAllText(task.Marker, "");
            // A request after the puts returns only once the queue has taken them: the re-run repeats puts it holds.
            _ = task.Queue.IsEmpty;
            Environment.Exit(9);
        }
        return task.X;
    }
}
