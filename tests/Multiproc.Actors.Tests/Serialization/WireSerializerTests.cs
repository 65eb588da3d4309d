using Akka.Actor;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Serialization;
using Xunit;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class WireSerializerTests : MultiprocSpec
{
    private static readonly Payload Items = new(5, "m", [1, 2, 3]);
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
        Retire.Instance,
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
        var message = new QueueProtocol.Done(5);
        var serializer = Sys.Serialization.FindSerializerFor(message);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, message));
        Assert.Equal(message, back);
    }

    // Records with arrays compare arrays by reference; compare what they hold instead.
    private static string Describe(object? message) => message switch
    {
        RunChunk r => $"{r.JobId}/{r.ChunkIndex}/{r.Start}/{Describe(r.Function)}/{Describe(r.Items)}/{string.Join(",", r.ForgetJobs)}",
        ChunkDone d => $"{d.JobId}/{d.ChunkIndex}/{Describe(d.Results)}",
        Welcome w => $"welcome/{Describe(w.Initializer)}",
        Payload p => $"{p.SerializerId}/{p.Manifest}/{Convert.ToHexString(p.Bytes)}",
        null => "null",
        _ => message.ToString()!,
    };
}
