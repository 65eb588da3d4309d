using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Akka.Configuration;
using Multiproc.Actors.Configuration;
using AkkaSerialization = Akka.Serialization.Serialization;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Turns user values into <see cref="Payload"/>s and back with the actor system's own serializers
/// (Hyperion for user types, per hocon/multiproc.conf), holding each to the size limit. A pool's
/// codec also has the pool's <see cref="SharedSlots"/>: chunks of arguments and results at or above
/// the threshold go through them instead of through the socket.
/// </summary>
/// <remarks>
/// The size limit holds for shared-memory payloads too, though no Akka frame carries them: a
/// call's arguments and results are bound by the same setting whichever way they travel, so what
/// fails with <see cref="ArgumentException"/> does not depend on free space in /dev/shm.
/// </remarks>
internal sealed class PayloadCodec
{
    private readonly ExtendedActorSystem _system;
    private readonly Lazy<int> _rawArraysId;
    private readonly Lazy<int> _smallValuesId;

    /// <summary>The configuration key that bounds how deep a value may nest; named in depth errors.</summary>
    public const string MaxDepthKey = "multiproc.serialization.max-depth";

    public PayloadCodec(ActorSystem system, long maximumMessageSize, SharedSlots? slots = null)
        : this(system, maximumMessageSize, slots, MaxDepthOf(system.Settings.Config))
    {
    }

    private PayloadCodec(ActorSystem system, long maximumMessageSize, SharedSlots? slots, int maxDepth)
    {
        _system = (ExtendedActorSystem)system;
        MaximumMessageSize = maximumMessageSize;
        Slots = slots;
        MaxDepth = maxDepth;
        // What a payload's serializer id is compared with to read it straight from a file.
        _rawArraysId = new Lazy<int>(() => SerializerIdentifierHelper.GetSerializerIdentifierFromConfig(typeof(PrimitiveArraySerializer), _system));
        _smallValuesId = new Lazy<int>(() => SerializerIdentifierHelper.GetSerializerIdentifierFromConfig(typeof(SmallValueSerializer), _system));
    }

    /// <summary>The most bytes one payload may have (<c>multiproc.maximum-message-size</c>, as applied).</summary>
    public long MaximumMessageSize { get; }

    /// <summary>The pool's shared memory; null where payloads always travel in the message.</summary>
    public SharedSlots? Slots { get; }

    /// <summary>The most levels a value may nest (<c>multiproc.serialization.max-depth</c>).</summary>
    public int MaxDepth { get; }

    /// <summary>This codec with <paramref name="slots"/> for large chunks.</summary>
    public PayloadCodec WithSlots(SharedSlots? slots) => new(_system, MaximumMessageSize, slots, MaxDepth);

    /// <summary>The depth limit a system's configuration sets (the reference value when the configuration lacks the key).</summary>
    public static int MaxDepthOf(Config config)
    {
        var depth = config.HasPath(MaxDepthKey) ? config.GetInt(MaxDepthKey) : MultiprocConfig.Default.GetInt(MaxDepthKey);
        if (depth is < 1 or > DeepStack.MaxDepth)
            throw new Akka.Configuration.ConfigurationException($"{MaxDepthKey} must be from 1 to {DeepStack.MaxDepth:N0}, was {depth}.");
        return depth;
    }

    /// <summary>
    /// Serializes a chunk of arguments in the caller, into a slot it rents when the bytes are at least
    /// the threshold and at most <paramref name="limit"/> (what is over the limit stays in the payload,
    /// for the caller's size check to refuse). Not checked against the limit here.
    /// </summary>
    public Payload EncodeChunk(object? value, string what, long limit) => EncodeShared(value, what, limit, SharedSlots.None, "value");

    /// <summary>
    /// Serializes a chunk's results in a worker, into <paramref name="slot"/> (the one the caller
    /// offered) when they are large enough; checked against the limit.
    /// </summary>
    /// <exception cref="SerializationException">The serializer refused the value.</exception>
    /// <exception cref="ArgumentException">The value serializes to more than the limit.</exception>
    public Payload EncodeResults(object? value, string what, int slot)
    {
        var payload = slot < 0 ? EncodeUnchecked(value, what, "result") : EncodeShared(value, what, MaximumMessageSize, slot, "result");
        if (payload.Length > MaximumMessageSize)
            throw TooLarge(payload.Length, MaximumMessageSize, what);
        return payload;
    }

    /// <summary>Gives the slot of a payload the caller has finished with back to the pool (no-op for one in the message).</summary>
    public void Release(Payload? payload)
    {
        if (payload?.Shared is { } shared)
            Slots?.Return(shared.Slot);
    }

    /// <summary>Serializes <paramref name="value"/>, failing with a clear exception when it cannot travel.</summary>
    /// <param name="value">The value.</param>
    /// <param name="what">What the value is, for messages ("the argument chunk at index 0").</param>
    /// <exception cref="SerializationException">The serializer refused the value.</exception>
    /// <exception cref="ArgumentException">The value serializes to more than the limit.</exception>
    public Payload Encode(object? value, string what)
    {
        var payload = EncodeUnchecked(value, what);
        if (payload.Length > MaximumMessageSize)
            throw TooLarge(payload.Length, MaximumMessageSize, what);
        return payload;
    }

    /// <summary>Serializes without the size check, for callers that split what is too big.</summary>
    /// <exception cref="SerializationException">The value nests deeper than <see cref="MaxDepth"/>, holds what cannot travel, or the serializer refused it.</exception>
    public Payload EncodeUnchecked(object? value, string what) => EncodeUnchecked(value, what, "value");

    private Payload EncodeUnchecked(object? value, string what, string root)
    {
        if (SmallValueSerializer.TryEncode(value, out var small))
            return new Payload(_smallValuesId.Value, "", small);
        // Before Hyperion sees it: too deep a graph overflows its stack, and that cannot be caught.
        if (TravelCheck.Inspect(value, MaxDepth, out var depth) is { } refusal)
            throw Refused(refusal, what, root, MaxDepth);
        var serialization = _system.Serialization;
        try
        {
            // Actor references inside user values (queue handles) must carry this system's address.
            return DeepStack.Run(depth, () => AkkaSerialization.WithTransport(_system, () =>
            {
                var serializer = serialization.FindSerializerFor(value);
                return new Payload(serializer.Identifier, AkkaSerialization.ManifestFor(serializer, value), serializer.ToBinary(value));
            }));
        }
        catch (Exception e) when (e is not SerializationException and not OutOfMemoryException)
        {
            throw new SerializationException(
                $"Cannot serialize {what} of type {value?.GetType().FullName ?? "null"}: {e.Message}", e);
        }
    }

    private Payload EncodeShared(object? value, string what, long limit, int slot, string root)
    {
        if (Slots is not { } slots || value is null)
            return EncodeUnchecked(value, what, root);
        var serializer = _system.Serialization.FindSerializerFor(value);
        if (serializer is PrimitiveArraySerializer && PrimitiveArraySerializer.Handles(value))
        {
            // Straight from the arrays into the file: no serialized copy in this process.
            var size = PrimitiveArraySerializer.Size(value);
            if (slots.Wants(size) && size <= limit && Place(slots, slot, size, s => PrimitiveArraySerializer.Write(value, s)) is { } placed)
                return new Payload(serializer.Identifier, AkkaSerialization.ManifestFor(serializer, value), []) { Shared = placed };
            return EncodeUnchecked(value, what, root);
        }
        var payload = EncodeUnchecked(value, what, root);
        if (slots.Wants(payload.Length) && payload.Length <= limit && Place(slots, slot, payload.Length, s => s.Write(payload.Bytes)) is { } shared)
            return payload with { Bytes = [], Shared = shared };
        return payload;
    }

    /// <summary>Writes into <paramref name="slot"/>, or a rented one; null (and no slot held) if the file system refused.</summary>
    private static SharedRef? Place(SharedSlots slots, int slot, long size, Action<Stream> write)
    {
        var target = slot >= 0 ? slot : slots.Rent();
        if (target < 0)
            return null;
        if (slots.TryWrite(target, size, write))
            return new SharedRef(target, size);
        // Rented here: half-written, so not worth keeping. Offered by the caller: the caller takes it back.
        if (slot < 0)
            slots.Discard(target);
        return null;
    }

    /// <summary>The error a payload over the limit gets, naming its size, the limit and the key.</summary>
    public static ArgumentException TooLarge(long length, long limit, string what) =>
        new($"{Capitalize(what)} serializes to {length:N0} bytes, over the limit of {limit:N0} bytes " +
            $"set by '{MultiprocSettings.MaximumMessageSizeKey}'. Raise that setting or send smaller pieces.");

    /// <summary>The error a value gets that nests too deep or holds what cannot travel, naming where.</summary>
    internal static SerializationException Refused(TravelCheck.Refusal refusal, string what, string root, int maxDepth)
    {
        var at = refusal.Path.Length == 0 ? root : refusal.Path.StartsWith('[') ? root + refusal.Path : $"{root}.{refusal.Path}";
        return refusal.Why is { } why
            ? new SerializationException(
                $"Cannot send {what} to another process: {at}: {refusal.Type.FullName} is {why}, which means nothing in another process. " +
                "Leave it out of what crosses between processes, or create it on the side that uses it.")
            : new SerializationException(
                $"Cannot send {what} to another process: it nests at least {refusal.Depth:N0} levels deep (at {at}, a {refusal.Type.FullName}), " +
                $"over the limit of {maxDepth:N0} levels set by '{MaxDepthKey}'. Send it flatter (a list instead of a chain of nodes), " +
                "or raise that setting.");
    }

    /// <summary>Rebuilds the value a payload holds.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="what">What the value is, for messages ("the results of items 0 and on").</param>
    /// <exception cref="SerializationException">The value cannot be rebuilt here (a type this process cannot load, or one Hyperion refuses as unsafe).</exception>
    public object? Decode(Payload payload, string what = "a value sent between processes")
    {
        try
        {
            if (payload.Shared is not { } shared)
                return payload.SerializerId == _smallValuesId.Value
                    ? SmallValueSerializer.Read(payload.Bytes)
                    : Deserialize(payload.Bytes, payload.SerializerId, payload.Manifest);
            if (Slots is null)
                throw new InvalidOperationException("It came through shared memory, but this process was given no shared memory directory.");
            if (payload.SerializerId == _rawArraysId.Value)
                return Slots.Read(shared.Slot, shared.Length, stream => PrimitiveArraySerializer.Read(payload.Manifest, stream, shared.Length));
            if (shared.Length > Array.MaxLength)
                throw new InvalidOperationException($"{shared.Length:N0} bytes do not fit one array.");
            var bytes = GC.AllocateUninitializedArray<byte>((int)shared.Length);
            Slots.Read(shared.Slot, shared.Length, stream =>
            {
                stream.ReadExactly(bytes);
                return null;
            });
            return Deserialize(bytes, payload.SerializerId, payload.Manifest);
        }
        catch (Exception e) when (e is not SerializationException and not OutOfMemoryException)
        {
            throw new SerializationException($"Cannot deserialize {what} in process {Environment.ProcessId}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Deserializes on a stack deep enough for what the sender was allowed to send: every sender
    /// holds values to <see cref="MaxDepth"/>, and a payload of fewer bytes than levels cannot nest
    /// past what any thread survives.
    /// </summary>
    private object? Deserialize(byte[] bytes, int serializerId, string manifest) =>
        MaxDepth <= DeepStack.InlineDepth || bytes.Length <= DeepStack.InlineDepth || serializerId == _rawArraysId.Value
            ? _system.Serialization.Deserialize(bytes, serializerId, manifest)
            : DeepStack.Run(MaxDepth, () => _system.Serialization.Deserialize(bytes, serializerId, manifest));

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
