using System.Reflection;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Serialization;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using static Multiproc.Actors.Actors.PoolProtocol;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// The serializer of the messages between a pool and its workers (bound to <see cref="IMultiprocMessage"/>
/// in hocon/multiproc.conf). They carry already-serialized user payloads, so a compact hand-written
/// layout (a two-letter manifest, fields in order) saves Hyperion's type names and reference
/// tracking on every chunk. The hot queue messages (puts, takes and their replies) have layouts too:
/// Hyperion costs ~50 bytes per item around a 5-byte int. Wire messages it has no layout for go
/// through Hyperion.
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
    private const string RunManyManifest = "RM";
    private const string ReportsManifest = "CR";
    private const string RetireManifest = "RT";
    private const string PutManifest = "QP";
    private const string TakeManifest = "QG";
    private const string TakenManifest = "QT";
    private const string TakenAllManifest = "QA";
    private const string QueueDoneManifest = "QD";
    private const string AckManifest = "QK";
    private const string FunctionManifest = "JF";
    private const string HyperionManifest = "H";

    /// <summary>
    /// The bytes a message with a layout here spends on each item beyond the item's own payload and
    /// manifest (kind, serializer id, manifest length, a block's item count, byte count), rounded up: what
    /// batching counts per item so that no message outgrows the frame.
    /// </summary>
    public const int PerItemOverhead = 24;

    /// <summary>
    /// The most bytes of payloads batched into one message (chunks of a dispatch pass, reports, a
    /// task's puts): well under the smallest frame a user's system may have, so batching never makes
    /// a message too big, and big enough that a batch costs one message instead of dozens.
    /// </summary>
    public static long BatchLimit(long maximumMessageSize) => Math.Min(64 * 1024, maximumMessageSize / 4);

    /// <summary>The most bytes <paramref name="payload"/> takes inside a queue or pool message.</summary>
    public static long WireSize(Payload payload) => payload.Length + System.Text.Encoding.UTF8.GetByteCount(payload.Manifest) + PerItemOverhead;

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
        RunChunks => RunManyManifest,
        ChunkReports => ReportsManifest,
        ChunkDone => DoneManifest,
        ChunkFailed => FailedManifest,
        RegisterWorker => RegisterManifest,
        WorkerReady => ReadyManifest,
        InitializerFailed => InitFailedManifest,
        Welcome => WelcomeManifest,
        Retire => RetireManifest,
        Put => PutManifest,
        Take => TakeManifest,
        Taken => TakenManifest,
        JobFunction => FunctionManifest,
        TakenAll => TakenAllManifest,
        Done => QueueDoneManifest,
        Ack => AckManifest,
        _ => HyperionManifest,
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        switch (obj)
        {
            case RunChunk run:
                return WriteExact(Size(run), w => WriteRun(w, run));
            case RunChunks many:
                return WriteExact(4 + many.Chunks.Sum(Size), w =>
                {
                    w.Write(many.Chunks.Length);
                    foreach (var run in many.Chunks)
                        WriteRun(w, run);
                });
            case ChunkDone done:
                return WriteExact(Size(done), w => WriteDone(w, done));
            case ChunkFailed failed:
                return Write(1024, w => WriteFailed(w, failed));
            case ChunkReports reports:
                return Write(reports.Reports.Sum(r => r is ChunkDone d ? Size(d) + 1 : 1024) + 4, w =>
                {
                    w.Write(reports.Reports.Length);
                    foreach (var report in reports.Reports)
                    {
                        switch (report)
                        {
                            case ChunkDone d:
                                w.Write((byte)'D');
                                WriteDone(w, d);
                                break;
                            case ChunkFailed f:
                                w.Write((byte)'F');
                                WriteFailed(w, f);
                                break;
                            default:
                                throw new System.Runtime.Serialization.SerializationException(
                                    $"{report.GetType().Name} cannot travel in a batch of chunk reports.");
                        }
                    }
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
                return Write(Size(welcome.Initializer) + 256, w =>
                {
                    WritePayload(w, welcome.Initializer);
                    w.Write(welcome.SharedDirectory is not null);
                    if (welcome.SharedDirectory is { } directory)
                        w.Write(directory);
                });
            case WorkerReady or Retire:
                return [];
            case Put put:
                return Write(Size(put.Items) + 256, w =>
                {
                    w.Write(put.Token);
                    w.Write(put.RequestId);
                    WritePayloads(w, put.Items);
                    w.Write(put.Origin is not null);
                    if (put.Origin is { } origin)
                    {
                        w.Write(origin.Pool);
                        w.Write(origin.Job);
                        w.Write(origin.Item);
                        w.Write(origin.Seq);
                    }
                });
            case Take take:
                return Write(128, w =>
                {
                    w.Write(take.Token);
                    w.Write(take.RequestId);
                    w.Write(take.Timeout is not null);
                    if (take.Timeout is { } timeout)
                        w.Write(timeout.Ticks);
                    w.Write(take.Unacknowledged);
                });
            case Taken taken:
                return Write(Size(taken.Item) + 8, w =>
                {
                    w.Write(taken.RequestId);
                    WritePayload(w, taken.Item);
                });
            case TakenAll all:
                return Write(Size(all.Items) + 24, w =>
                {
                    w.Write(all.RequestId);
                    WritePayloads(w, all.Items);
                    w.Write(all.Continuation is not null);
                    if (all.Continuation is { } continuation)
                        w.Write(continuation);
                });
            case Done done:
                return Write(8, w => w.Write(done.RequestId));
            case JobFunction function:
                return Write(1024, w => WriteFunction(w, function));
            case Ack ack:
                return Write(128, w =>
                {
                    w.Write(ack.Token);
                    w.Write(ack.RequestId);
                });
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
            RunManifest => ReadRun(r),
            RunManyManifest => new RunChunks(ReadMany(r, ReadRun)),
            DoneManifest => ReadDone(r),
            FailedManifest => ReadFailed(r),
            ReportsManifest => new ChunkReports(ReadMany<IMultiprocMessage>(r, ReadReport)),
            RegisterManifest => new RegisterWorker(r.ReadString(), r.ReadInt32()),
            InitFailedManifest => new InitializerFailed(ReadError(r)!),
            WelcomeManifest => new Welcome(ReadPayload(r), r.ReadBoolean() ? r.ReadString() : null),
            ReadyManifest => WorkerReady.Instance,
            RetireManifest => Retire.Instance,
            PutManifest => new Put(r.ReadString(), r.ReadInt64(), ReadPayloads(r),
                r.ReadBoolean() ? new PutOrigin(r.ReadString(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32()) : null),
            TakeManifest => new Take(r.ReadString(), r.ReadInt64(), r.ReadBoolean() ? TimeSpan.FromTicks(r.ReadInt64()) : null, r.ReadBoolean()),
            TakenManifest => new Taken(r.ReadInt64(), ReadPayload(r)),
            TakenAllManifest => new TakenAll(r.ReadInt64(), ReadPayloads(r), r.ReadBoolean() ? r.ReadInt64() : null),
            QueueDoneManifest => new Done(r.ReadInt64()),
            AckManifest => new Ack(r.ReadString(), r.ReadInt64()),
            FunctionManifest => ReadFunction(r),
            HyperionManifest => _hyperion.Value.FromBinary(bytes, typeof(object)),
            _ => throw new System.Runtime.Serialization.SerializationException($"Unknown multiproc wire manifest '{manifest}'."),
        };
    }

    // A payload in shared memory weighs only its reference in the message.
    private static int Size(Payload? payload) => payload is null ? 1 : payload.Shared is null ? (int)WireSize(payload) : 64 + payload.Manifest.Length * 3;

    /// <summary>The exact bytes <see cref="WriteRun"/> writes.</summary>
    private static int Size(RunChunk run) => 8 + 4 + 4 + ExactSize(run.Function) + ExactSize(run.Items) + 4 + 8 * run.ForgetJobs.Length + 4 + 4;

    /// <summary>The exact bytes <see cref="WriteDone"/> writes.</summary>
    private static int Size(ChunkDone done) => 8 + 4 + ExactSize(done.Results);

    private static void WriteRun(BinaryWriter w, RunChunk run)
    {
        w.Write(run.JobId);
        w.Write(run.ChunkIndex);
        w.Write(run.Start);
        WritePayload(w, run.Function);
        WritePayload(w, run.Items);
        w.Write(run.ForgetJobs.Length);
        foreach (var job in run.ForgetJobs)
            w.Write(job);
        w.Write(run.ResultSlot);
        w.Write(run.FunctionId);
    }

    private static RunChunk ReadRun(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), ReadPayload(r), ReadPayload(r)!, ReadLongs(r), r.ReadInt32(), r.ReadInt32());

    private static void WriteDone(BinaryWriter w, ChunkDone done)
    {
        w.Write(done.JobId);
        w.Write(done.ChunkIndex);
        WritePayload(w, done.Results);
    }

    private static ChunkDone ReadDone(BinaryReader r) => new(r.ReadInt64(), r.ReadInt32(), ReadPayload(r)!);

    private static void WriteFailed(BinaryWriter w, ChunkFailed failed)
    {
        w.Write(failed.JobId);
        w.Write(failed.ChunkIndex);
        w.Write(failed.ItemIndex);
        WriteError(w, failed.Error);
    }

    private static ChunkFailed ReadFailed(BinaryReader r) => new(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), ReadError(r)!);

    private static IMultiprocMessage ReadReport(BinaryReader r) => r.ReadByte() switch
    {
        (byte)'D' => ReadDone(r),
        (byte)'F' => ReadFailed(r),
        var tag => throw new System.Runtime.Serialization.SerializationException($"Unknown chunk report tag {tag}."),
    };

    private static T[] ReadMany<T>(BinaryReader r, Func<BinaryReader, T> read)
    {
        var items = new T[r.ReadInt32()];
        for (var i = 0; i < items.Length; i++)
            items[i] = read(r);
        return items;
    }

    private static int Size(Payload[] payloads)
    {
        long size = 4;
        foreach (var payload in payloads)
            size += Size(payload);
        // Only a hint for the buffer: the stream grows past it if need be.
        return (int)Math.Min(size, int.MaxValue - 1024);
    }

    private static void WritePayloads(BinaryWriter w, Payload[] payloads)
    {
        w.Write(payloads.Length);
        foreach (var payload in payloads)
            WritePayload(w, payload);
    }

    private static Payload[] ReadPayloads(BinaryReader r)
    {
        var payloads = new Payload[r.ReadInt32()];
        for (var i = 0; i < payloads.Length; i++)
            payloads[i] = ReadPayload(r)!;
        return payloads;
    }

    private static byte[] Write(int sizeHint, Action<BinaryWriter> write) => WriteExact(sizeHint + 64, write);

    /// <summary>
    /// Writes into a buffer of <paramref name="size"/> bytes and returns that buffer itself when the
    /// size was exact: the pool's hot messages (chunks, results) are not copied once more here.
    /// </summary>
    private static byte[] WriteExact(int size, Action<BinaryWriter> write)
    {
        var stream = new MemoryStream(size);
        using (var w = new BinaryWriter(stream))
            write(w);
        return stream.TryGetBuffer(out var buffer) && buffer.Offset == 0 && buffer.Count == buffer.Array!.Length
            ? buffer.Array
            : stream.ToArray();
    }

    /// <summary>The exact bytes <see cref="WritePayload"/> writes for <paramref name="payload"/>.</summary>
    private static int ExactSize(Payload? payload)
    {
        if (payload is null)
            return 1;
        var head = 1 + 4 + StringSize(payload.Manifest) + (payload.Block > 0 ? 4 : 0);
        return payload.Shared is null ? (int)Math.Min(int.MaxValue - 1024, head + 4L + payload.Bytes.Length) : head + 4 + 8;
    }

    /// <summary>What <see cref="BinaryWriter.Write(string)"/> writes: a 7-bit encoded length, then UTF-8.</summary>
    private static int StringSize(string value)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        var prefix = 1;
        for (var rest = (uint)length >> 7; rest != 0; rest >>= 7)
            prefix++;
        return prefix + length;
    }

    private const byte NoPayload = 0;
    private const byte InlinePayload = 1;
    private const byte SharedPayload = 2;
    private const byte BlockPayload = 3;

    private static void WritePayload(BinaryWriter w, Payload? payload)
    {
        if (payload is null)
        {
            w.Write(NoPayload);
            return;
        }
        w.Write(payload.Shared is not null ? SharedPayload : payload.Block > 0 ? BlockPayload : InlinePayload);
        w.Write(payload.SerializerId);
        w.Write(payload.Manifest);
        if (payload.Shared is null && payload.Block > 0)
            w.Write(payload.Block);
        if (payload.Shared is { } shared)
        {
            w.Write(shared.Slot);
            w.Write(shared.Length);
            return;
        }
        w.Write(payload.Bytes.Length);
        w.Write(payload.Bytes);
    }

    private static Payload? ReadPayload(BinaryReader r)
    {
        var kind = r.ReadByte();
        if (kind == NoPayload)
            return null;
        var serializerId = r.ReadInt32();
        var manifest = r.ReadString();
        return kind switch
        {
            InlinePayload => new Payload(serializerId, manifest, r.ReadBytes(r.ReadInt32())),
            SharedPayload => new Payload(serializerId, manifest, []) { Shared = new SharedRef(r.ReadInt32(), r.ReadInt64()) },
            BlockPayload => ReadBlock(r, serializerId, manifest),
            _ => throw new System.Runtime.Serialization.SerializationException($"Unknown payload kind {kind}."),
        };
    }

    private static Payload ReadBlock(BinaryReader r, int serializerId, string manifest)
    {
        var block = r.ReadInt32();
        if (block <= 0)
            throw new System.Runtime.Serialization.SerializationException($"A block of {block} items.");
        return new Payload(serializerId, manifest, r.ReadBytes(r.ReadInt32())) { Block = block };
    }

    private const byte NoTarget = 0;
    private const byte FieldlessTarget = 1;
    private const byte CopiedTarget = 2;

    private void WriteFunction(BinaryWriter w, JobFunction function)
    {
        var f = function.Function;
        w.Write(f.DelegateType);
        w.Write(f.DeclaringType);
        w.Write(f.MetadataToken);
        w.Write(f.MethodName);
        w.Write(f.MethodTypeArguments.Length);
        foreach (var name in f.MethodTypeArguments)
            w.Write(name);
        w.Write(f.AssemblyPath);
        w.Write((int)function.Kind);
        w.Write(function.Stateless);
        switch (f.Target)
        {
            case null:
                w.Write(NoTarget);
                break;
            case var target when function.Stateless:
                // No fields (a non-capturing lambda's holder): its type is all there is to copy.
                w.Write(FieldlessTarget);
                w.Write(target.GetType().AssemblyQualifiedName!);
                break;
            case var target:
                // Through the serializer the system binds its type to (Hyperion, with the user's settings).
                var serializer = system.Serialization.FindSerializerFor(target);
                w.Write(CopiedTarget);
                WritePayload(w, new Payload(serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, target),
                    serializer.ToBinary(target)));
                break;
        }
    }

    private JobFunction ReadFunction(BinaryReader r)
    {
        var delegateType = r.ReadString();
        var declaringType = r.ReadString();
        var token = r.ReadInt32();
        var name = r.ReadString();
        var typeArguments = new string[r.ReadInt32()];
        for (var i = 0; i < typeArguments.Length; i++)
            typeArguments[i] = r.ReadString();
        var assemblyPath = r.ReadString();
        var kind = (CallKind)r.ReadInt32();
        var stateless = r.ReadBoolean();
        var target = r.ReadByte() switch
        {
            NoTarget => null,
            // As Hyperion copies an object: allocated, no constructor run.
            FieldlessTarget => RuntimeHelpers.GetUninitializedObject(FieldlessTargetType(r.ReadString(), declaringType, assemblyPath)),
            CopiedTarget => ReadPayload(r) is { } copied
                ? system.Serialization.Deserialize(copied.Bytes, copied.SerializerId, copied.Manifest)
                : throw new System.Runtime.Serialization.SerializationException("A copied function target without its bytes."),
            var other => throw new System.Runtime.Serialization.SerializationException($"Unknown function target kind {other}."),
        };
        return new JobFunction(new FunctionRef(delegateType, declaringType, token, name, typeArguments, assemblyPath, target), kind, stateless);
    }

    /// <summary>
    /// The type of a stateless function's target, only if it is what such a target is: a type
    /// without fields that declares (or inherits) the function. Anything else a message names is
    /// refused before an instance is made.
    /// </summary>
    private static Type FieldlessTargetType(string typeName, string declaringTypeName, string assemblyPath)
    {
        var type = TypeLoader.Load(typeName, assemblyPath);
        var declaring = TypeLoader.Load(declaringTypeName, assemblyPath);
        if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters || type.IsArray || !type.IsAssignableTo(declaring)
            || typeof(Delegate).IsAssignableFrom(type) || HasFields(type))
            throw new System.Runtime.Serialization.SerializationException(
                $"Refused to make a {type.FullName} as the target of a function of {declaring.FullName}: a stateless function's target " +
                "is a type without fields that declares the function.");
        return type;
    }

    private static bool HasFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Length > 0)
                return true;
        }
        return false;
    }

    // A chain of inner exceptions, written and read in a loop: a deep chain (or a peer's forged
    // one) must not recurse this process's stack.
    private static void WriteError(BinaryWriter w, RemoteError? error)
    {
        for (var e = error; e is not null; e = e.Inner)
        {
            w.Write(true);
            w.Write(e.TypeName);
            w.Write(e.Message);
            w.Write(e.StackTrace);
        }
        w.Write(false);
    }

    private static RemoteError? ReadError(BinaryReader r)
    {
        var chain = new List<(string Type, string Message, string Stack)>();
        while (r.ReadBoolean())
        {
            if (chain.Count == RemoteError.MaxChain)
                throw new System.Runtime.Serialization.SerializationException($"An error with more than {RemoteError.MaxChain} exceptions in its chain.");
            chain.Add((r.ReadString(), r.ReadString(), r.ReadString()));
        }
        RemoteError? error = null;
        for (var i = chain.Count - 1; i >= 0; i--)
            error = new RemoteError(chain[i].Type, chain[i].Message, chain[i].Stack, error);
        return error;
    }

    private static long[] ReadLongs(BinaryReader r)
    {
        var values = new long[r.ReadInt32()];
        for (var i = 0; i < values.Length; i++)
            values[i] = r.ReadInt64();
        return values;
    }
}
