using Akka.Actor;
using Akka.Configuration;
using Akka.Util;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Queues;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Queues;

public sealed class SimpleQueueHandleTests : MultiprocSpec
{
    private const string Token = "the-token";

    [Fact]
    public void A_handle_survives_serialization_and_talks_to_the_same_queue()
    {
        var queue = Handle<string>();
        var codec = new PayloadCodec(Sys, 1 << 20);

        var copy = (SimpleQueue<string>)codec.Decode(codec.Encode(queue, "the queue"))!;
        copy.Put("from the copy");

        Assert.NotSame(queue, copy);
        Assert.Equal("from the copy", queue.Get());
    }

    [Fact]
    public void A_handle_inside_another_value_is_not_refused_as_process_local_state()
    {
        var queue = Handle<int>();
        CaptureCheck.Ensure(new { Queue = queue }, path => path, "args");
        Assert.True(CaptureCheck.IsStaticallySafe(typeof(SimpleQueue<int>)));
    }

    [Fact]
    public void Put_then_Get_TryGet_GetAll_and_IsEmpty()
    {
        var queue = Handle<int>();
        Assert.True(queue.IsEmpty);
        queue.Put(1);
        queue.PutMany([2, 3, 4]);
        Assert.False(queue.IsEmpty);

        Assert.Equal(1, queue.Get());
        Assert.True(queue.TryGet(TimeSpan.Zero, out var second));
        Assert.Equal(2, second);
        Assert.Equal(new[] { 3, 4 }, queue.GetAll());
        Assert.False(queue.TryGet(TimeSpan.Zero, out _));
        Assert.Empty(queue.GetAll());
    }

    [Fact]
    public void An_item_holding_process_local_state_fails_its_put_and_the_queue_stays_usable()
    {
        var queue = Handle<object>();

        var error = Assert.Throws<ArgumentException>(() => queue.Put(new MemoryStream()));
        Assert.Contains("stream", error.Message);
        queue.Put("fine");

        Assert.Equal("fine", queue.Get());
    }

    [Fact]
    public void An_item_the_serializer_refuses_fails_its_put_with_SerializationException_naming_the_type()
    {
        var queue = Handle<object>();

        // Hyperion refuses types that can run code when deserialized.
        var error = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => queue.Put(new FileInfo("/tmp")));
        Assert.Contains("System.IO.FileInfo", error.Message);
        queue.Put(1);

        Assert.Equal(1, queue.Get());
    }

    [Fact]
    public void An_item_over_the_size_limit_fails_its_put_naming_the_limit()
    {
        using var small = SmallSystem();
        var queue = Handle<byte[]>(small.System);

        var error = Assert.Throws<ArgumentException>(() => queue.Put(new byte[50_000]));
        Assert.Contains("multiproc.maximum-message-size", error.Message);
        queue.Put([1, 2, 3]);

        Assert.Equal(new byte[] { 1, 2, 3 }, queue.Get());
    }

    [Fact]
    public void PutMany_of_more_than_one_message_holds_arrives_whole_and_in_order()
    {
        using var small = SmallSystem();
        var queue = Handle<byte[]>(small.System);
        var items = Enumerable.Range(0, 10).Select(i => Enumerable.Repeat((byte)i, 3_000).ToArray()).ToList();

        queue.PutMany(items);

        Assert.Equal(items.Select(i => i[0]), queue.GetAll().Select(i => i[0]));
    }

    [Fact]
    public void PutMany_items_between_Puts_are_each_taken_once_in_order_by_Get_TryGet_and_GetAll()
    {
        var queue = Handle<(int Pid, int Value)>();
        queue.Put((1, 0));
        queue.PutMany(Enumerable.Range(1, 20_000).Select(v => (2, v)));
        queue.Put((3, 20_001));

        var taken = new List<(int Pid, int Value)> { queue.Get(), queue.Get() };
        Assert.True(queue.TryGet(TimeSpan.Zero, out var third));
        taken.Add(third);
        Assert.False(queue.IsEmpty);
        taken.AddRange(queue.GetAll());

        Assert.Equal(Enumerable.Range(0, 20_002), taken.Select(t => t.Value));
        Assert.Equal([1, .. Enumerable.Repeat(2, 20_000), 3], taken.Select(t => t.Pid));
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void PutMany_with_an_item_that_cannot_travel_names_its_index_and_puts_nothing()
    {
        var queue = Handle<object>();

        var error = Assert.Throws<ArgumentException>(() => queue.PutMany(["fine", 2, new MemoryStream()]));

        Assert.Contains("index 2", error.Message);
        Assert.True(queue.IsEmpty);
        queue.PutMany(["a", 1, (2, "b")]);
        Assert.Equal(new object[] { "a", 1, (2, "b") }, queue.GetAll());
    }

    [Fact]
    public void After_Close_puts_and_gets_throw_ObjectDisposedException_and_Close_again_is_harmless()
    {
        var queue = Handle<int>();
        var other = Handle(queue);
        queue.Put(1);
        queue.Close();
        queue.Close();

        Assert.Throws<ObjectDisposedException>(() => queue.Put(2));
        Assert.Throws<ObjectDisposedException>(() => queue.Get());
        // Another handle to the same queue learns it from the queue actor.
        Assert.Throws<ObjectDisposedException>(() => other.Get());
        Assert.Throws<ObjectDisposedException>(() => other.GetAll());
        Assert.Throws<ObjectDisposedException>(() => _ = other.IsEmpty);
        other.Dispose();
    }

    [Fact]
    public async Task A_blocked_Get_is_released_by_Close_with_ObjectDisposedException()
    {
        var queue = Handle<int>();
        var blocked = Task.Run(() => queue.Get());

        Handle(queue).Close();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_blocked_Get_is_released_by_a_later_Put()
    {
        var queue = Handle<string>();
        var blocked = Task.Run(() => queue.Get());

        Handle(queue).Put("hello");

        Assert.Equal("hello", await blocked.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_reply_counts_only_from_the_queue_its_request_went_to_and_ids_and_names_are_not_guessable()
    {
        var client = QueueClient.For(Sys);
        var queue = CreateTestProbe();
        var forger = CreateTestProbe();
        var codec = client.Codec;

        var sent = client.Send(queue.Ref, id => new QueueProtocol.Take(Token, id, null));
        var take = await queue.ExpectMsgAsync<QueueProtocol.Take>();
        client.Replies.Tell(new QueueProtocol.Taken(take.RequestId, codec.Encode("forged", "item")), forger.Ref);
        client.Replies.Tell(new QueueProtocol.Taken(take.RequestId, codec.Encode("real", "item")), queue.Ref);

        var reply = (QueueProtocol.Taken)await sent.Reply.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("real", codec.Decode(reply.Item!));
        // The real reply is acknowledged to the queue.
        Assert.Equal(take.RequestId, (await queue.ExpectMsgAsync<QueueProtocol.Ack>()).RequestId);
        Assert.NotEqual("multiproc-queue-client", client.Replies.Path.Name);
        Assert.StartsWith("multiproc-queue-client-", client.Replies.Path.Name);
        Assert.True(take.RequestId > 1_000_000, $"request id {take.RequestId}");
    }

    [Fact]
    public async Task After_a_context_in_a_users_system_is_disposed_its_queues_fail_at_once_and_Close_is_harmless()
    {
        var context = MultiprocContext.Create(Sys);
        var queue = context.SimpleQueue<int>();
        var other = Handle(queue);
        var blocked = Task.Run(() => queue.Get());
        Assert.True(queue.IsEmpty);

        context.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(20)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Task.Run(() => other.Put(1)).WaitAsync(TimeSpan.FromSeconds(20)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Task.Run(() => other.TryGet(TimeSpan.FromMinutes(1), out _)).WaitAsync(TimeSpan.FromSeconds(20)));
        await Task.Run(() =>
        {
            queue.Close();
            other.Dispose();
            context.Dispose();
        }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(Sys.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task A_call_waiting_on_a_queue_actor_that_stopped_fails_instead_of_waiting_for_ever()
    {
        var queue = Handle<int>();
        var blocked = Task.Run(() => queue.Get());
        Assert.True(queue.IsEmpty);

        Sys.Stop(queue.Actor);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(20)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Task.Run(() => Handle(queue).Put(1)).WaitAsync(TimeSpan.FromSeconds(20)));
        await Task.Run(queue.Close).WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void Two_contexts_in_one_system_and_a_users_own_queue_1_do_not_collide_on_actor_names()
    {
        Sys.ActorOf(Props.Empty, "queue-1");
        Sys.ActorOf(Props.Empty, "pool-1");
        using var first = MultiprocContext.Create(Sys);
        using var second = MultiprocContext.Create(Sys);

        var a = first.SimpleQueue<int>();
        var b = second.SimpleQueue<int>();
        a.Put(1);
        b.Put(2);

        Assert.Equal(1, a.Get());
        Assert.Equal(2, b.Get());
        Assert.NotEqual(first.NextPoolName(), second.NextPoolName());
        Assert.NotEqual("pool-1", first.NextPoolName());
    }

    [Fact]
    public void A_re_run_task_putting_to_two_queues_adds_each_item_exactly_once_however_its_puts_were_batched()
    {
        var x = Handle<int>();
        var y = Handle<int>();
        // The first run puts interleaved to both queues, then its worker "dies" before a4 and b3.
        RunTask(() =>
        {
            x.Put(1);
            y.Put(101);
            x.Put(2);
            y.Put(102);
            x.Put(3);
        });
        // The re-run puts everything, PutMany included, batched as its timing makes it.
        RunTask(() =>
        {
            x.Put(1);
            y.Put(101);
            x.Put(2);
            y.Put(102);
            x.PutMany([3, 4, 5]);
            y.Put(103);
        });

        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, x.GetAll());
        Assert.Equal(new[] { 101, 102, 103 }, y.GetAll());

        static void RunTask(Action task)
        {
            using var scope = TaskPutScope.Begin("pool", 1, 7);
            TaskPutScope.OnTaskStart();
            task();
            Assert.Null(scope.FinishAsync().GetAwaiter().GetResult());
        }
    }

    [Fact]
    public void The_chunk_runner_numbers_each_task_in_the_current_scope()
    {
        Func<int, int> square = x => x * x;
        var runner = ChunkRunner.Create(square, CallKind.Map);

        var queue = CreateTestProbe().Ref;
        var other = CreateTestProbe().Ref;
        using var scope = TaskPutScope.Begin("pool", 1, 10);
        Assert.Equal(0, scope.NextOrigin(queue).Seq);
        runner.Run(new[] { 3 });
        Assert.Equal(10, scope.NextOrigin(queue).Item);
        runner.Run(new[] { 4 });
        var origin = scope.NextOrigin(queue);
        Assert.Equal((11, 0), (origin.Item, origin.Seq));
        // Numbered per queue: a put to another queue in between leaves no gap in this one's numbers.
        Assert.Equal(0, scope.NextOrigin(other).Seq);
        Assert.Equal(1, scope.NextOrigin(queue, count: 3).Seq);
        Assert.Equal(4, scope.NextOrigin(queue).Seq);
    }

    private SimpleQueue<T> Handle<T>(ActorSystem? system = null)
    {
        system ??= Sys;
        var client = QueueClient.For(system);
        var actor = system.ActorOf(QueueActor.Props(new QueueSetup(Token, client.Codec.MaximumMessageSize, TimeSpan.FromMinutes(1))));
        return new SimpleQueue<T>(client, actor, Token);
    }

    /// <summary>Another handle to the same queue, as a worker would get it.</summary>
    private SimpleQueue<T> Handle<T>(SimpleQueue<T> queue) => (SimpleQueue<T>)((ISurrogated)queue).ToSurrogate(Sys).FromSurrogate(Sys);

    /// <summary>A system whose payloads may weigh at most 16 KiB.</summary>
    private static SystemScope SmallSystem() =>
        new(ActorSystem.Create("small", MultiprocConfig.ForOwnedSystem(ConfigurationFactory.ParseString("multiproc.maximum-message-size = 16 KiB"))));

    private sealed class SystemScope(ActorSystem system) : IDisposable
    {
        public ActorSystem System { get; } = system;

        public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
