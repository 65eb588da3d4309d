// A program the end-to-end tests run as a separate process, to read what its child processes print.
// Usage: Multiproc.Actors.ProcessTestApp forwarding
//   starts one child that prints a line on stdout and one on stderr, and one whose target throws;
//   joins both and prints their exit codes.
// Usage: Multiproc.Actors.ProcessTestApp exit-joins-child
//   starts a non-daemon child that puts into a queue a second later, and returns at once: the
//   default context joins the child at exit, and the queue must still be there for its put.
// Usage: Multiproc.Actors.ProcessTestApp attack ...
//   plays a stranger against a context whose port and paths it knows (see Attacker).
// Usage: Multiproc.Actors.ProcessTestApp pool-then-wait <workers>
//   creates a pool of that many workers whose start-up never finishes (a serializer of this app
//   that hangs when built in a worker, as a start stuck under a process limit would), prints
//   "launched" and waits: the test kills it while its workers are still starting.
using Akka.Configuration;
using Multiproc.Actors;

if (args.FirstOrDefault() == "attack")
    return Attacker.Run(args[1..]);

if (args.FirstOrDefault() == "pool-then-wait" && args.Length == 2)
{
    var context = MultiprocContext.Create(ConfigurationFactory.ParseString(
        $"akka.actor.serializers.hangs-in-workers = \"{typeof(HangsInWorkers).AssemblyQualifiedName}\""));
    using var pool = context.Pool(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    Console.WriteLine("launched");
    Thread.Sleep(Timeout.Infinite);
    return 0;
}

if (args.FirstOrDefault() == "exit-joins-child")
{
    var queue = new SimpleQueue<string>();
    new ChildProcess(PutLate, [queue]).Start();
    Console.WriteLine("main returns");
    return 0;
}

if (args.FirstOrDefault() != "forwarding")
{
    Console.Error.WriteLine("usage: Multiproc.Actors.ProcessTestApp forwarding | exit-joins-child | attack ... | pool-then-wait <workers>");
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

static void PutLate(SimpleQueue<string> queue)
{
    Thread.Sleep(1000);
    queue.Put("late");
    Console.WriteLine("child put returned");
}
