using System.Diagnostics;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>
/// A temporary directory shared by a test and the tasks it sends to workers: a gate the tasks wait
/// at until the test opens it (so a task is "slow" for exactly as long as the test needs, without
/// the test sleeping), and marks the tasks leave so the test can see which of them ran.
/// </summary>
/// <remarks>
/// Tasks reach it through the static methods with the directory's path: build the task closures in
/// static methods, so they capture only the path.
/// </remarks>
internal sealed class TaskDirectory : IDisposable
{
    private const string GateFile = "gate-open";
    private const string MarkPrefix = "mark-";

    /// <summary>How long a task waits at a gate nobody opens: a failed test must not hold a worker forever.</summary>
    private static readonly TimeSpan GateLimit = TimeSpan.FromSeconds(60);

    public TaskDirectory() => Path = Directory.CreateTempSubdirectory("multiproc-e2e-").FullName;

    public string Path { get; }

    /// <summary>Lets every task waiting at the gate go on (and every later one pass).</summary>
    public void Open() => File.WriteAllText(System.IO.Path.Combine(Path, GateFile), "");

    /// <summary>The marks left so far, as the integers the tasks gave.</summary>
    public IReadOnlyList<int> Marks() =>
        Directory.GetFiles(Path, MarkPrefix + "*")
            .Select(file => int.Parse(System.IO.Path.GetFileName(file)[MarkPrefix.Length..]))
            .Order()
            .ToList();

    /// <summary>Whether a task left the mark <paramref name="mark"/>.</summary>
    public bool HasMark(int mark) => File.Exists(System.IO.Path.Combine(Path, MarkPrefix + mark));

    /// <summary>Opens the gate (so no task is left waiting) and deletes the directory.</summary>
    public void Dispose()
    {
        try
        {
            Open();
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A task may be writing a mark right now; a stray temp directory is harmless.
        }
    }

    /// <summary>In a task: waits (bounded) until the test opens the gate, or removes the directory.</summary>
    public static void WaitAtGate(string dir)
    {
        var clock = Stopwatch.StartNew();
        while (Directory.Exists(dir) && !File.Exists(System.IO.Path.Combine(dir, GateFile)) && clock.Elapsed < GateLimit)
            Thread.Sleep(20);
    }

    /// <summary>In a task: leaves the mark <paramref name="mark"/>.</summary>
    public static void Mark(string dir, int mark)
    {
        try
        {
            File.WriteAllText(System.IO.Path.Combine(dir, MarkPrefix + mark), Environment.ProcessId.ToString());
        }
        catch (DirectoryNotFoundException)
        {
            // The test is over: nobody reads this mark.
        }
    }
}
