using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>Checks an initializer against its arguments and serializes both, before any process starts.</summary>
internal static class Initializers
{
    public static Payload? Encode(Delegate? initializer, object?[]? initargs, PayloadCodec codec)
    {
        var args = initargs ?? [];
        if (initializer is null)
        {
            if (args.Length > 0)
                throw new ArgumentException($"initargs has {args.Length} argument(s) but there is no initializer to take them.", nameof(initargs));
            return null;
        }
        var function = FunctionRef.From(initializer, nameof(initializer));
        var parameters = initializer.GetType().GetMethod("Invoke")!.GetParameters();
        // The method's own parameters carry the names the user wrote (a delegate type's are arg1, arg2...).
        if (initializer.Method.GetParameters() is var named && named.Length == parameters.Length)
            parameters = named;
        if (parameters.Length != args.Length)
            throw new ArgumentException(
                $"The initializer takes {parameters.Length} argument(s) ({Describe(parameters)}) but initargs has {args.Length}.",
                nameof(initargs));
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
                    $"initargs[{i}] is {(arg is null ? "null" : arg.GetType().FullName)}, but the initializer's parameter " +
                    $"'{parameter.Name}' is {type.FullName}.",
                    nameof(initargs));
            var index = i;
            CaptureCheck.Ensure(arg, path => path.Length == 0 ? $"initargs[{index}]" : $"Member '{path}' of initargs[{index}]", nameof(initargs));
        }
        return codec.Encode(new InitializerCall(function, args), "the initializer with its initargs");
    }

    private static string Describe(System.Reflection.ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "none" : string.Join(", ", parameters.Select(p => $"{p.ParameterType.Name} {p.Name}"));
}
