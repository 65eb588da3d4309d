using Akka.Actor;
using Akka.Actor.Internal;
using Akka.Actor.Setup;
using Akka.Configuration;
using DotNetty.Common;

namespace Multiproc.Actors.Configuration;

/// <summary>The embedded reference configuration and the configurations built on it.</summary>
internal static class MultiprocConfig
{
    private const string ResourceName = "Multiproc.Actors.multiproc.conf";
    private const string FrameSizeKey = "akka.remote.dot-netty.tcp.maximum-frame-size";

    private static readonly Lazy<Config> Reference = new(Load);

    // The library's local-only commands are kept from other processes by untrusted mode (they are
    // IPossiblyHarmful): in a system the library owns, a user's configuration cannot turn it off.
    private static readonly Config UntrustedMode = ConfigurationFactory.ParseString("akka.remote.untrusted-mode = on");

    /// <summary>hocon/multiproc.conf as embedded in this assembly.</summary>
    public static Config Default => Reference.Value;

    /// <summary>
    /// The configuration of an actor system the library creates: the user's keys over the reference,
    /// with Akka's frame size raised so that a payload of <c>multiproc.maximum-message-size</c> fits,
    /// and without Akka's own process-exit hook: the context ends the system itself, after its
    /// children (which may still be putting into its queues), and the hook would run first.
    /// </summary>
    public static Config ForOwnedSystem(Config? user)
    {
        var merged = (user ?? Config.Empty).WithFallback(Default);
        var settings = MultiprocSettings.Create(merged);
        var frame = settings.MaximumMessageSize + MultiprocSettings.EnvelopeAllowance;
        return ConfigurationFactory.ParseString($"""
            {FrameSizeKey} = {frame}b
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """).WithFallback(merged);
    }

    /// <summary>
    /// Starts an actor system as <c>ActorSystem.Create(name, BootstrapSetup.WithConfig(config).And(setups))</c>
    /// does, minus what Create does first: read the app.config "akka" section through
    /// System.Configuration.ConfigurationManager, only to discard it when the setup carries a config.
    /// That read loads the configuration system, System.Private.Xml, System.ComponentModel.TypeConverter
    /// and more: about 5.5 MiB of a worker's resident memory, and their JIT at start-up.
    /// </summary>
    /// <param name="name">The system's name.</param>
    /// <param name="config">Its whole configuration.</param>
    /// <param name="key">The context's transport key: TLS on, with only its holders as peers; null for plain TCP.</param>
    /// <param name="setups">More setups (log filters).</param>
    public static ActorSystem StartSystem(string name, Config config, TransportKey? key, params Setup[] setups)
    {
        QuietLeakDetector();
        if (key is not null)
        {
            config = TransportKey.EnableSsl.WithFallback(UntrustedMode).WithFallback(config);
            setups = [.. setups, key.Setup()];
        }
        var system = new ActorSystemImpl(name, config, ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(config), .. setups]));
        system.Start();
        return system;
    }

    /// <summary>
    /// Turns off DotNetty's buffer leak tracking unless the process asked for it (DotNetty's own
    /// environment variables, or a level other than its default set in code). It follows one buffer
    /// in 128, each with a stack trace that carries file and line numbers: read from the PDBs,
    /// ~1.5 % of a busy pool caller's CPU, plus the memory of the symbol readers. It is a DotNetty
    /// debugging aid, and the setting is the process's.
    /// </summary>
    private static void QuietLeakDetector()
    {
        if (Environment.GetEnvironmentVariable("io.netty.leakDetection.level") is null
            && Environment.GetEnvironmentVariable("io.netty.leakDetectionLevel") is null
            && ResourceLeakDetector.Level == ResourceLeakDetector.DetectionLevel.Simple)
            ResourceLeakDetector.Level = ResourceLeakDetector.DetectionLevel.Disabled;
    }

    /// <summary>The frame size a system was created with: what any one message may weigh.</summary>
    public static long FrameSize(Config systemConfig) => systemConfig.GetByteSize(FrameSizeKey, null) ?? 128000;

    private static Config Load()
    {
        using var stream = typeof(MultiprocConfig).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(MultiprocConfig).Assembly.Location}.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
