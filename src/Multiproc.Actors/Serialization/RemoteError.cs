using System.Reflection;
using System.Runtime.ExceptionServices;
using Multiproc.Actors.Functions;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// An exception as a value on the wire (as CPython sends <c>(success, value)</c>): its type, message
/// and stack trace, turned back into an exception at the caller's edge.
/// </summary>
internal sealed record RemoteError(string TypeName, string Message, string StackTrace, RemoteError? Inner)
{
    /// <summary>The key under which a rebuilt exception's <see cref="Exception.Data"/> holds the worker's stack trace.</summary>
    public const string StackTraceKey = "RemoteStackTrace";

    /// <summary>
    /// The most exceptions of a chain (the exception and its inner ones) that travel: deeper inner
    /// exceptions are left out, so that capturing, sending and rebuilding never recurse without bound.
    /// </summary>
    public const int MaxChain = 64;

    /// <summary>Captures an exception thrown in a worker (with at most <see cref="MaxChain"/> - 1 inner exceptions).</summary>
    public static RemoteError From(Exception exception)
    {
        if (exception is TargetInvocationException { InnerException: { } thrown })
            exception = thrown;
        var chain = new List<Exception>();
        for (Exception? e = exception; e is not null && chain.Count < MaxChain; e = e.InnerException)
            chain.Add(e);
        RemoteError? error = null;
        for (var i = chain.Count - 1; i >= 0; i--)
            error = Capture(chain[i], error);
        return error!;
    }

    private static RemoteError Capture(Exception exception, RemoteError? inner)
    {
        var stack = exception.StackTrace ?? "";
        if (exception.Data[StackTraceKey] is string earlier)
            stack = earlier + Environment.NewLine + stack;
        return new RemoteError(
            exception.GetType().AssemblyQualifiedName ?? exception.GetType().FullName ?? exception.GetType().Name,
            exception.Message,
            stack,
            inner);
    }

    /// <summary>
    /// The same exception type with the same message when the caller can build one through its
    /// <c>(string, Exception)</c> or <c>(string)</c> constructor, else a <see cref="RemoteException"/>;
    /// either way with the worker's stack trace attached.
    /// </summary>
    public Exception ToException()
    {
        var inner = Inner?.ToException();
        var exception = Rebuild(inner) ?? new RemoteException(TypeName, Message, StackTrace, inner);
        ExceptionDispatchInfo.SetRemoteStackTrace(exception, StackTrace);
        exception.Data[StackTraceKey] = StackTrace;
        return exception;
    }

    private Exception? Rebuild(Exception? inner)
    {
        // Only an exception type of the application is built: its constructor runs here, so a name
        // in a message must not reach any other type's (or an assembly from elsewhere).
        var type = TypeLoader.TryLoad(TypeName);
        if (type is null || type.IsAbstract || type.ContainsGenericParameters || !typeof(Exception).IsAssignableFrom(type))
            return null;
        return Construct(type, [typeof(string), typeof(Exception)], [Message, inner])
            ?? Construct(type, [typeof(string)], [Message]);
    }

    private Exception? Construct(Type type, Type[] signature, object?[] arguments)
    {
        var constructor = type.GetConstructor(signature);
        if (constructor is null)
            return null;
        try
        {
            var exception = (Exception)constructor.Invoke(arguments);
            // A type that composes its own message from the argument would report something else.
            return exception.Message == Message ? exception : null;
        }
        catch (TargetInvocationException)
        {
            return null;
        }
    }
}
