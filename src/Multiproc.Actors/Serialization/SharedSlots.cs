using System.Globalization;
using System.IO.MemoryMappedFiles;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// The files through which one pool's large payloads travel instead of through Akka's socket: a
/// <em>slot</em> is a file in the pool's directory on a memory file system (<c>/dev/shm</c>), named
/// by its number; a message carries only the slot and the payload's length.
/// </summary>
/// <remarks>
/// <para>The caller owns every slot: it rents one for a chunk's arguments when it serializes them,
/// and one for the chunk's results when it hands the chunk to a worker, which writes its results
/// there. Both go back to the caller's free list only when the chunk is over for good: its report
/// has been read, or the worker that held it has exited (so a re-run after a crash reads the same
/// arguments, and no process still writes into a slot that is lent again). A worker attaches to its
/// pool's directory (<see cref="Attach"/>) and neither rents nor frees.</para>
/// <para>Slots are reused, and each process keeps its slots mapped, so that moving a payload is one
/// memory copy: on this kind of machine a fresh page costs several times the copy into it, and a
/// read or write through the kernel three times a copy between mappings. Idle slots beyond
/// <c>multiproc.shared-memory.retain</c> bytes are deleted. A file only grows, and grows by writing
/// zeros, never by extending it sparsely: a page of a mapping that the file system cannot supply
/// (full) would kill the process with SIGBUS; a write fails with an exception instead.</para>
/// </remarks>
internal sealed class SharedSlots : IDisposable
{
    /// <summary>Slot number meaning "none".</summary>
    public const int None = -1;

    // Files grow in steps of this many bytes, so that payloads of similar sizes fit without a remap.
    private const long Granule = 64 * 1024;

    // A worker unmaps slots the caller deleted once it holds more than this many mappings.
    private const int WorkerMappingsBeforeSweep = 64;

    private static readonly byte[] Zeros = new byte[Granule];

    private readonly Lock _gate = new();
    private readonly Stack<int> _free = new();
    private readonly Dictionary<int, MemoryMappedViewAccessor> _views = new();
    private readonly long _retain;
    private readonly bool _owner;
    private long _freeBytes;
    private int _next;
    private bool _disposed;

    private SharedSlots(string directory, long threshold, long retain, bool owner)
    {
        Directory = directory;
        Threshold = threshold;
        _retain = retain;
        _owner = owner;
    }

    /// <summary>The pool's directory.</summary>
    public string Directory { get; }

    /// <summary>Payloads of at least this many bytes go through a slot.</summary>
    public long Threshold { get; }

    /// <summary>Creates the caller's side in <paramref name="directory"/> (made, owner-only); null if it cannot be made.</summary>
    public static SharedSlots? Create(string directory, long threshold, long retain)
    {
        if (OperatingSystem.IsWindows())
            return null;
        try
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return new SharedSlots(directory, threshold, retain, owner: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A worker's view of its pool's slots.</summary>
    public static SharedSlots Attach(string directory, long threshold) => new(directory, threshold, 0, owner: false);

    /// <summary>Whether a payload of <paramref name="size"/> bytes should go through a slot.</summary>
    public bool Wants(long size) => size >= Threshold;

    /// <summary>A slot to write into: a free one (its pages already there) or a new one; <see cref="None"/> once disposed.</summary>
    public int Rent()
    {
        lock (_gate)
        {
            if (_disposed || !_owner)
                return None;
            if (_free.TryPop(out var slot))
            {
                _freeBytes -= SizeOf(slot);
                return slot;
            }
            return _next++;
        }
    }

    /// <summary>Takes back a slot that no process reads or writes any more.</summary>
    public void Return(int slot)
    {
        if (slot < 0 || !_owner)
            return;
        lock (_gate)
        {
            if (_disposed)
                return;
            var size = SizeOf(slot);
            if (_freeBytes + size <= _retain)
            {
                _freeBytes += size;
                _free.Push(slot);
                return;
            }
        }
        Discard(slot);
    }

    /// <summary>Deletes a slot instead of keeping it (over the retained bytes, or in any state after a failed write).</summary>
    public void Discard(int slot)
    {
        if (slot < 0 || !_owner)
            return;
        lock (_gate)
        {
            if (_views.Remove(slot, out var view))
                view.Dispose();
        }
        DeleteFile(slot);
    }

    /// <summary>
    /// Writes a payload of <paramref name="size"/> bytes into <paramref name="slot"/> from its start;
    /// false if the file system refused (full, gone) or the slots are disposed.
    /// </summary>
    public bool TryWrite(int slot, long size, Action<Stream> write)
    {
        try
        {
            using var stream = Open(slot, size, grow: true, FileAccess.Write);
            write(stream);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Reads the <paramref name="length"/> bytes of the payload in <paramref name="slot"/> with <paramref name="read"/>.</summary>
    /// <exception cref="IOException">The slot is missing or shorter than the payload.</exception>
    public object? Read(int slot, long length, Func<Stream, object?> read)
    {
        using var stream = Open(slot, length, grow: false, FileAccess.Read);
        return read(stream);
    }

    /// <summary>The caller's side deletes the pool's directory with every slot in it; both unmap what they mapped.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            // A copy in progress holds its view's handle: the unmap waits for it.
            foreach (var view in _views.Values)
                view.Dispose();
            _views.Clear();
            _free.Clear();
        }
        if (_owner)
            SharedMemoryArea.DeleteQuietly(Directory);
    }

    /// <summary>A stream over the first <paramref name="length"/> bytes of the slot's mapping, mapping (or growing) it first if need be.</summary>
    private UnmanagedMemoryStream Open(int slot, long length, bool grow, FileAccess access)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_views.TryGetValue(slot, out var view) || view.Capacity < length)
            {
                var fresh = Map(slot, length, grow);
                view?.Dispose();
                _views[slot] = view = fresh;
                if (!_owner && _views.Count > WorkerMappingsBeforeSweep)
                    UnmapDeleted();
            }
            // The stream takes the view's handle for each copy, so a Dispose meanwhile cannot unmap under it.
            return new UnmanagedMemoryStream(view.SafeMemoryMappedViewHandle, view.PointerOffset, length, access);
        }
    }

    private MemoryMappedViewAccessor Map(int slot, long length, bool grow)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("Shared-memory slots are for Unix-like systems.");
        using var file = new FileStream(PathOf(slot), new FileStreamOptions
        {
            Mode = grow ? FileMode.OpenOrCreate : FileMode.Open,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            BufferSize = 0,
            UnixCreateMode = grow ? UnixFileMode.UserRead | UnixFileMode.UserWrite : null,
        });
        var size = file.Length;
        if (size < length)
        {
            if (!grow)
                throw new IOException($"Shared-memory slot {slot} holds {size:N0} bytes, not the {length:N0} of its payload.");
            var target = (length + Granule - 1) / Granule * Granule;
            for (var offset = size; offset < target; offset += Zeros.Length)
                RandomAccess.Write(file.SafeFileHandle, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, target - offset)), offset);
            size = target;
        }
        // Exactly the file's size: a larger capacity would extend it sparsely. The view outlives the
        // file handle and the mapping object, so a slot holds no descriptor.
        using var mapping = MemoryMappedFile.CreateFromFile(file, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        return mapping.CreateViewAccessor(0, size, MemoryMappedFileAccess.ReadWrite);
    }

    /// <summary>Bytes of the slot's file as this process knows it (what it mapped).</summary>
    private long SizeOf(int slot) => _views.TryGetValue(slot, out var view) ? view.Capacity : 0;

    /// <summary>A worker's mappings of slots the caller has deleted would keep their memory alive.</summary>
    private void UnmapDeleted()
    {
        foreach (var (slot, view) in _views.ToArray())
        {
            if (File.Exists(PathOf(slot)))
                continue;
            view.Dispose();
            _views.Remove(slot);
        }
    }

    private string PathOf(int slot) => Path.Combine(Directory, slot.ToString(CultureInfo.InvariantCulture));

    private void DeleteFile(int slot)
    {
        try
        {
            File.Delete(PathOf(slot));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone with the directory, or never written: nothing to free.
        }
    }
}
