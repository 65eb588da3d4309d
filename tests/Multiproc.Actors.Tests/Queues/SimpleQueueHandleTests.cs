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
    public void The_chunk_runner_numbers_each_task_in_the_current_scope()
    {
        Func<int, int> square = x => x * x;
        var runner = ChunkRunner.Create(square, CallKind.Map);

        using var scope = TaskPutScope.Begin("pool", 1, 10);
        Assert.Equal(0, scope.NextOrigin().Seq);
        runner.Run(new[] { 3 });
        Assert.Equal(10, scope.NextOrigin().Item);
        runner.Run(new[] { 4 });
        var origin = scope.NextOrigin();
        Assert.Equal((11, 0), (origin.Item, origin.Seq));
        Assert.Equal(1, scope.NextOrigin().Seq);
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
