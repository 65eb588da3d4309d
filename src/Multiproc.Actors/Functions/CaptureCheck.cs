using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Refuses, as an argument error, values that hold process-local state before they are sent to a
/// worker. Hyperion would copy a stream or a pointer field by field and the copy would mean
/// nothing on the other side, so "serializable" is a rule enforced here, not what the serializer
/// accepts. What may travel is <see cref="TravelCheck"/>'s to say; this names the culprit as the
/// caller wrote it (a captured variable, an argument).
/// </summary>
internal static class CaptureCheck
{
    /// <summary>Throws when <paramref name="value"/> holds process-local state anywhere in its graph.</summary>
    /// <param name="value">The value to check.</param>
    /// <param name="describe">Describes the offending member path for the message ("captured variable 'x'").</param>
    /// <param name="parameterName">The parameter the value came in through.</param>
    public static void Ensure(object? value, Func<string, string> describe, string parameterName)
    {
        // Depth is the codec's to refuse (a SerializationException naming the limit); here only what may not travel at all.
        if (TravelCheck.Inspect(value, int.MaxValue) is { Why: { } why } refusal)
            throw new ArgumentException(
                $"{describe(refusal.Path)} ({refusal.Type.FullName}) is {why} that belongs to this process and cannot be sent " +
                "to a worker process. Pass what the task needs as arguments, or create it inside the task.",
                parameterName);
    }

    /// <summary>True when no value of <paramref name="type"/> can reach process-local state or nest without bound, so its values need no walk.</summary>
    public static bool IsStaticallySafe(Type type) => TravelCheck.IsFlat(type);
}
