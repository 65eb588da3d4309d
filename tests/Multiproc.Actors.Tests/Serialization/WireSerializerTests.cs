using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class WireSerializerTests : MultiprocSpec
{
    private static readonly Payload Items = new(5, "m", [1, 2, 3]);
    private static readonly Payload SharedItems = new(1432, "jy", []) { Shared = new SharedRef(17, (1L << 33) + 5) };
    private static readonly RemoteError Error = new("T", "message", "stack", new RemoteError("I", "inner", "", null));

    public static TheoryData<object> Messages() =>
    [
        new RegisterWorker("token", 42),
        WorkerReady.Instance,
        new InitializerFailed(Error),
        new ChunkDone(7, 3, Items),
        new ChunkFailed(7, 3, 12, Error),
        new Welcome(null),
        new Welcome(Items),
        new RunChunk(9, 1, 100, null, Items, []),
        new RunChunk(9, 1, 100, new Payload(1, "", [9]), Items, [4, 5]),
        new RunChunk(9, 1, 100, new Payload(1, "", [9]), SharedItems, [4], ResultSlot: 3),
        new RunChunk(9, 1, 100, null, Items, [], FunctionId: 12),
        new ChunkDone(7, 3, SharedItems),
        new Welcome(Items, "/dev/shm/multiproc-1-ab/pool-ab-1"),
        Retire.Instance,
        new RunChunks([new RunChunk(9, 1, 100, new Payload(1, "", [9]), Items, [4]), new RunChunk(10, 0, 0, null, Items, [])]),
        new ChunkReports([new ChunkDone(7, 3, Items), new ChunkFailed(7, 4, 13, Error), new ChunkDone(8, 0, Items)]),
        new Transfer(ActorRefs.Nobody),
        new QueueProtocol.Put("token", long.MaxValue, [Items, new Payload(1, "", [])], null),
        new QueueProtocol.Put("token", 3, [Items], new QueueProtocol.PutOrigin("pool", 4, 5, 6)),
        new QueueProtocol.Take("token", 8, null),
        new QueueProtocol.Take("token", 8, TimeSpan.FromMilliseconds(1500)),
        new QueueProtocol.Take("token", 8, null, Unacknowledged: true),
        new QueueProtocol.Taken(9, Items),
        new QueueProtocol.Taken(9, null),
        new QueueProtocol.TakenAll(10, [Items, Items], 11),
        new QueueProtocol.TakenAll(10, [], null),
        new QueueProtocol.Done(12),
        new QueueProtocol.Ack("token", 13),
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_pool_message_survives_the_trip_through_the_wire_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<WireSerializer>(serializer);

        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, message));

        Assert.Equal(Describe(message), Describe(back));
    }

    [Fact]
    public void A_wire_message_without_a_layout_of_its_own_goes_through_Hyperion()
    {
        var message = new QueueProtocol.Counted(5, 7);
        var serializer = Sys.Serialization.FindSerializerFor(message);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, message));
        Assert.Equal(message, back);
    }

    [Fact]
    public void A_put_of_a_million_small_items_has_a_compact_layout_never_bigger_than_WireSize_counts()
    {
        var codec = new PayloadCodec(Sys, 1 << 30);
        var items = Enumerable.Range(0, 1_000_000).Select(i => codec.Encode(i, "item")).ToArray();
        var put = new QueueProtocol.Put(new string('t', 64), 1, items, null);
        var serializer = Sys.Serialization.FindSerializerFor(put);

        var bytes = serializer.ToBinary(put);

        Assert.NotEqual("H", Akka.Serialization.Serialization.ManifestFor(serializer, put));
        Assert.True(bytes.Length <= items.Sum(WireSerializer.WireSize) + 256, $"{bytes.Length} bytes");
    }

    [Fact]
    public void A_function_comes_back_as_the_same_callable_from_its_compact_layout_with_its_target_copied()
    {
        // A static method (no target), a non-capturing lambda (a fieldless target: only its type
        // travels) and a closure (its captured values, copied): each rebuilt and called.
        var offset = 40;
        Func<int, int> closure = x => x + offset;
        Func<int, int>[] functions = [Twice, x => x * 3, closure];
        var results = new List<int>();
        foreach (var function in functions)
        {
            var encoded = new JobFunction(FunctionRef.From(function, "func"), CallKind.Map,
                Stateless: !ReferenceEquals(function, closure));
            var serializer = Sys.Serialization.FindSerializerFor(encoded);
            Assert.IsType<WireSerializer>(serializer);
            var back = (JobFunction)Sys.Serialization.Deserialize(serializer.ToBinary(encoded), serializer.Identifier,
                Akka.Serialization.Serialization.ManifestFor(serializer, encoded));
            Assert.Equal(encoded.Stateless, back.Stateless);
            results.Add(((Func<int, int>)back.Function.Resolve())(2));
        }
        Assert.Equal([4, 6, 42], results);
    }

    private static int Twice(int x) => 2 * x;

    [Fact]
    public void Chunks_and_results_are_serialized_into_a_buffer_of_exactly_their_size()
    {
        // Exact, the writer's own buffer is the message: no copy of a large inline payload.
        var items = new Payload(1432, new string('é', 200), new byte[60_000]);
        var run = new RunChunk(1, 2, 3, new Payload(7, "fn", [1, 2]), items, [4, 5], 6);
        var serializer = Sys.Serialization.FindSerializerFor(run);

        var bytes = serializer.ToBinary(run);
        var done = serializer.ToBinary(new ChunkDone(1, 2, items));

        Assert.Equal(8 + 4 + 4 + (1 + 4 + 1 + 2 + 4 + 2) + (1 + 4 + 2 + 400 + 4 + 60_000) + 4 + 16 + 4 + 4, bytes.Length);
        Assert.Equal(8 + 4 + (1 + 4 + 2 + 400 + 4 + 60_000), done.Length);
    }

    // Records with arrays compare arrays by reference; compare what they hold instead.
    private static string Describe(object? message) => message switch
    {
        RunChunk r => $"{r.JobId}/{r.ChunkIndex}/{r.Start}/{Describe(r.Function)}/{Describe(r.Items)}/{string.Join(",", r.ForgetJobs)}/{r.ResultSlot}",
        ChunkDone d => $"{d.JobId}/{d.ChunkIndex}/{Describe(d.Results)}",
        RunChunks many => $"many/{string.Join(";", many.Chunks.Select(Describe))}",
        ChunkReports reports => $"reports/{string.Join(";", reports.Reports.Select(Describe))}",
        Welcome w => $"welcome/{Describe(w.Initializer)}/{w.SharedDirectory}",
        QueueProtocol.Put p => $"put/{p.Token}/{p.RequestId}/{string.Join(",", p.Items.Select(Describe))}/{p.Origin}",
        QueueProtocol.Taken t => $"taken/{t.RequestId}/{Describe(t.Item)}",
        QueueProtocol.TakenAll a => $"all/{a.RequestId}/{string.Join(",", a.Items.Select(Describe))}/{a.Continuation}",
        Payload p => $"{p.SerializerId}/{p.Manifest}/{Convert.ToHexString(p.Bytes)}/{p.Shared}",
        null => "null",
        _ => message.ToString()!,
    };
}
