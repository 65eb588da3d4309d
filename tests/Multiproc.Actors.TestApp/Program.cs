// A program the end-to-end tests run as a separate process, to see what happens to workers when
// their parent dies. Usage: Multiproc.Actors.TestApp <mode>
//   hold-pool: start a 2-worker pool, run one map on it, print "ready", then wait until killed.
using Multiproc.Actors;

switch (args.FirstOrDefault())
{
    case "hold-pool":
    {
        var pool = new ProcessPool(processes: 2);
        pool.Map(x => x + 1, Enumerable.Range(0, 100));
        Console.WriteLine("ready");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(pool);
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: Multiproc.Actors.TestApp hold-pool");
        return 2;
}
