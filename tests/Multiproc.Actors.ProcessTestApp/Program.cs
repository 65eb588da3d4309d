// A program the end-to-end tests run as a separate process, to read what its child processes print.
// Usage: Multiproc.Actors.ProcessTestApp forwarding
//   starts one child that prints a line on stdout and one on stderr, and one whose target throws;
//   joins both and prints their exit codes.
using Multiproc.Actors;

if (args.FirstOrDefault() != "forwarding")
{
    Console.Error.WriteLine("usage: Multiproc.Actors.ProcessTestApp forwarding");
    return 2;
}

var printer = new ChildProcess(Print, name: "printer");
var thrower = new ChildProcess(Throw, name: "thrower");
printer.Start();
printer.Join();
thrower.Start();
thrower.Join();
Console.WriteLine($"printer exit code: {printer.ExitCode}");
Console.WriteLine($"thrower exit code: {thrower.ExitCode}");
return 0;

static void Print()
{
    Console.WriteLine($"stdout of {Multiprocessing.CurrentProcess().Name}");
    Console.Error.WriteLine($"stderr of {Multiprocessing.CurrentProcess().Name}");
}

static void Throw() => throw new InvalidOperationException("boom from the child");
