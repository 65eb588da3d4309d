namespace Multiproc.Actors.Functions;

/// <summary>A child process's target and its arguments, as the child receives them.</summary>
internal sealed record TargetCall(FunctionRef Function, object?[] Args);
