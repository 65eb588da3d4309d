// A console progress bar over a long map, without switching to imap: MapAsync reports the number
// of items completed as chunks complete (a common wish of Python's Pool.map_async users).
using Multiproc.Actors;

const int Items = 400;
using var pool = new ProcessPool(processes: Math.Max(2, Environment.ProcessorCount));

// Progress<T> posts each report to the thread pool, so two may arrive out of order: draw only advances.
var shown = 0;
var gate = new object();
var bar = new Progress<int>(done =>
{
    lock (gate)
    {
        if (done <= shown)
            return;
        shown = done;
        Draw(done, Items);
    }
});
var pending = pool.MapAsync(SlowSquare, Enumerable.Range(0, Items), chunksize: 10, progress: bar);
var squares = await pending;
lock (gate)
{
    // The last report may still be on its way; finish the bar here and ignore it.
    if (shown < Items)
        Draw(Items, Items);
    shown = Items;
}
Console.WriteLine();
Console.WriteLine($"sum of {squares.Count} squares: {squares.Sum(x => (long)x)}");

pool.Close();
pool.Join();

// About 5 ms of CPU per item, so the bar has something to show.
static int SlowSquare(int x)
{
    var until = Environment.TickCount64 + 5;
    while (Environment.TickCount64 < until)
    {
    }
    return x * x;
}

static void Draw(int done, int total)
{
    const int Width = 40;
    var filled = (int)((long)done * Width / total);
    // Redrawn in place only on a terminal; redirected output gets one line per update.
    var line = $"[{new string('#', filled)}{new string('.', Width - filled)}] {done,4}/{total}";
    if (Console.IsOutputRedirected)
        Console.WriteLine(line);
    else
        Console.Write("\r" + line);
}
