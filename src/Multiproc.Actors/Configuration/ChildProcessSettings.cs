using Akka.Configuration;

namespace Multiproc.Actors.Configuration;

/// <summary>The <c>multiproc.process</c> section, read once; defaults live in hocon/multiproc.conf.</summary>
internal sealed record ChildProcessSettings
{
    public required TimeSpan JoinOnExitTimeout { get; init; }
    public required TimeSpan TerminateTimeout { get; init; }
    public required TimeSpan ShutdownTimeout { get; init; }

    /// <summary>Reads the settings from a configuration that has the reference configuration as fallback.</summary>
    public static ChildProcessSettings Create(Config config) => new()
    {
        JoinOnExitTimeout = config.GetTimeSpan("multiproc.process.join-on-exit-timeout"),
        TerminateTimeout = config.GetTimeSpan("multiproc.process.terminate-timeout"),
        ShutdownTimeout = config.GetTimeSpan("multiproc.process.shutdown-timeout"),
    };
}
