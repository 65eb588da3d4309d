using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Multiproc.Actors.Worker;
using Xunit;

namespace Multiproc.Actors.Tests.Worker;

/// <summary>A worker's "json" serializer stands in for Akka's on the wire: same identifier, same bytes.</summary>
public sealed class DeferredJsonSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    // A worker's config, where a user has bound one of their types to "json".
    private static readonly Config WorkerConfig = WorkerProgram.ConfigFor("""
        akka.actor.serialization-bindings {
          "Multiproc.Actors.Tests.Worker.DeferredJsonSerializerTests+Sample, Multiproc.Actors.Tests" = json
        }
        """);

    public DeferredJsonSerializerTests()
        : base(WorkerConfig)
    {
    }

    public sealed class Sample
    {
        public string Name { get; set; } = "";

        public List<int> Values { get; set; } = [];
    }

    [Fact]
    public void What_it_writes_Akkas_serializer_reads_and_the_other_way_round()
    {
        var akka = new NewtonSoftJsonSerializer((ExtendedActorSystem)Sys);
        var sample = new Sample { Name = "x", Values = [1, 2, 3] };

        var json = Sys.Serialization.FindSerializerFor(sample);
        Assert.IsType<DeferredJsonSerializer>(json);
        Assert.Equal(akka.Identifier, json.Identifier);
        Assert.Equal(akka.IncludeManifest, json.IncludeManifest);

        var bytes = json.ToBinary(sample);
        Assert.Equal(akka.ToBinary(sample), bytes);
        Assert.Equal(sample.Values, ((Sample)akka.FromBinary(bytes, typeof(Sample))).Values);
        var back = (Sample)Sys.Serialization.Deserialize(akka.ToBinary(sample), akka.Identifier, typeof(Sample));
        Assert.Equal("x", back.Name);
        Assert.Equal(sample.Values, back.Values);
    }
}
