using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Serialization;
using Xunit;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Tests;

public sealed class QueueActorSpec : MultiprocSpec
{
    private const string Token = "the-token";
    private readonly PayloadCodec _codec;
    private long _nextRequest;

    public QueueActorSpec() => _codec = new PayloadCodec(Sys, 1 << 20);

    [Fact]
    public async Task Items_are_taken_in_the_order_they_were_put()
    {
        var queue = Queue();
        await PutAsync(queue, 1, 2);
        await PutAsync(queue, 3);

        Assert.Equal(1, await TakeAsync(queue));
        Assert.Equal(2, await TakeAsync(queue));
        Assert.Equal(3, await TakeAsync(queue));
    }

    [Fact]
    public async Task A_take_on_an_empty_queue_waits_for_the_next_put_and_getters_are_served_oldest_first()
    {
        var queue = Queue();
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        queue.Tell(new Take(Token, 1, null), first);
        queue.Tell(new Take(Token, 2, null), second);

        await PutAsync(queue, 10, 20);

        Assert.Equal(10, Decode((await first.ExpectMsgAsync<Taken>()).Item));
        Assert.Equal(20, Decode((await second.ExpectMsgAsync<Taken>()).Item));
    }

    [Fact]
    public async Task A_take_with_a_timeout_answers_without_an_item_when_none_comes_and_the_next_item_is_kept()
    {
        var queue = Queue();
        queue.Tell(new Take(Token, 7, TimeSpan.FromMilliseconds(50)));
        var timedOut = await ExpectMsgAsync<Taken>();
        Assert.Equal(7, timedOut.RequestId);
        Assert.Null(timedOut.Item);

        await PutAsync(queue, 5);
        Assert.Equal(1, await CountAsync(queue));
    }

    [Fact]
    public async Task A_take_with_a_zero_timeout_answers_at_once()
    {
        var queue = Queue();
        queue.Tell(new Take(Token, 1, TimeSpan.Zero));
        Assert.Null((await ExpectMsgAsync<Taken>()).Item);
    }

    [Fact]
    public async Task TakeAll_removes_every_item_oldest_first()
    {
        var queue = Queue();
        await PutAsync(queue, 1, 2, 3);

        queue.Tell(new TakeAll(Token, 1));
        var all = await ExpectMsgAsync<TakenAll>();

        Assert.Equal(new[] { 1, 2, 3 }, all.Items.Select(Decode));
        Assert.Null(all.Continuation);
        Assert.Equal(0, await CountAsync(queue));
    }

    [Fact]
    public async Task TakeAll_splits_items_that_do_not_fit_one_message_and_keeps_the_rest_for_the_caller()
    {
        var item = _codec.Encode(new byte[400], "item");
        var queue = Queue(maximumReplySize: 1000);
        queue.Tell(new Put(Token, 1, [item, item, item, item, item], null));
        await ExpectMsgAsync<Done>();

        queue.Tell(new TakeAll(Token, 2));
        var first = await ExpectMsgAsync<TakenAll>();
        // A later put is not part of this TakeAll: the rest was reserved when it started.
        await PutAsync(queue, 99);
        var taken = first.Items.Length;
        var continuation = first.Continuation;
        while (continuation is { } next)
        {
            queue.Tell(new TakeRest(Token, 3, next));
            var part = await ExpectMsgAsync<TakenAll>();
            Assert.All(part.Items, p => Assert.True(p.Length <= 1000));
            taken += part.Items.Length;
            continuation = part.Continuation;
        }

        Assert.Equal(2, first.Items.Length);
        Assert.Equal(5, taken);
        Assert.Equal(99, await TakeAsync(queue));
    }

    [Fact]
    public async Task Close_releases_blocked_getters_and_refuses_later_requests_and_closing_twice_is_harmless()
    {
        var queue = Queue();
        var getter = CreateTestProbe();
        queue.Tell(new Take(Token, 4, null), getter);

        queue.Tell(new Close(Token, 5));
        await ExpectMsgAsync<Done>();
        Assert.Equal(4, (await getter.ExpectMsgAsync<QueueClosed>()).RequestId);

        queue.Tell(new Put(Token, 6, [_codec.Encode(1, "item")], null));
        Assert.Equal(6, (await ExpectMsgAsync<QueueClosed>()).RequestId);
        queue.Tell(new Take(Token, 7, null));
        await ExpectMsgAsync<QueueClosed>();
        queue.Tell(new TakeAll(Token, 8));
        await ExpectMsgAsync<QueueClosed>();
        queue.Tell(new Count(Token, 9));
        await ExpectMsgAsync<QueueClosed>();
        queue.Tell(new Close(Token, 10));
        Assert.Equal(10, (await ExpectMsgAsync<Done>()).RequestId);
    }

    [Fact]
    public async Task A_request_with_a_wrong_token_is_dropped()
    {
        var queue = Queue();
        queue.Tell(new Put("not-the-token", 1, [_codec.Encode(1, "item")], null));
        queue.Tell(new Take("not-the-token", 2, TimeSpan.Zero));
        queue.Tell(new Close("not-the-token", 3));

        // Messages from one sender arrive in order: the next reply is this one's, so none of the others got one.
        Assert.Equal(0, await CountAsync(queue));
    }

    [Fact]
    public async Task The_repeated_puts_of_a_re_run_task_are_acknowledged_but_not_added()
    {
        var queue = Queue();
        // First run of the task at input position 3: two puts, then its worker dies.
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 0), 30);
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 1), 31);
        // The re-run puts the same two, then one more.
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 0), 30);
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 1), 31);
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 2), 32);
        // Other tasks, jobs and pools are told apart.
        await PutAsync(queue, new PutOrigin("pool-1", 1, 4, 0), 40);
        await PutAsync(queue, new PutOrigin("pool-1", 2, 3, 0), 230);
        await PutAsync(queue, new PutOrigin("pool-2", 1, 3, 0), 1030);
        // Puts without an origin (the caller, a child) are never deduplicated.
        await PutAsync(queue, 7);
        await PutAsync(queue, 7);

        queue.Tell(new TakeAll(Token, 1));
        var all = await ExpectMsgAsync<TakenAll>();
        Assert.Equal(new[] { 30, 31, 32, 40, 230, 1030, 7, 7 }, all.Items.Select(Decode));
    }

    [Fact]
    public async Task A_re_run_whose_puts_are_batched_differently_adds_only_the_items_not_taken_before()
    {
        var queue = Queue();
        // First run: items 0 and 1 alone, then 2..4 in one batch; then its worker dies.
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 0), 30);
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 1), 31, 32, 33, 34);
        // The re-run batches 0..2 and 3..6: only 5 and 6 are new.
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 0), 30, 31, 32);
        await PutAsync(queue, new PutOrigin("pool-1", 1, 3, 3), 33, 34, 35, 36);

        queue.Tell(new TakeAll(Token, 1));
        var all = await ExpectMsgAsync<TakenAll>();
        Assert.Equal(new[] { 30, 31, 32, 33, 34, 35, 36 }, all.Items.Select(Decode));
    }

    [Fact]
    public async Task Stopping_the_queue_releases_blocked_getters()
    {
        var queue = Queue();
        queue.Tell(new Take(Token, 1, null));
        // A stop overtakes ordinary messages: first make sure the take is waiting.
        Assert.Equal(0, await CountAsync(queue));
        Sys.Stop(queue);
        Assert.Equal(1, (await ExpectMsgAsync<QueueClosed>()).RequestId);
    }

    [Fact]
    public async Task A_getter_in_the_queues_own_process_takes_without_acknowledging_and_nothing_comes_back_when_it_stops()
    {
        var queue = Queue();
        var getter = CreateTestProbe();
        queue.Tell(new Take(Token, 1, null, Unacknowledged: true), getter);
        Assert.Equal(0, await CountAsync(queue));
        await PutAsync(queue, 1, 2);
        queue.Tell(new Take(Token, 2, null, Unacknowledged: true), getter);
        Assert.Equal(1, Decode((await getter.ExpectMsgAsync<Taken>()).Item));
        Assert.Equal(2, Decode((await getter.ExpectMsgAsync<Taken>()).Item));

        await WatchAsync(getter.Ref);
        Sys.Stop(getter.Ref);
        await ExpectTerminatedAsync(getter.Ref);

        // Had the queue kept copies, the getter's end would put 1 and 2 back in front of 3.
        await PutAsync(queue, 3);
        await AwaitAssertAsync(async () => Assert.Equal(1, await CountAsync(queue)), TimeSpan.FromSeconds(1));
        queue.Tell(new TakeAll(Token, 3));
        Assert.Equal(new[] { 3 }, (await ExpectMsgAsync<TakenAll>()).Items.Select(Decode));
    }

    [Fact]
    public async Task Items_a_getter_did_not_acknowledge_go_back_to_the_front_in_order_when_it_dies()
    {
        var queue = Queue();
        var dies = CreateTestProbe();
        var acks = CreateTestProbe();
        // A getter that was waiting, one served at once, and a GetAll: none acknowledged.
        queue.Tell(new Take(Token, 1, null), dies);
        Assert.Equal(0, await CountAsync(queue));
        await PutAsync(queue, 1, 2, 3, 4);
        queue.Tell(new Take(Token, 2, null), dies);
        queue.Tell(new Take(Token, 3, TimeSpan.FromMinutes(1)), acks);
        Assert.Equal(1, Decode((await dies.ExpectMsgAsync<Taken>()).Item));
        Assert.Equal(2, Decode((await dies.ExpectMsgAsync<Taken>()).Item));
        Assert.Equal(3, Decode((await acks.ExpectMsgAsync<Taken>()).Item));
        // An acknowledged item is the getter's for good.
        queue.Tell(new Ack(Token, 3), acks);
        queue.Tell(new TakeAll(Token, 4), dies);
        Assert.Equal(new[] { 4 }, (await dies.ExpectMsgAsync<TakenAll>()).Items.Select(Decode));
        await PutAsync(queue, 5);
        queue.Tell(new Take(Token, 5, null), dies);
        await dies.ExpectMsgAsync<Taken>();
        queue.Tell(new Ack(Token, 5), dies);

        Sys.Stop(dies.Ref);
        Sys.Stop(acks.Ref);

        await AwaitAssertAsync(async () => Assert.Equal(3, await CountAsync(queue)), TimeSpan.FromSeconds(10));
        queue.Tell(new TakeAll(Token, 6));
        Assert.Equal(new[] { 1, 2, 4 }, (await ExpectMsgAsync<TakenAll>()).Items.Select(Decode));
    }

    [Fact]
    public async Task An_item_put_back_goes_to_a_getter_already_waiting()
    {
        var queue = Queue();
        var dies = CreateTestProbe();
        var waits = CreateTestProbe();
        await PutAsync(queue, 1);
        queue.Tell(new Take(Token, 1, null), dies);
        await dies.ExpectMsgAsync<Taken>();
        queue.Tell(new Take(Token, 2, null), waits);
        Assert.Equal(0, await CountAsync(queue));

        Sys.Stop(dies.Ref);

        Assert.Equal(1, Decode((await waits.ExpectMsgAsync<Taken>(TimeSpan.FromSeconds(10))).Item));
    }

    [Fact]
    public async Task Timer_messages_not_sent_by_the_queue_itself_are_dropped()
    {
        var queue = Queue();
        var getter = CreateTestProbe();
        queue.Tell(new Take(Token, 1, TimeSpan.FromMinutes(5)), getter);
        Assert.Equal(0, await CountAsync(queue));

        queue.Tell(new TakeTimedOut(getter.Ref, 1, 0));
        queue.Tell(new EvictIdleOrigins(0));
        await PutAsync(queue, 42);

        Assert.Equal(42, Decode((await getter.ExpectMsgAsync<Taken>()).Item));
    }

    [Fact]
    public async Task Each_part_of_a_TakeAll_of_many_small_items_fits_the_reply_size_on_the_wire()
    {
        const int limit = 2000;
        var queue = Queue(maximumReplySize: limit);
        queue.Tell(new Put(Token, 1, Enumerable.Range(0, 1000).Select(i => _codec.Encode(i, "item")).ToArray(), null));
        await ExpectMsgAsync<Done>();

        var taken = new List<int>();
        queue.Tell(new TakeAll(Token, 2));
        while (true)
        {
            var part = await ExpectMsgAsync<TakenAll>();
            var bytes = Sys.Serialization.FindSerializerFor(part).ToBinary(part);
            // The limit plus a small fixed header; Hyperion's ~50 bytes per item would be far over.
            Assert.True(bytes.Length <= limit + 64, $"a part of {part.Items.Length} items is {bytes.Length} bytes");
            taken.AddRange(part.Items.Select(Decode));
            if (part.Continuation is not { } next)
                break;
            queue.Tell(new TakeRest(Token, 3, next));
        }

        Assert.Equal(Enumerable.Range(0, 1000), taken);
    }

    [Fact]
    public async Task The_items_of_a_PutMany_block_are_counted_and_taken_one_at_a_time_in_order()
    {
        var queue = Queue();
        await PutPayloadsAsync(queue, null, Block(1, 2, 3), _codec.Encode(4, "item"));

        Assert.Equal(4, await CountAsync(queue));
        Assert.Equal(1, await TakeAsync(queue));
        Assert.Equal(2, await TakeAsync(queue));
        Assert.Equal(2, await CountAsync(queue));
        queue.Tell(new TakeAll(Token, 7));
        var all = await ExpectMsgAsync<TakenAll>();

        // What is left of the opened block goes out as a block again, ahead of what came after it.
        Assert.Equal(new[] { 1, 0 }, all.Items.Select(p => p.Block));
        Assert.Equal(new[] { 3, 4 }, all.Items.SelectMany(p => p.Block > 0 ? ((int[])_codec.Decode(p)!).AsEnumerable() : [Decode(p)]));
    }

    [Fact]
    public async Task A_waiting_getter_gets_the_first_item_of_an_arriving_block_and_the_rest_wait_in_order()
    {
        var queue = Queue();
        queue.Tell(new Take(Token, 9, null));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        queue.Tell(new Put(Token, 10, [Block(5, 6, 7)], null));

        Assert.Equal(5, Decode((await ExpectMsgAsync<Taken>()).Item));
        Assert.Equal(10, (await ExpectMsgAsync<Done>()).RequestId);
        Assert.Equal(2, await CountAsync(queue));
        Assert.Equal(6, await TakeAsync(queue));
        Assert.Equal(7, await TakeAsync(queue));
    }

    [Fact]
    public async Task A_re_run_tasks_block_cut_by_items_it_put_before_adds_only_the_new_ones()
    {
        var queue = Queue();
        await PutAsync(queue, new PutOrigin("pool", 1, 0, 0), 1, 2);

        await PutPayloadsAsync(queue, new PutOrigin("pool", 1, 0, 0), Block(1, 2, 3, 4));

        Assert.Equal(4, await CountAsync(queue));
        Assert.Equal(new[] { 1, 2, 3, 4 }, new[] { await TakeAsync(queue), await TakeAsync(queue), await TakeAsync(queue), await TakeAsync(queue) });
    }

    private Payload Block(params int[] items) => _codec.EncodeUnchecked(items, "items") with { Block = items.Length };

    private async Task PutPayloadsAsync(IActorRef queue, PutOrigin? origin, params Payload[] items)
    {
        var id = Interlocked.Increment(ref _nextRequest);
        queue.Tell(new Put(Token, id, items, origin));
        Assert.Equal(id, (await ExpectMsgAsync<Done>()).RequestId);
    }

    private IActorRef Queue(long maximumReplySize = 1 << 20) =>
        Sys.ActorOf(QueueActor.Props(new QueueSetup(Token, maximumReplySize, TimeSpan.FromMinutes(1))));

    private Task PutAsync(IActorRef queue, params int[] items) => PutAsync(queue, null, items);

    private Task PutAsync(IActorRef queue, PutOrigin? origin, params int[] items) =>
        PutPayloadsAsync(queue, origin, items.Select(i => _codec.Encode(i, "item")).ToArray());

    private async Task<int> TakeAsync(IActorRef queue)
    {
        queue.Tell(new Take(Token, Interlocked.Increment(ref _nextRequest), null));
        return Decode((await ExpectMsgAsync<Taken>()).Item);
    }

    private async Task<int> CountAsync(IActorRef queue)
    {
        queue.Tell(new Count(Token, Interlocked.Increment(ref _nextRequest)));
        return (await ExpectMsgAsync<Counted>()).Count;
    }

    private int Decode(Payload? payload) => (int)_codec.Decode(payload!)!;
}
