namespace Multiproc.Actors;

/// <summary>One sanitized result row: the worker process that produced a value, and the value.</summary>
/// <remarks>Python: the seed's <c>{"process-id": curr_proc_id, "data": curr_proc_data}</c> row.</remarks>
/// <typeparam name="T">The data's type.</typeparam>
/// <param name="ProcessId">The id of the worker process that produced <paramref name="Data"/>.</param>
/// <param name="Data">The value.</param>
public sealed record ProcessResult<T>(int ProcessId, T Data)
{
    /// <inheritdoc />
    public override string ToString() => $"{{ process-id = {ProcessId}, data = {Data} }}";
}
