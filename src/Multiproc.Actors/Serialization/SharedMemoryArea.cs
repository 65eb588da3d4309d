using System.Globalization;
using System.Text;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// A context's directory of shared memory (<c>multiproc-&lt;random&gt;</c> under
/// <c>multiproc.shared-memory.directory</c>), holding one subdirectory of <see cref="SharedSlots"/>
/// per pool. Removed when the context is disposed; one left by a process that died without
/// disposing (SIGKILL) is removed by the next context that starts on the machine.
/// </summary>
/// <remarks>
/// /dev/shm is listable by every user, so the name says nothing: 128 random bits, unrelated to the
/// context's actor names, and no pid. The owner's pid, which the sweep needs, is in the owner file
/// inside the 0700 directory, where only the owner can read it.
/// </remarks>
internal sealed class SharedMemoryArea : IDisposable
{
    private const string Prefix = "multiproc-";

    // Held open with FileShare.None (an exclusive flock on Unix) while the context lives: with the
    // pid check, a sweeper tells a directory in use from one whose owner is gone even across pid
    // namespaces that share /dev/shm, where the pid alone could mislead.
    private const string OwnerFile = ".owner";

    private readonly FileStream _owner;
    private readonly long _threshold;
    private readonly long _retain;
    private int _disposed;

    private SharedMemoryArea(string directory, FileStream owner, long threshold, long retain)
    {
        Directory = directory;
        _owner = owner;
        _threshold = threshold;
        _retain = retain;
    }

    /// <summary>The context's directory.</summary>
    public string Directory { get; }

    /// <summary>
    /// Sweeps what dead processes left under <paramref name="root"/>, then makes this context's
    /// directory; null when shared memory is off (<paramref name="threshold"/> 0), the root does
    /// not exist (no /dev/shm here) or the directory cannot be made: payloads then use the socket.
    /// </summary>
    public static SharedMemoryArea? Create(string root, long threshold, long retain)
    {
        if (threshold <= 0 || OperatingSystem.IsWindows() || !System.IO.Directory.Exists(root))
            return null;
        Sweep(root);
        var directory = Path.Combine(root, Prefix + Names.Random());
        try
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var owner = new FileStream(Path.Combine(directory, OwnerFile), new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            owner.Write(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
            owner.Flush();
            return new SharedMemoryArea(directory, owner, threshold, retain);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DeleteQuietly(directory);
            return null;
        }
    }

    /// <summary>The slots of a new pool, in a subdirectory of its own; null if it cannot be made.</summary>
    public SharedSlots? ForPool(string poolName) =>
        Volatile.Read(ref _disposed) != 0 ? null : SharedSlots.Create(Path.Combine(Directory, poolName), _threshold, _retain);

    /// <summary>Removes the directory with everything in it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _owner.Dispose();
        DeleteQuietly(Directory);
    }

    /// <summary>
    /// Removes the directories under <paramref name="root"/> of contexts whose process is gone: no
    /// one holds its owner file, and the pid written there is not a process here.
    /// </summary>
    internal static void Sweep(string root)
    {
        // Without /proc there is no telling whether a pid lives: leave everything alone.
        if (!System.IO.Directory.Exists("/proc/self"))
            return;
        DirectoryInfo[] candidates;
        try
        {
            candidates = new DirectoryInfo(root).GetDirectories(Prefix + "*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var directory in candidates)
        {
            if (directory.LinkTarget is not null)
                continue;
            switch (OwnerOf(Path.Combine(directory.FullName, OwnerFile)))
            {
                case Owner.Held:
                    continue;
                case Owner.Pid pid when pid.Value == Environment.ProcessId || System.IO.Directory.Exists($"/proc/{pid.Value.ToString(CultureInfo.InvariantCulture)}"):
                    continue;
                case Owner.Unknown when DateTime.UtcNow - directory.CreationTimeUtc < StartingGrace:
                    // Just made: its owner may not have opened the owner file yet.
                    continue;
                default:
                    DeleteQuietly(directory.FullName);
                    break;
            }
        }
    }

    // Between making the directory and writing its owner file a context holds nothing; a
    // directory younger than this without a readable owner is left for a later sweep.
    private static readonly TimeSpan StartingGrace = TimeSpan.FromMinutes(1);

    private abstract record Owner
    {
        public sealed record Held : Owner;
        public sealed record Pid(int Value) : Owner;
        public sealed record Unknown : Owner;
    }

    /// <summary>Whether an owner file is held (its context lives), else the pid it names.</summary>
    private static Owner OwnerOf(string ownerFile)
    {
        try
        {
            // Exclusive, like the owner's: fails while the owner holds it. A planted fifo cannot
            // block this open (read-write) and is not read (not seekable).
            using var probe = new FileStream(ownerFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            if (!probe.CanSeek || probe.Length > 32)
                return new Owner.Unknown();
            Span<byte> text = stackalloc byte[32];
            var length = probe.Read(text);
            return int.TryParse(text[..length], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
                ? new Owner.Pid(pid)
                : new Owner.Unknown();
        }
        catch (FileNotFoundException)
        {
            return new Owner.Unknown();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new Owner.Held();
        }
    }

    /// <summary>Deletes a directory tree, ignoring what is already gone or not ours to delete.</summary>
    internal static void DeleteQuietly(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already, or another user's: either way not ours to clean.
        }
    }
}
