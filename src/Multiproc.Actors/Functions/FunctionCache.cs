using System.Collections.Concurrent;
using System.Reflection;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// A call's function ready to send: its bytes, and the id by which a worker that has rebuilt it once
/// knows it in this context (0: none; a function with state travels whole with each call).
/// </summary>
internal sealed record EncodedFunction(Payload Payload, int Id = 0);

/// <summary>
/// Serializes the functions of calls, once per method for those without state. Checking and
/// serializing a delegate (reflection, the capture walk, Hyperion) costs more than a small task's
/// round trip, and a static method or a non-capturing lambda is the same every time it is passed.
/// </summary>
internal sealed class FunctionCache(PayloadCodec codec)
{
    private static readonly ConcurrentDictionary<Type, bool> FieldlessTypes = new();
    private readonly ConcurrentDictionary<(MethodInfo Method, Type DelegateType), EncodedFunction> _stateless = new();
    private int _lastId;

    /// <summary>
    /// The job function for <paramref name="function"/>: the same payload and id for every call with
    /// this stateless function in this context (a worker that has it needs only the id); a function
    /// with state is serialized afresh, with id 0.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="ArgumentException">The function cannot be sent to a worker.</exception>
    public EncodedFunction Encode(Delegate function, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(function, parameterName);
        // A multicast delegate's Method is its last target's: never let it hit the cache.
        if (!function.HasSingleTarget || !IsStateless(function))
            return new EncodedFunction(Encode(function, parameterName, stateless: false));
        return _stateless.GetOrAdd((function.Method, function.GetType()),
            static (_, args) => new EncodedFunction(args.Cache.Encode(args.Function, args.Parameter, stateless: true), Interlocked.Increment(ref args.Cache._lastId)),
            (Cache: this, Function: function, Parameter: parameterName));
    }

    private Payload Encode(Delegate function, string parameterName, bool stateless) =>
        codec.Encode(new JobFunction(FunctionRef.From(function, parameterName), CallKind.Map, stateless), "the function with its captured values");

    private static bool IsStateless(Delegate function) =>
        function.Target is null || FieldlessTypes.GetOrAdd(function.Target.GetType(), static type =>
        {
            // An array's state is its elements, not fields (a method group over one: `table.ElementAt`).
            if (type.IsArray)
                return false;
            for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            {
                if (t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Length > 0)
                    return false;
            }
            return true;
        });
}
