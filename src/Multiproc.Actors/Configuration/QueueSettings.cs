using Akka.Configuration;

namespace Multiproc.Actors.Configuration;

/// <summary>The <c>multiproc.queue</c> section, read once per actor system; defaults live in hocon/multiproc.conf.</summary>
internal sealed record QueueSettings
{
    public required TimeSpan PutTimeout { get; init; }
    public required int PipelineDepth { get; init; }
    public required TimeSpan DedupeRetention { get; init; }

    /// <summary>Reads the settings from a configuration that has the reference configuration as fallback.</summary>
    public static QueueSettings Create(Config config)
    {
        var settings = new QueueSettings
        {
            PutTimeout = config.GetTimeSpan("multiproc.queue.put-timeout"),
            PipelineDepth = config.GetInt("multiproc.queue.pipeline-depth"),
            DedupeRetention = config.GetTimeSpan("multiproc.queue.dedupe-retention"),
        };
        if (settings.PipelineDepth < 1)
            throw new ConfigurationException($"multiproc.queue.pipeline-depth must be at least 1, was {settings.PipelineDepth}.");
        if (settings.PutTimeout <= TimeSpan.Zero)
            throw new ConfigurationException($"multiproc.queue.put-timeout must be positive, was {settings.PutTimeout}.");
        return settings;
    }
}
