using Akka.Configuration;
using Multiproc.Actors.Configuration;
using Xunit;

namespace Multiproc.Actors.Tests.Configuration;

public sealed class MultiprocSettingsTests
{
    private static MultiprocSettings Read(string hocon) =>
        MultiprocSettings.Create(ConfigurationFactory.ParseString(hocon).WithFallback(MultiprocConfig.Default));

    [Fact]
    public void Shared_memory_defaults_to_64_KiB_in_dev_shm_keeping_256_MiB()
    {
        var settings = Read("");
        Assert.Equal(64 * 1024, settings.SharedMemoryThreshold);
        Assert.Equal("/dev/shm", settings.SharedMemoryDirectory);
        Assert.Equal(256L << 20, settings.SharedMemoryRetain);
    }

    [Theory]
    [InlineData("off", 0)]
    [InlineData("0", 0)]
    [InlineData("1 MiB", 1 << 20)]
    [InlineData("100000b", 100_000)]
    public void The_threshold_takes_a_size_or_off(string value, long expected)
    {
        Assert.Equal(expected, Read($"multiproc.shared-memory.threshold = {value}").SharedMemoryThreshold);
    }
}
