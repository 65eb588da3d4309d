// The seed's "Using individual Processes": two child processes, one printing numbers and one
// printing letters; start both, join both, then print how each ended.
using Multiproc.Actors;

var p1 = new ChildProcess(PrintNumbers);
var p2 = new ChildProcess(PrintLetters);

p1.Start();
p2.Start();

p1.Join();
p2.Join();

Console.WriteLine($"{p1.Name} (pid {p1.Pid}) exit code: {p1.ExitCode}");
Console.WriteLine($"{p2.Name} (pid {p2.Pid}) exit code: {p2.ExitCode}");

// Each runs in its own process: what it prints appears in this program's output, as with Python.
static void PrintNumbers()
{
    for (var i = 0; i < 10; i++)
        Console.WriteLine($"  {i}");
}

static void PrintLetters()
{
    foreach (var letter in "abcdefghij")
        Console.WriteLine($"  {letter}");
}
