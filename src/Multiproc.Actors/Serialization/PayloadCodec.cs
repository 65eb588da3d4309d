using System.Runtime.Serialization;
using Akka.Actor;
using Multiproc.Actors.Configuration;
using AkkaSerialization = Akka.Serialization.Serialization;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Turns user values into <see cref="Payload"/>s and back with the actor system's own serializers
/// (Hyperion for user types, per hocon/multiproc.conf), holding each to the size limit.
/// </summary>
internal sealed class PayloadCodec
{
    private readonly ExtendedActorSystem _system;

    public PayloadCodec(ActorSystem system, long maximumMessageSize)
    {
        _system = (ExtendedActorSystem)system;
        MaximumMessageSize = maximumMessageSize;
    }

    /// <summary>The most bytes one payload may have (<c>multiproc.maximum-message-size</c>, as applied).</summary>
    public long MaximumMessageSize { get; }

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
    public Payload EncodeUnchecked(object? value, string what)
    {
        var serialization = _system.Serialization;
        try
        {
            // Actor references inside user values (queue handles) must carry this system's address.
            return AkkaSerialization.WithTransport(_system, () =>
            {
                var serializer = serialization.FindSerializerFor(value);
                return new Payload(serializer.Identifier, AkkaSerialization.ManifestFor(serializer, value), serializer.ToBinary(value));
            });
        }
        catch (Exception e) when (e is not SerializationException and not OutOfMemoryException)
        {
            throw new SerializationException(
                $"Cannot serialize {what} of type {value?.GetType().FullName ?? "null"}: {e.Message}", e);
        }
    }

    /// <summary>The error a payload over the limit gets, naming its size, the limit and the key.</summary>
    public static ArgumentException TooLarge(long length, long limit, string what) =>
        new($"{Capitalize(what)} serializes to {length:N0} bytes, over the limit of {limit:N0} bytes " +
            $"set by '{MultiprocSettings.MaximumMessageSizeKey}'. Raise that setting or send smaller pieces.");

    /// <summary>Rebuilds the value a payload holds.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="what">What the value is, for messages ("the results of items 0 and on").</param>
    /// <exception cref="SerializationException">The value cannot be rebuilt here (a type this process cannot load, or one Hyperion refuses as unsafe).</exception>
    public object? Decode(Payload payload, string what = "a value sent between processes")
    {
        try
        {
            return _system.Serialization.Deserialize(payload.Bytes, payload.SerializerId, payload.Manifest);
        }
        catch (Exception e) when (e is not SerializationException and not OutOfMemoryException)
        {
            throw new SerializationException($"Cannot deserialize {what} in process {Environment.ProcessId}: {e.Message}", e);
        }
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
