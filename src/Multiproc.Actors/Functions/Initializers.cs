using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Checks a function that runs once with given arguments (a pool's initializer, a child's target)
/// against those arguments, before any process starts.
/// </summary>
internal static class Initializers
{
    public static Payload? Encode(Delegate? initializer, object?[]? initargs, PayloadCodec codec) =>
        EncodeChecked(Validate(initializer, initargs), initargs, codec);

    /// <summary>Serializes an initializer <see cref="Validate"/> has checked, with its initargs; null for none.</summary>
    public static Payload? EncodeChecked(FunctionRef? initializer, object?[]? initargs, PayloadCodec codec) =>
        initializer is null ? null : codec.Encode(new InitializerCall(initializer, initargs ?? []), "the initializer with its initargs");

    /// <summary>Checks a pool's initializer against its initargs (all but serializing them); null when there is no initializer.</summary>
    /// <exception cref="ArgumentException">The initializer cannot be shipped, or the initargs do not fit it.</exception>
    public static FunctionRef? Validate(Delegate? initializer, object?[]? initargs)
    {
        var args = initargs ?? [];
        if (initializer is null)
        {
            if (args.Length > 0)
                throw new ArgumentException($"initargs has {args.Length} argument(s) but there is no initializer to take them.", nameof(initargs));
            return null;
        }
        return Check(initializer, args, "initializer", nameof(initializer), nameof(initargs));
    }

    /// <summary>Makes the shippable reference of <paramref name="function"/> once <paramref name="args"/> fit its parameters.</summary>
    /// <param name="function">The function.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="role">What the function is, for messages ("initializer", "target").</param>
    /// <param name="functionParameter">The parameter the function came in through.</param>
    /// <param name="argsParameter">The parameter the arguments came in through ("initargs", "args").</param>
    /// <exception cref="ArgumentException">The function cannot be shipped, or the arguments do not fit it or hold process-local state.</exception>
    public static FunctionRef Check(Delegate function, object?[] args, string role, string functionParameter, string argsParameter)
    {
        var reference = FunctionRef.From(function, functionParameter);
        var parameters = function.GetType().GetMethod("Invoke")!.GetParameters();
        // The method's own parameters carry the names the user wrote (a delegate type's are arg1, arg2...).
        if (function.Method.GetParameters() is var named && named.Length == parameters.Length)
            parameters = named;
        if (parameters.Length != args.Length)
            throw new ArgumentException(
                $"The {role} takes {parameters.Length} argument(s) ({Describe(parameters)}) but {argsParameter} has {args.Length}.",
                argsParameter);
        for (var i = 0; i < args.Length; i++)
        {
            var parameter = parameters[i];
            var type = parameter.ParameterType;
            var arg = args[i];
            var fits = arg is null
                ? !type.IsValueType || Nullable.GetUnderlyingType(type) is not null
                : type.IsInstanceOfType(arg);
            if (!fits)
                throw new ArgumentException(
                    $"{argsParameter}[{i}] is {(arg is null ? "null" : arg.GetType().FullName)}, but the {role}'s parameter " +
                    $"'{parameter.Name}' is {type.FullName}.",
                    argsParameter);
            var index = i;
            CaptureCheck.Ensure(arg, path => path.Length == 0 ? $"{argsParameter}[{index}]" : $"Member '{path}' of {argsParameter}[{index}]", argsParameter);
        }
        return reference;
    }

    private static string Describe(System.Reflection.ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "none" : string.Join(", ", parameters.Select(p => $"{p.ParameterType.Name} {p.Name}"));
}
