namespace Multiproc.Actors;

/// <summary>Work that was still pending when its pool was terminated or disposed.</summary>
/// <remarks>Python: results of a terminated <c>Pool</c> never arrive; here they fail with this.</remarks>
public class PoolTerminatedException : ObjectDisposedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was terminated.</param>
    public PoolTerminatedException(string message)
        : base(nameof(ProcessPool), message)
    {
    }
}
