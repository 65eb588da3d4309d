namespace Multiproc.Actors;

/// <summary>How a <see cref="ProcessPool"/> is set up; the record form of its constructor's parameters.</summary>
/// <remarks>Python: the keyword arguments of <c>multiprocessing.Pool</c>.</remarks>
public sealed record PoolOptions
{
    /// <summary>Worker processes.</summary>
    /// <value>At least 1 and at most <c>multiproc.pool.max-processes</c> (default 256, or the machine's cores if more); <c>null</c> (the default) means <see cref="Environment.ProcessorCount"/>.</value>
    public int? Processes { get; init; }

    /// <summary>Runs once in each worker process before its first task, with <see cref="InitArgs"/>.</summary>
    /// <value>A static method, a lambda with typed parameters, or <c>null</c> (the default) for none.</value>
    public Delegate? Initializer { get; init; }

    /// <summary>The initializer's arguments; their number and types are checked against it.</summary>
    /// <value><c>null</c> (the default) means none.</value>
    public object?[]? InitArgs { get; init; }

    /// <summary>Tasks a worker process runs before it exits and a fresh one replaces it.</summary>
    /// <value>At least 1; <c>null</c> (the default) means workers live as long as the pool.</value>
    public int? MaxTasksPerChild { get; init; }
}
