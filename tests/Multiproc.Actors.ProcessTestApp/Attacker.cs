using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using Akka.Remote.Transport.DotNetty;
using Akka.Serialization;
using Multiproc.Actors;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;

/// <summary>
/// A stranger on the same machine (another process, possibly another user) that knows a context's
/// port and actor paths — both public — but did not get its key. Each attack reports on stdout how
/// its connection ended; the test checks on its side that nothing was obeyed.
/// Usage: attack forged-job|other-cert &lt;pool actor path&gt; &lt;marker file&gt;
///        attack deep &lt;any actor path&gt;
///        attack garbage &lt;host&gt; &lt;port&gt;
/// </summary>
internal static class Attacker
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static int Run(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "forged-job" when args.Length == 3:
                return ForgedJob(PlainSystem(), Plain(args[1]), args[2]);
            case "other-cert" when args.Length == 3:
                return ForgedJob(OtherCertificateSystem(), args[1], args[2]);
            case "deep" when args.Length == 2:
                return Deep(Plain(args[1]));
            case "garbage" when args.Length == 3:
                return Garbage(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
            default:
                Console.Error.WriteLine("usage: attack forged-job|other-cert <pool path> <marker> | deep <path> | garbage <host> <port>");
                return 2;
        }
    }

    // A plain Akka.Remote client speaks akka.tcp whatever the server's scheme is.
    private static string Plain(string path) => path.Replace("akka.ssl.tcp://", "akka.tcp://", StringComparison.Ordinal);

    private static Config BaseConfig(bool ssl) => ConfigurationFactory.ParseString($$"""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, enable-ssl = {{(ssl ? "on" : "off")}} }
        akka.loglevel = ERROR
        akka.stdout-loglevel = OFF
        akka.remote.dot-netty.tcp.maximum-frame-size = 4 MiB
        # A refused TLS client otherwise waits out the default 15 s before it reports the failure.
        akka.remote.handshake-timeout = 3 s
        """).WithFallback(MultiprocContext.DefaultConfig);

    private static ActorSystem PlainSystem() => ActorSystem.Create("attacker", BaseConfig(ssl: false));

    /// <summary>A TLS client with a self-signed certificate of its own, accepting any server certificate.</summary>
    private static ActorSystem OtherCertificateSystem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var made = new CertificateRequest("CN=multiproc-context", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
        var ssl = new DotNettySslSetup(certificate, suppressValidation: true, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: (_, _, _, _, _) => true);
        var config = BaseConfig(ssl: true);
        return ActorSystem.Create("attacker", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), ssl));
    }

    /// <summary>What the pool would run (File.Create of the marker in a worker), a registration and a terminate.</summary>
    private static int ForgedJob(ActorSystem system, string poolPath, string marker)
    {
        var failed = WatchAssociation(system);
        var pool = ((ExtendedActorSystem)system).Provider.ResolveActorRef(poolPath);
        var codec = new PayloadCodec(system, 1 << 20);
        Func<string, FileStream> create = File.Create;
        var function = new FunctionCache(codec).Encode(create, "func");
        var chunk = new ChunkSpec(0, 0, 1, codec.Encode(new[] { marker }, "items"));
        pool.Tell(new PoolProtocol.RegisterWorker("guessed-token", Environment.ProcessId), ActorRefs.NoSender);
        pool.Tell(new PoolCommands.SubmitJob(new JobSpec(1, function, [chunk], new MapSink<FileStream>(1, null))), ActorRefs.NoSender);
        pool.Tell(PoolCommands.TerminatePool.Instance, ActorRefs.NoSender);
        return Report(system, failed);
    }

    /// <summary>100,000 nested object[] (~700 KB of Hyperion), which overflows the stack of whoever deserializes it.</summary>
    private static int Deep(string path)
    {
        var system = ActorSystem.Create("attacker", BaseConfig(ssl: false)
            .WithFallback(ConfigurationFactory.ParseString($$"""
                akka.actor.serializers.raw-hyperion = "{{typeof(RawHyperion).AssemblyQualifiedName}}"
                akka.actor.serialization-bindings { "{{typeof(RawBytes).AssemblyQualifiedName}}" = raw-hyperion }
                """)));
        var failed = WatchAssociation(system);
        byte[] bytes = [];
        // Serializing it needs a deep stack too; the attacker has one to spare.
        var maker = new Thread(() =>
        {
            object nested = Array.Empty<object>();
            for (var i = 0; i < 100_000; i++)
                nested = new[] { nested };
            bytes = system.Serialization.FindSerializerForType(typeof(object)).ToBinary(nested);
        }, 1 << 30);
        maker.Start();
        maker.Join();
        Console.WriteLine($"payload: {bytes.Length} bytes");
        ((ExtendedActorSystem)system).Provider.ResolveActorRef(path).Tell(new RawBytes(bytes), ActorRefs.NoSender);
        return Report(system, failed);
    }

    /// <summary>Random bytes, then a plausible frame header announcing a large frame, on a raw TCP connection.</summary>
    private static int Garbage(string host, int port)
    {
        using var client = new TcpClient();
        client.Connect(host, port);
        var stream = client.GetStream();
        stream.ReadTimeout = (int)Limit.TotalMilliseconds;
        try
        {
            stream.Write(RandomNumberGenerator.GetBytes(64 * 1024));
            stream.Write([0x00, 0x10, 0x00, 0x00, 0x0a, 0x0b]);
            while (stream.Read(new byte[4096]) > 0)
            {
            }
            Console.WriteLine("connection closed by the server");
        }
        catch (IOException e)
        {
            Console.WriteLine($"connection closed by the server: {e.GetType().Name}");
        }
        return 0;
    }

    private static Inbox WatchAssociation(ActorSystem system)
    {
        var inbox = Inbox.Create(system);
        system.EventStream.Subscribe(inbox.Receiver, typeof(AssociationErrorEvent));
        system.EventStream.Subscribe(inbox.Receiver, typeof(DisassociatedEvent));
        return inbox;
    }

    /// <summary>Waits (bounded) for the connection to be refused, says so, and leaves.</summary>
    private static int Report(ActorSystem system, Inbox failed)
    {
        try
        {
            var ended = failed.Receive(Limit);
            Console.WriteLine($"association ended: {ended.GetType().Name}");
        }
        catch (TimeoutException)
        {
            Console.WriteLine("association still up");
        }
        system.Terminate().Wait(Limit);
        return 0;
    }
}

/// <summary>Bytes sent as if Hyperion had made them: the receiver hands them to Hyperion.</summary>
internal sealed record RawBytes(byte[] Bytes);

/// <summary>Writes <see cref="RawBytes"/> under Hyperion's serializer id, with no manifest, as Hyperion does.</summary>
internal sealed class RawHyperion(ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => -5;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => ((RawBytes)obj).Bytes;

    public override object FromBinary(byte[] bytes, Type? type) => new RawBytes(bytes);
}
