namespace Multiproc.Actors;

/// <summary>
/// A task's exception whose type the caller could not rebuild (not loadable here, or without a
/// <c>(string, Exception)</c> or <c>(string)</c> constructor that keeps its message).
/// </summary>
/// <remarks>Python: the pool re-raises the worker's pickled exception; where that is impossible it raises a wrapper too.</remarks>
public class RemoteException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="remoteType">The assembly-qualified name of the exception type thrown in the worker.</param>
    /// <param name="message">The worker exception's message.</param>
    /// <param name="remoteStackTrace">The worker exception's stack trace.</param>
    /// <param name="innerException">The worker exception's inner exception, rebuilt.</param>
    public RemoteException(string remoteType, string message, string remoteStackTrace, Exception? innerException = null)
        : base(message, innerException)
    {
        RemoteType = remoteType;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The assembly-qualified name of the exception type thrown in the worker.</summary>
    public string RemoteType { get; }

    /// <summary>The stack trace of the exception in the worker.</summary>
    public string RemoteStackTrace { get; }

    /// <inheritdoc />
    public override string ToString() => $"{RemoteType}: {base.ToString()}";
}
