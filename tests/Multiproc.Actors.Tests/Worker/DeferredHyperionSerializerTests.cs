using Akka.Actor;
using Akka.Serialization;
using Multiproc.Actors.Worker;
using Xunit;

namespace Multiproc.Actors.Tests.Worker;

/// <summary>A worker's "hyperion" serializer stands in for Hyperion on the wire: same identifier, same bytes.</summary>
public sealed class DeferredHyperionSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    public DeferredHyperionSerializerTests()
        : base(WorkerProgram.ConfigFor(""))
    {
    }

    public sealed record Sample(string Name, List<int> Values);

    [Fact]
    public void What_it_writes_Hyperion_reads_and_the_other_way_round()
    {
        var hyperion = new HyperionSerializer((ExtendedActorSystem)Sys);
        var sample = new Sample("x", [1, 2, 3]);

        var deferred = Sys.Serialization.FindSerializerFor(sample);
        Assert.IsType<DeferredHyperionSerializer>(deferred);
        Assert.Equal(hyperion.Identifier, deferred.Identifier);
        Assert.Equal(hyperion.IncludeManifest, deferred.IncludeManifest);

        var bytes = deferred.ToBinary(sample);
        Assert.Equal(sample.Values, ((Sample)hyperion.FromBinary(bytes, typeof(object))).Values);
        var back = (Sample)Sys.Serialization.Deserialize(hyperion.ToBinary(sample), hyperion.Identifier, typeof(object));
        Assert.Equal("x", back.Name);
        Assert.Equal(sample.Values, back.Values);
    }
}
