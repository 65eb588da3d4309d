using System.Globalization;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// A context's directory of shared memory (<c>multiproc-&lt;pid&gt;-&lt;name&gt;</c> under
/// <c>multiproc.shared-memory.directory</c>), holding one subdirectory of <see cref="SharedSlots"/>
/// per pool. Removed when the context is disposed; one left by a process that died without
/// disposing (SIGKILL) is removed by the next context that starts on the machine.
/// </summary>
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
    public static SharedMemoryArea? Create(string root, string name, long threshold, long retain)
    {
        if (threshold <= 0 || OperatingSystem.IsWindows() || !System.IO.Directory.Exists(root))
            return null;
        Sweep(root);
        var directory = Path.Combine(root, $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{name}");
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
    /// such pid here, and no one holds its owner file.
    /// </summary>
    internal static void Sweep(string root)
    {
        // Without /proc there is no telling whether a pid lives: leave everything alone.
        if (!System.IO.Directory.Exists("/proc/self"))
            return;
        IEnumerable<string> candidates;
        try
        {
            candidates = System.IO.Directory.EnumerateDirectories(root, Prefix + "*").ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var directory in candidates)
        {
            var name = Path.GetFileName(directory).AsSpan(Prefix.Length);
            var dash = name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(name[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            if (pid == Environment.ProcessId || System.IO.Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"))
                continue;
            if (IsHeld(Path.Combine(directory, OwnerFile)))
                continue;
            DeleteQuietly(directory);
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

    private static bool IsHeld(string ownerFile)
    {
        try
        {
            using var probe = new FileStream(ownerFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }
}
