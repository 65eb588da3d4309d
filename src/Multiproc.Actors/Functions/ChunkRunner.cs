using Multiproc.Actors.Queues;

namespace Multiproc.Actors.Functions;

/// <summary>How a job's function is applied to the items of a chunk.</summary>
internal enum CallKind
{
    /// <summary>
    /// Each item is one call's arguments: <c>Func&lt;T, TResult&gt;</c> takes the item itself, <c>Func&lt;TResult&gt;</c>
    /// takes nothing (the items only count the calls), <c>Func&lt;T1, T2, TResult&gt;</c> and
    /// <c>Func&lt;T1, T2, T3, TResult&gt;</c> take a value tuple's fields (starmap).
    /// </summary>
    Map,
}

/// <summary>
/// A job's function, as the worker receives it once per job. <paramref name="Stateless"/>: its target
/// holds no fields (a static method or a lambda that captures nothing), so a worker may reuse one
/// rebuilt delegate for every job that sends the same bytes.
/// </summary>
/// <remarks>
/// A wire message only in that <see cref="Serialization.WireSerializer"/> writes it (a compact layout:
/// Hyperion's first use costs a new worker 60-100 ms of JIT before its first task); it travels as a
/// payload inside <see cref="Actors.PoolProtocol.RunChunk"/>.
/// </remarks>
internal sealed record JobFunction(FunctionRef Function, CallKind Kind, bool Stateless) : Actors.IMultiprocMessage;

/// <summary>An initializer and its arguments, as a worker receives them when it registers.</summary>
internal sealed record InitializerCall(FunctionRef Function, object?[] Args);

/// <summary>What running a chunk gave: the results array, or the first item that threw.</summary>
internal readonly record struct ChunkOutcome(object? Results, int FailedAt, Exception? Error);

/// <summary>
/// Runs one job's function over chunks in a worker, typed: the caller sends <c>T[]</c> and gets
/// <c>TResult[]</c> back, so no item is boxed and no call goes through <c>DynamicInvoke</c>.
/// </summary>
internal abstract class ChunkRunner
{
    /// <summary>Runs the function over <paramref name="items"/>, stopping at the first item that throws.</summary>
    public abstract ChunkOutcome Run(object? items);

    /// <summary>The runner for a rebuilt delegate, chosen by its shape.</summary>
    public static ChunkRunner Create(Delegate function, CallKind kind)
    {
        var type = function.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : null;
        var runner = definition switch
        {
            _ when definition == typeof(Func<>) => typeof(ApplyRunner<>),
            _ when definition == typeof(Func<,>) => typeof(MapRunner<,>),
            _ when definition == typeof(Func<,,>) => typeof(StarRunner<,,>),
            _ when definition == typeof(Func<,,,>) => typeof(StarRunner<,,,>),
            _ => null,
        } ?? throw new NotSupportedException($"A {kind} job cannot run a {type.Name}: pass a Func of up to three arguments.");
        return (ChunkRunner)Activator.CreateInstance(runner.MakeGenericType(type.GetGenericArguments()), function)!;
    }

    /// <summary>Applies <paramref name="call"/> to each item in order, stopping at the first that throws.</summary>
    protected static ChunkOutcome RunEach<TItem, TResult>(TItem[] items, Func<TItem, TResult> call)
    {
        var results = new TResult[items.Length];
        var i = 0;
        try
        {
            for (; i < items.Length; i++)
            {
                // Puts a task makes are numbered per task, so a re-run's repeats can be dropped.
                TaskPutScope.OnTaskStart();
                results[i] = call(items[i]);
            }
        }
        catch (Exception e)
        {
            return new ChunkOutcome(null, i, e);
        }
        return new ChunkOutcome(results, -1, null);
    }

    private sealed class ApplyRunner<TResult>(Func<TResult> function) : ChunkRunner
    {
        public override ChunkOutcome Run(object? items) => RunEach((int[])items!, _ => function());
    }

    private sealed class MapRunner<T, TResult>(Func<T, TResult> function) : ChunkRunner
    {
        public override ChunkOutcome Run(object? items) => RunEach((T[])items!, function);
    }

    private sealed class StarRunner<T1, T2, TResult>(Func<T1, T2, TResult> function) : ChunkRunner
    {
        public override ChunkOutcome Run(object? items) =>
            RunEach(((T1, T2)[])items!, args => function(args.Item1, args.Item2));
    }

    private sealed class StarRunner<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> function) : ChunkRunner
    {
        public override ChunkOutcome Run(object? items) =>
            RunEach(((T1, T2, T3)[])items!, args => function(args.Item1, args.Item2, args.Item3));
    }
}
