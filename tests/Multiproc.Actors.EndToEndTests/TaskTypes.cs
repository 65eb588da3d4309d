namespace Multiproc.Actors.EndToEndTests;

/// <summary>An exception type of the test assembly that the caller can rebuild: it has a (string, Exception) constructor.</summary>
public sealed class CustomTaskException : Exception
{
    public CustomTaskException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An exception type the caller cannot rebuild: its only constructor takes a code.</summary>
public sealed class CodeOnlyException : Exception
{
    public CodeOnlyException(int code)
        : base($"failed with code {code}")
    {
        Code = code;
    }

    public int Code { get; }
}

/// <summary>A per-process "global", set by a pool's initializer in each worker.</summary>
public static class Holder
{
    public const string Initial = "set in the test process";

    public static string? Value = Initial;
}

/// <summary>A plain serializable object whose instance method is sent as a task.</summary>
public sealed class Multiplier
{
    public int Factor { get; init; }

    public string Label { get; init; } = "";

    public string Apply(int x) => $"{Label}{x * Factor}";
}

public sealed record Point(int X, int Y);
