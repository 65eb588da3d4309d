using System.Reflection;
using System.Reflection.Emit;

namespace Multiproc.Actors.Functions;

/// <summary>
/// A delegate as something another process can rebuild: the method by declaring type and metadata
/// token (the worker loads the very same assembly file, so tokens and compiler-generated names
/// match), plus the target object — a lambda's closure with its captured values, copied.
/// </summary>
internal sealed record FunctionRef(
    string DelegateType,
    string DeclaringType,
    int MetadataToken,
    string MethodName,
    string[] MethodTypeArguments,
    string AssemblyPath,
    object? Target)
{
    /// <summary>Describes <paramref name="function"/> for shipping, refusing what cannot be shipped.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="ArgumentException">The delegate cannot run in another process, or captures process-local state.</exception>
    public static FunctionRef From(Delegate function, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(function, parameterName);
        if (function.HasSingleTarget is false)
            throw new ArgumentException("A multicast delegate cannot be sent to a worker process; pass a single method.", parameterName);
        var method = function.Method;
        if (method is DynamicMethod || method.DeclaringType is null || method.GetType().Name == "RTDynamicMethod")
            throw new ArgumentException(
                "A dynamic method (a compiled expression tree, an emitted method) cannot be sent to a worker process; pass a static method or a lambda.",
                parameterName);
        if (IsAsync(method.ReturnType))
            throw new ArgumentException(
                $"{method.DeclaringType.Name}.{method.Name} returns {method.ReturnType.Name}; functions returning Task or ValueTask " +
                "are not supported yet. Make the function synchronous (it runs on its own worker thread).",
                parameterName);
        CaptureCheck.Ensure(function.Target, path => Describe(function, path), parameterName);
        return new FunctionRef(
            function.GetType().AssemblyQualifiedName!,
            method.DeclaringType.AssemblyQualifiedName!,
            method.MetadataToken,
            method.Name,
            method.IsGenericMethod ? method.GetGenericArguments().Select(t => t.AssemblyQualifiedName!).ToArray() : [],
            method.DeclaringType.Assembly.Location,
            function.Target);
    }

    /// <summary>Rebuilds the delegate in this process.</summary>
    public Delegate Resolve()
    {
        var declaring = TypeLoader.Load(DeclaringType, AssemblyPath);
        var method = declaring
            .GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .FirstOrDefault(m => m.MetadataToken == MetadataToken)
            ?? throw new MissingMethodException(
                $"{declaring.FullName}.{MethodName} (token 0x{MetadataToken:x8}) is not in {AssemblyPath} as loaded by the worker; " +
                "the worker must run the same build of the assembly as the caller.");
        if (MethodTypeArguments.Length > 0)
            method = method.MakeGenericMethod(MethodTypeArguments.Select(name => TypeLoader.Load(name)).ToArray());
        var delegateType = TypeLoader.Load(DelegateType);
        return Target is null
            ? Delegate.CreateDelegate(delegateType, method)
            : Delegate.CreateDelegate(delegateType, Target, method);
    }

    private static string Describe(Delegate function, string path)
    {
        var where = $"{function.Method.DeclaringType?.Name}.{function.Method.Name}";
        if (path.Length == 0)
            return $"The target object of {where}";
        return function.Method.DeclaringType?.Name.Contains("DisplayClass", StringComparison.Ordinal) == true
            ? $"Captured variable '{path}' of {where}"
            : $"Member '{path}' of the target of {where}";
    }

    private static bool IsAsync(Type type) =>
        typeof(Task).IsAssignableFrom(type) || type == typeof(ValueTask)
        || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ValueTask<>));
}
