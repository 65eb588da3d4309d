using Akka.Actor;
using Akka.Serialization;
using Multiproc.Actors.Actors;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// The serializer of the messages between a pool and its workers (bound to <see cref="IMultiprocMessage"/>
/// in hocon/multiproc.conf). They carry already-serialized user payloads, so a compact hand-written
/// layout (a two-letter manifest, fields in order) saves Hyperion's type names and reference
/// tracking on every chunk. Wire messages it has no layout for go through Hyperion.
/// </summary>
internal sealed class WireSerializer : SerializerWithStringManifest
{
    private const string RegisterManifest = "RW";
    private const string ReadyManifest = "WR";
    private const string InitFailedManifest = "IF";
    private const string DoneManifest = "CD";
    private const string FailedManifest = "CF";
    private const string WelcomeManifest = "WE";
    private const string RunManifest = "RC";
    private const string RetireManifest = "RT";
    private const string HyperionManifest = "H";

    private readonly Lazy<Serializer> _hyperion;

    /// <summary>Created by Akka's serialization extension.</summary>
    /// <param name="system">The actor system.</param>
    public WireSerializer(ExtendedActorSystem system)
        : base(system)
    {
        _hyperion = new Lazy<Serializer>(() => new HyperionSerializer(system));
    }

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        RunChunk => RunManifest,
        ChunkDone => DoneManifest,
        ChunkFailed => FailedManifest,
        RegisterWorker => RegisterManifest,
        WorkerReady => ReadyManifest,
        InitializerFailed => InitFailedManifest,
        Welcome => WelcomeManifest,
        Retire => RetireManifest,
        _ => HyperionManifest,
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        switch (obj)
        {
            case RunChunk run:
                return Write(Size(run.Function) + Size(run.Items) + 8 * run.ForgetJobs.Length, w =>
                {
                    w.Write(run.JobId);
                    w.Write(run.ChunkIndex);
                    w.Write(run.Start);
                    WritePayload(w, run.Function);
                    WritePayload(w, run.Items);
                    w.Write(run.ForgetJobs.Length);
                    foreach (var job in run.ForgetJobs)
                        w.Write(job);
                });
            case ChunkDone done:
                return Write(Size(done.Results), w =>
                {
                    w.Write(done.JobId);
                    w.Write(done.ChunkIndex);
                    WritePayload(w, done.Results);
                });
            case ChunkFailed failed:
                return Write(1024, w =>
                {
                    w.Write(failed.JobId);
                    w.Write(failed.ChunkIndex);
                    w.Write(failed.ItemIndex);
                    WriteError(w, failed.Error);
                });
            case RegisterWorker register:
                return Write(128, w =>
                {
                    w.Write(register.Token);
                    w.Write(register.Pid);
                });
            case InitializerFailed initFailed:
                return Write(1024, w => WriteError(w, initFailed.Error));
            case Welcome welcome:
                return Write(Size(welcome.Initializer), w => WritePayload(w, welcome.Initializer));
            case WorkerReady or Retire:
                return [];
            default:
                return _hyperion.Value.ToBinary(obj);
        }
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        return manifest switch
        {
            RunManifest => new RunChunk(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), ReadPayload(r), ReadPayload(r)!, ReadLongs(r)),
            DoneManifest => new ChunkDone(r.ReadInt64(), r.ReadInt32(), ReadPayload(r)!),
            FailedManifest => new ChunkFailed(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), ReadError(r)!),
            RegisterManifest => new RegisterWorker(r.ReadString(), r.ReadInt32()),
            InitFailedManifest => new InitializerFailed(ReadError(r)!),
            WelcomeManifest => new Welcome(ReadPayload(r)),
            ReadyManifest => WorkerReady.Instance,
            RetireManifest => Retire.Instance,
            HyperionManifest => _hyperion.Value.FromBinary(bytes, typeof(object)),
            _ => throw new System.Runtime.Serialization.SerializationException($"Unknown multiproc wire manifest '{manifest}'."),
        };
    }

    private static int Size(Payload? payload) => payload is null ? 1 : payload.Length + payload.Manifest.Length + 16;

    private static byte[] Write(int sizeHint, Action<BinaryWriter> write)
    {
        var stream = new MemoryStream(sizeHint + 64);
        using (var w = new BinaryWriter(stream))
            write(w);
        // The buffer is exactly full when the hint was right: no copy then.
        return stream.TryGetBuffer(out var buffer) && buffer.Offset == 0 && buffer.Count == buffer.Array!.Length
            ? buffer.Array
            : stream.ToArray();
    }

    private static void WritePayload(BinaryWriter w, Payload? payload)
    {
        w.Write(payload is not null);
        if (payload is null)
            return;
        w.Write(payload.SerializerId);
        w.Write(payload.Manifest);
        w.Write(payload.Bytes.Length);
        w.Write(payload.Bytes);
    }

    private static Payload? ReadPayload(BinaryReader r)
    {
        if (!r.ReadBoolean())
            return null;
        var serializerId = r.ReadInt32();
        var manifest = r.ReadString();
        var bytes = r.ReadBytes(r.ReadInt32());
        return new Payload(serializerId, manifest, bytes);
    }

    private static void WriteError(BinaryWriter w, RemoteError? error)
    {
        w.Write(error is not null);
        if (error is null)
            return;
        w.Write(error.TypeName);
        w.Write(error.Message);
        w.Write(error.StackTrace);
        WriteError(w, error.Inner);
    }

    private static RemoteError? ReadError(BinaryReader r) =>
        r.ReadBoolean() ? new RemoteError(r.ReadString(), r.ReadString(), r.ReadString(), ReadError(r)) : null;

    private static long[] ReadLongs(BinaryReader r)
    {
        var values = new long[r.ReadInt32()];
        for (var i = 0; i < values.Length; i++)
            values[i] = r.ReadInt64();
        return values;
    }
}
