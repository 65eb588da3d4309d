using System.Runtime.Serialization;
using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>A node of a linked list: a value that nests one level per node.</summary>
public sealed class ChainNode
{
    public int V;
    public ChainNode? Next;
}

/// <summary>Values nested deeper than multiproc.serialization.max-depth, in any direction, fail that call and nothing else.</summary>
internal static class DeepValues
{
    public static TheoryData<string> Kinds() => ["chain-30000", "chain-1000000", "arrays-100000"];

    /// <summary>A linked list of n nodes ("chain-n") or n arrays each holding the next ("arrays-n").</summary>
    public static object Make(string kind)
    {
        var dash = kind.IndexOf('-');
        var n = int.Parse(kind[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        if (kind.StartsWith("chain", StringComparison.Ordinal))
        {
            ChainNode? head = null;
            for (var i = 0; i < n; i++)
                head = new ChainNode { V = i, Next = head };
            return head!;
        }
        object value = 1;
        for (var i = 0; i < n; i++)
            value = new object[] { value };
        return value;
    }

    public static int Length(ChainNode? node)
    {
        var length = 0;
        for (; node is not null; node = node.Next)
            length++;
        return length;
    }

    /// <summary>What every refusal says: the depth reached, the limit and the key to raise it.</summary>
    public static void AssertNamesTheDepth(Exception? error)
    {
        Assert.True(error is SerializationException, $"expected a SerializationException, got {error}");
        var refused = Assert.IsType<SerializationException>(error, exactMatch: false);
        Assert.Contains("1,001 levels", refused.Message);
        Assert.Contains("multiproc.serialization.max-depth", refused.Message);
    }
}

[Collection(SharedPoolCollection.Name)]
public sealed class DeepValueTests(SharedPoolFixture fixture)
{
    [Theory]
    [MemberData(nameof(DeepValues.Kinds), MemberType = typeof(DeepValues))]
    public Task A_deep_argument_fails_that_call_and_the_pool_keeps_working(string kind) => Bounded(async () =>
    {
        var value = DeepValues.Make(kind);

        var error = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply(v => v.GetHashCode(), value)));

        DeepValues.AssertNamesTheDepth(error!);
        Assert.Equal(2, await Call(() => fixture.Pool.Apply(x => x + 1, 1)));
    });

    [Theory]
    [MemberData(nameof(DeepValues.Kinds), MemberType = typeof(DeepValues))]
    public Task A_deep_capture_fails_that_call_and_the_pool_keeps_working(string kind) => Bounded(async () =>
    {
        var closure = HashOf(DeepValues.Make(kind));

        var error = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply(closure)));

        DeepValues.AssertNamesTheDepth(error!);
        Assert.Equal(2, await Call(() => fixture.Pool.Apply(x => x + 1, 1)));
    });

    [Theory]
    [MemberData(nameof(DeepValues.Kinds), MemberType = typeof(DeepValues))]
    public Task A_deep_result_fails_that_task_in_the_worker_and_the_caller_and_workers_live(string kind) => Bounded(async () =>
    {
        var pids = await Call(() => fixture.Pool.Map(_ => Environment.ProcessId, Enumerable.Range(0, 8), chunksize: 1));

        var error = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply(DeepValues.Make, kind)));

        DeepValues.AssertNamesTheDepth(error!);
        Assert.Equal([0, 2, 4], await Call(() => fixture.Pool.Map(x => 2 * x, new[] { 0, 1, 2 })));
        Assert.All(pids.Distinct(), pid => Assert.True(ProcFs.IsWorkerAlive(pid), $"worker {pid} died"));
    });

    [Theory]
    [MemberData(nameof(DeepValues.Kinds), MemberType = typeof(DeepValues))]
    public Task A_deep_queue_item_fails_the_put_by_the_caller_or_by_a_task_and_the_queue_keeps_working(string kind) => Bounded(async () =>
    {
        using var queue = new SimpleQueue<object>(fixture.Context);

        var byCaller = await Record.ExceptionAsync(() => Call(() => queue.Put(DeepValues.Make(kind))));
        var byTask = await Record.ExceptionAsync(() => Call(() => fixture.Pool.Apply((q, k) =>
        {
            q.Put(DeepValues.Make(k));
            return 0;
        }, queue, kind)));

        DeepValues.AssertNamesTheDepth(byCaller!);
        DeepValues.AssertNamesTheDepth(byTask!);
        await Call(() => fixture.Pool.Apply(q =>
        {
            q.Put("after");
            return 0;
        }, queue));
        Assert.Equal("after", await Call(() => queue.Get()));
    });

    [Theory]
    [MemberData(nameof(DeepValues.Kinds), MemberType = typeof(DeepValues))]
    public Task Deep_initargs_or_child_args_fail_the_constructor_or_start(string kind) => Bounded(async () =>
    {
        var value = DeepValues.Make(kind);

        var pool = await Record.ExceptionAsync(() => Call(() =>
            new ProcessPool(1, initializer: (object _) => { }, initargs: [value], context: fixture.Context)));
        var child = new ChildProcess((object _) => { }, [value], context: fixture.Context);
        var start = await Record.ExceptionAsync(() => Call(child.Start));

        DeepValues.AssertNamesTheDepth(pool!);
        DeepValues.AssertNamesTheDepth(start!);
        Assert.Equal(2, await Call(() => fixture.Pool.Apply(x => x + 1, 1)));
    });

    // A lambda of its own, capturing only the value (one inside the test would share the test's closure).
    private static Func<int> HashOf(object captured) => () => captured.GetHashCode();
}

/// <summary>With the limit raised, a value deeper than any ordinary thread's stack survives travels both ways.</summary>
public sealed class RaisedDepthLimitTests
{
    [Fact]
    public Task A_30_000_node_list_travels_to_a_worker_and_back_when_the_limit_allows_it() => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("multiproc.serialization.max-depth = 50000"));
        try
        {
            var pool = await Call(() => new ProcessPool(1, context: context));
            var list = (ChainNode)DeepValues.Make("chain-30000");

            var back = await Call(() => pool.Apply(l => new ChainNode { V = -1, Next = l }, list));

            Assert.Equal(30_001, DeepValues.Length(back));
            Assert.Equal(29_999, back.Next!.V);
        }
        finally
        {
            await Deadline.Dispose(context);
        }
    });
}
