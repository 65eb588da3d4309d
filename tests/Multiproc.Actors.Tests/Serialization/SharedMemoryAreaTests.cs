using System.Diagnostics;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class SharedMemoryAreaTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("multiproc-area-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_context_directory_holds_a_directory_per_pool_and_disposing_removes_it_all()
    {
        var area = SharedMemoryArea.Create(_root, "ab12", 1024, 1 << 20)!;
        var pool = area.ForPool("pool-ab12-1")!;
        Assert.True(pool.TryWrite(pool.Rent(), 2000, s => s.Write(new byte[2000])));
        Assert.Equal(Path.Combine(_root, $"multiproc-{Environment.ProcessId}-ab12"), area.Directory);

        area.Dispose();

        Assert.False(Directory.Exists(area.Directory));
        Assert.Null(area.ForPool("pool-ab12-2"));
        pool.Dispose();
    }

    [Fact]
    public void No_area_when_shared_memory_is_off_or_the_root_is_missing()
    {
        Assert.Null(SharedMemoryArea.Create(_root, "a", 0, 1 << 20));
        Assert.Null(SharedMemoryArea.Create(Path.Combine(_root, "missing"), "a", 1024, 1 << 20));
    }

    [Fact]
    public void Directories_of_dead_processes_are_swept_and_those_of_live_ones_kept()
    {
        var dead = Directory.CreateDirectory(Path.Combine(_root, $"multiproc-{DeadPid()}-ff")).FullName;
        File.WriteAllBytes(Path.Combine(dead, "0"), new byte[100]);
        File.WriteAllBytes(Path.Combine(dead, ".owner"), []);
        var live = Directory.CreateDirectory(Path.Combine(_root, $"multiproc-{Environment.ProcessId}-ee")).FullName;
        var parent = Directory.CreateDirectory(Path.Combine(_root, $"multiproc-{Environment.ProcessId}x-dd")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_root, "not-ours")).FullName;

        SharedMemoryArea.Sweep(_root);

        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(parent));
        Assert.True(Directory.Exists(other));
    }

    [Fact]
    public void A_directory_whose_owner_file_is_held_is_kept_even_if_its_pid_looks_dead()
    {
        // A process in another pid namespace sharing /dev/shm: its pid means nothing here, its lock does.
        var area = SharedMemoryArea.Create(_root, "cc", 1024, 1 << 20)!;
        var foreign = Path.Combine(_root, $"multiproc-{DeadPid()}-cc");
        Directory.Move(area.Directory, foreign);
        try
        {
            SharedMemoryArea.Sweep(_root);

            Assert.True(Directory.Exists(foreign));
        }
        finally
        {
            area.Dispose();
        }
    }

    [Fact]
    public void Starting_an_area_sweeps_what_dead_processes_left()
    {
        var dead = Directory.CreateDirectory(Path.Combine(_root, $"multiproc-{DeadPid()}-aa")).FullName;

        using var area = SharedMemoryArea.Create(_root, "bb", 1024, 1 << 20);

        Assert.False(Directory.Exists(dead));
    }

    private static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
