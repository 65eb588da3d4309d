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
        var area = SharedMemoryArea.Create(_root, 1024, 1 << 20)!;
        var pool = area.ForPool("pool-1")!;
        Assert.True(pool.TryWrite(pool.Rent(), 2000, s => s.Write(new byte[2000])));
        Assert.Equal(_root, Path.GetDirectoryName(area.Directory));

        area.Dispose();

        Assert.False(Directory.Exists(area.Directory));
        Assert.Null(area.ForPool("pool-2"));
        pool.Dispose();
    }

    [Fact]
    public void The_directory_name_is_128_random_bits_with_no_pid_and_the_pid_is_readable_only_inside()
    {
        using var first = SharedMemoryArea.Create(_root, 1024, 1 << 20)!;
        using var second = SharedMemoryArea.Create(_root, 1024, 1 << 20)!;

        var name = Path.GetFileName(first.Directory);
        Assert.Matches("^multiproc-[0-9a-f]{32}$", name);
        Assert.DoesNotContain(Environment.ProcessId.ToString(), name["multiproc-".Length..]);
        Assert.NotEqual(name, Path.GetFileName(second.Directory));
        if (OperatingSystem.IsWindows())
            return;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(first.Directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(first.Directory, ".owner")));
    }

    [Fact]
    public void No_area_when_shared_memory_is_off_or_the_root_is_missing()
    {
        Assert.Null(SharedMemoryArea.Create(_root, 0, 1 << 20));
        Assert.Null(SharedMemoryArea.Create(Path.Combine(_root, "missing"), 1024, 1 << 20));
    }

    [Fact]
    public void Directories_of_dead_processes_are_swept_and_those_of_live_ones_kept()
    {
        var dead = Left(DeadPid().ToString());
        File.WriteAllBytes(Path.Combine(dead, "0"), new byte[100]);
        var live = Left(Environment.ProcessId.ToString());
        var starting = Directory.CreateDirectory(Path.Combine(_root, "multiproc-" + Guid.NewGuid().ToString("N"))).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_root, "not-ours")).FullName;

        SharedMemoryArea.Sweep(_root);

        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(starting), "a directory just made, its owner file not yet written, is its owner's");
        Assert.True(Directory.Exists(other));
    }

    [Fact]
    public void A_directory_whose_owner_file_is_held_is_kept_even_if_its_pid_looks_dead()
    {
        // A process in another pid namespace sharing /dev/shm: its pid means nothing here, its lock does.
        using var area = SharedMemoryArea.Create(_root, 1024, 1 << 20)!;

        SharedMemoryArea.Sweep(_root);

        Assert.True(Directory.Exists(area.Directory));
    }

    [Fact]
    public void A_planted_symlink_is_not_followed()
    {
        var target = Left(DeadPid().ToString(), "target-of-a-link");
        var link = Path.Combine(_root, "multiproc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateSymbolicLink(link, target);

        SharedMemoryArea.Sweep(Path.GetDirectoryName(link)!);

        Assert.True(File.Exists(Path.Combine(target, ".owner")));
    }

    [Fact]
    public void Starting_an_area_sweeps_what_dead_processes_left()
    {
        var dead = Left(DeadPid().ToString());

        using var area = SharedMemoryArea.Create(_root, 1024, 1 << 20);

        Assert.False(Directory.Exists(dead));
    }

    /// <summary>A context directory as a process with <paramref name="pid"/> leaves it when killed.</summary>
    private string Left(string pid, string? name = null)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, name ?? "multiproc-" + Guid.NewGuid().ToString("N"))).FullName;
        File.WriteAllText(Path.Combine(directory, ".owner"), pid);
        return directory;
    }

    private static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
