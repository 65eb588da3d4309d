using System.Collections.Concurrent;
using System.Text;

namespace Multiproc.Actors.Worker;

/// <summary>
/// A worker's (or child's) stdin, watched from the first instruction of its Main: one thread reads
/// it line by line for the whole life of the process, hands the lines (the handshake) to
/// <see cref="ReadLine"/>, and exits the process as soon as it reaches EOF — the parent is gone
/// (killed, crashed or exited). A worker still starting its runtime or actor system when its parent
/// dies exits then too, rather than living on as an orphan.
/// </summary>
internal sealed class ParentPipe : TextReader
{
    private readonly BlockingCollection<string> _lines = new();

    private ParentPipe()
    {
    }

    /// <summary>Starts watching <paramref name="stdin"/>; the exit on EOF is abrupt (see <see cref="MultiprocContext.BeginAbruptExit"/>).</summary>
    public static ParentPipe Watch(Stream stdin)
    {
        var pipe = new ParentPipe();
        var watcher = new Thread(() =>
        {
            try
            {
                using var reader = new StreamReader(stdin, Encoding.UTF8);
                while (reader.ReadLine() is { } line)
                    pipe._lines.Add(line);
            }
            catch (IOException)
            {
                // A broken pipe is the parent gone too.
            }
            pipe._lines.CompleteAdding();
            MultiprocContext.BeginAbruptExit();
            Environment.Exit(WorkerProgram.ParentGoneExitCode);
        })
        {
            IsBackground = true,
            Name = "multiproc-parent-watch",
        };
        watcher.Start();
        return pipe;
    }

    /// <summary>The next line the parent wrote; null once stdin has closed (the process is exiting then).</summary>
    public override string? ReadLine() => _lines.TryTake(out var line, Timeout.Infinite) ? line : null;
}
