namespace Multiproc.Actors.Functions;

/// <summary>How a job's function is applied to the items of a chunk.</summary>
internal enum CallKind
{
    /// <summary>Each item is the function's one argument (<c>Map</c>, <c>Imap</c>, <c>Apply</c> with one argument).</summary>
    Map,
}

/// <summary>A job's function, as the worker receives it once per job.</summary>
internal sealed record JobFunction(FunctionRef Function, CallKind Kind);

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

    /// <summary>The runner for a rebuilt delegate.</summary>
    public static ChunkRunner Create(Delegate function, CallKind kind)
    {
        var delegateType = function.GetType();
        if (kind == CallKind.Map && delegateType.IsGenericType && delegateType.GetGenericTypeDefinition() == typeof(Func<,>))
        {
            var runner = typeof(MapRunner<,>).MakeGenericType(delegateType.GetGenericArguments());
            return (ChunkRunner)Activator.CreateInstance(runner, function)!;
        }
        throw new NotSupportedException($"A {kind} job cannot run a {delegateType.Name}.");
    }

    private sealed class MapRunner<T, TResult>(Func<T, TResult> function) : ChunkRunner
    {
        public override ChunkOutcome Run(object? items)
        {
            var arguments = (T[])items!;
            var results = new TResult[arguments.Length];
            var i = 0;
            try
            {
                for (; i < arguments.Length; i++)
                    results[i] = function(arguments[i]);
            }
            catch (Exception e)
            {
                return new ChunkOutcome(null, i, e);
            }
            return new ChunkOutcome(results, -1, null);
        }
    }
}
