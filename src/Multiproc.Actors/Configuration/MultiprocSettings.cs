using Akka.Configuration;

namespace Multiproc.Actors.Configuration;

/// <summary>
/// The <c>multiproc</c> section of the configuration, read once. The only reader of those keys:
/// defaults live in <c>hocon/multiproc.conf</c>, never in code.
/// </summary>
internal sealed record MultiprocSettings
{
    /// <summary>The configuration key that bounds every payload; named in size errors.</summary>
    public const string MaximumMessageSizeKey = "multiproc.maximum-message-size";

    /// <summary>Room left in an Akka frame for the envelope around a payload.</summary>
    public const long EnvelopeAllowance = 256 * 1024;

    public required long MaximumMessageSize { get; init; }
    public required int Prefetch { get; init; }
    public required int FastTaskPrefetch { get; init; }
    public required TimeSpan FastTaskThreshold { get; init; }
    public required int MaxTries { get; init; }
    public required TimeSpan RespawnBackoffMin { get; init; }
    public required TimeSpan RespawnBackoffMax { get; init; }
    public required TimeSpan WorkerStartTimeout { get; init; }
    public required int MaxFailedStarts { get; init; }

    /// <summary>The configuration key that bounds a pool's processes; named in the error above it.</summary>
    public const string MaxProcessesKey = "multiproc.pool.max-processes";

    /// <summary>The most worker processes one pool may have (never fewer than the machine's cores).</summary>
    public required int MaxProcesses { get; init; }

    /// <summary>The configuration key that bounds a worker's initializer; named in the error when it runs over.</summary>
    public const string InitializerTimeoutKey = "multiproc.pool.initializer-timeout";

    /// <summary>How long a worker's initializer may run before the pool fails its calls.</summary>
    public required TimeSpan InitializerTimeout { get; init; }
    public required TimeSpan RetireTimeout { get; init; }
    public required TimeSpan RegisterTimeout { get; init; }
    public required int WarmWorkersMax { get; init; }
    public required TimeSpan WarmWorkersIdleTimeout { get; init; }

    /// <summary>Payloads of at least this many bytes go through shared memory; 0 when that is off.</summary>
    public required long SharedMemoryThreshold { get; init; }

    /// <summary>Where the shared-memory directories are made (a memory file system).</summary>
    public required string SharedMemoryDirectory { get; init; }

    /// <summary>Bytes of idle shared-memory slots a pool keeps for reuse.</summary>
    public required long SharedMemoryRetain { get; init; }

    /// <summary>Reads the settings from a configuration that has the reference configuration as fallback.</summary>
    public static MultiprocSettings Create(Config config)
    {
        var settings = new MultiprocSettings
        {
            MaximumMessageSize = config.GetByteSize(MaximumMessageSizeKey, null) ?? throw Missing(MaximumMessageSizeKey),
            Prefetch = config.GetInt("multiproc.pool.prefetch"),
            FastTaskPrefetch = config.GetInt("multiproc.pool.fast-task-prefetch"),
            FastTaskThreshold = config.GetTimeSpan("multiproc.pool.fast-task-threshold"),
            MaxTries = config.GetInt("multiproc.pool.max-tries"),
            RespawnBackoffMin = config.GetTimeSpan("multiproc.pool.respawn-backoff-min"),
            RespawnBackoffMax = config.GetTimeSpan("multiproc.pool.respawn-backoff-max"),
            WorkerStartTimeout = config.GetTimeSpan("multiproc.pool.worker-start-timeout"),
            MaxFailedStarts = config.GetInt("multiproc.pool.max-failed-starts"),
            MaxProcesses = config.GetInt(MaxProcessesKey),
            InitializerTimeout = config.GetTimeSpan(InitializerTimeoutKey),
            RetireTimeout = config.GetTimeSpan("multiproc.pool.retire-timeout"),
            RegisterTimeout = config.GetTimeSpan("multiproc.worker.register-timeout"),
            WarmWorkersMax = config.GetInt("multiproc.warm-workers.max"),
            WarmWorkersIdleTimeout = config.GetTimeSpan("multiproc.warm-workers.idle-timeout"),
            SharedMemoryThreshold = SharedMemoryThresholdOf(config),
            SharedMemoryDirectory = config.GetString("multiproc.shared-memory.directory"),
            SharedMemoryRetain = config.GetByteSize("multiproc.shared-memory.retain", null) ?? throw Missing("multiproc.shared-memory.retain"),
        };
        if (settings.MaximumMessageSize < 1024)
            throw new ConfigurationException($"{MaximumMessageSizeKey} must be at least 1 KiB, was {settings.MaximumMessageSize} bytes.");
        if (settings.Prefetch < 1)
            throw new ConfigurationException($"multiproc.pool.prefetch must be at least 1, was {settings.Prefetch}.");
        if (settings.MaxProcesses < 1)
            throw new ConfigurationException($"{MaxProcessesKey} must be at least 1, was {settings.MaxProcesses}.");
        if (settings.InitializerTimeout <= TimeSpan.Zero)
            throw new ConfigurationException($"{InitializerTimeoutKey} must be positive, was {settings.InitializerTimeout}.");
        if (settings.WarmWorkersMax < 0)
            throw new ConfigurationException($"multiproc.warm-workers.max must be 0 or more, was {settings.WarmWorkersMax}.");
        return settings;
    }

    /// <summary>
    /// The limit payloads are held to in a system whose frame size is already fixed (one the user
    /// brought): never more than the frame can carry with its envelope.
    /// </summary>
    public MultiprocSettings WithFrameSize(long frameSize)
    {
        var room = frameSize - Math.Min(frameSize / 4, EnvelopeAllowance);
        return room >= MaximumMessageSize ? this : this with { MaximumMessageSize = room };
    }

    private static long SharedMemoryThresholdOf(Config config)
    {
        const string key = "multiproc.shared-memory.threshold";
        var value = config.GetString(key)?.Trim();
        if (value is null)
            throw Missing(key);
        if (value is "off" or "false" or "0")
            return 0;
        var threshold = config.GetByteSize(key, null) ?? throw new ConfigurationException($"{key} must be a size in bytes or 'off', was '{value}'.");
        if (threshold < 0)
            throw new ConfigurationException($"{key} must not be negative, was {threshold} bytes.");
        return threshold;
    }

    private static ConfigurationException Missing(string key) =>
        new($"The configuration has no '{key}'. Use MultiprocContext.DefaultConfig as its fallback.");
}
