using Akka.Configuration;
using Multiproc.Actors.Configuration;
using Xunit;

namespace Multiproc.Actors.Tests.Configuration;

public sealed class HoconWriterTests
{
    [Fact]
    public void What_is_written_parses_back_to_the_same_values_including_keys_with_dots()
    {
        var config = ConfigurationFactory.ParseString("""
            a.b { "System.Object" = hyperion, size = 32 MiB, flag = on, list = [1, 2] }
            c = "text with \"quotes\""
            """);

        var copy = ConfigurationFactory.ParseString(HoconWriter.Write(config, ["a.b", "c", "missing"]));

        Assert.Equal("hyperion", copy.GetConfig("a.b").GetString("\"System.Object\""));
        Assert.Equal(32L * 1024 * 1024, copy.GetByteSize("a.b.size", null));
        Assert.True(copy.GetBoolean("a.b.flag"));
        Assert.Equal([1, 2], copy.GetIntList("a.b.list"));
        Assert.Equal("text with \"quotes\"", copy.GetString("c"));
    }

    [Fact]
    public void The_reference_configuration_survives_the_trip_a_worker_makes()
    {
        var reference = MultiprocConfig.Default;
        var copy = ConfigurationFactory.ParseString(HoconWriter.Write(reference, ["multiproc", "akka.actor.serialization-bindings"]));
        Assert.Equal(MultiprocSettings.Create(reference), MultiprocSettings.Create(copy));
        Assert.Equal("hyperion", copy.GetConfig("akka.actor.serialization-bindings").GetString("\"System.Object\""));
    }
}
