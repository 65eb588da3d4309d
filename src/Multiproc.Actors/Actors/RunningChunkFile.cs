using System.IO.MemoryMappedFiles;

namespace Multiproc.Actors.Actors;

/// <summary>
/// Which chunk a worker is executing, in a 16-byte file under its pool's shared-memory directory that
/// the worker maps and sets around each chunk. When the worker dies, its pool reads the file: only
/// that chunk was running, so only it is charged a try; the chunks merely queued on the worker go
/// back untouched. A store to memory costs the worker nothing next to a message per chunk, and the
/// page outlives the process, whatever killed it.
/// </summary>
internal sealed class RunningChunkFile : IDisposable
{
    private const int Size = 16;
    private const int JobOffset = 0;
    private const int ChunkOffset = 8;
    private const int RunningOffset = 12;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;

    private RunningChunkFile(MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        _map = map;
        _view = view;
    }

    /// <summary>What a dead worker's file says.</summary>
    /// <param name="Known">The file was there: the other fields are the truth. Otherwise nothing is known.</param>
    /// <param name="Running">A chunk was executing.</param>
    /// <param name="JobId">The executing chunk's job.</param>
    /// <param name="ChunkIndex">The executing chunk's index in its job.</param>
    public readonly record struct Reading(bool Known, bool Running, long JobId, int ChunkIndex);

    /// <summary>
    /// The file of the worker with process id <paramref name="pid"/>, in a subdirectory of the pool's
    /// directory: the pool's payload slots stay alone at its top level, and go with it.
    /// </summary>
    public static string PathOf(string directory, int pid) => Path.Combine(directory, "running", pid.ToString());

    /// <summary>Makes the file of the worker <paramref name="pid"/> (this process) in <paramref name="directory"/>; null where it cannot (the pool then blames as it would without it).</summary>
    public static RunningChunkFile? Create(string directory, int pid)
    {
        if (OperatingSystem.IsWindows())
            return null;
        try
        {
            var path = PathOf(directory, pid);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.ReadWrite,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            // Written, not just sized: a sparse page of a full /dev/shm would fail only at the first
            // store through the map, as a bus error that kills the worker; a write fails here instead.
            file.Write(new byte[Size]);
            file.Flush();
            var map = MemoryMappedFile.CreateFromFile(file, null, Size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            return new RunningChunkFile(map, map.CreateViewAccessor(0, Size, MemoryMappedFileAccess.ReadWrite));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The chunk starts executing.</summary>
    public void Begin(long jobId, int chunkIndex)
    {
        _view.Write(JobOffset, jobId);
        _view.Write(ChunkOffset, chunkIndex);
        // The flag last: a worker killed between the stores leaves no half-written chunk behind it.
        Thread.MemoryBarrier();
        _view.Write(RunningOffset, 1);
    }

    /// <summary>The chunk is done executing (its report may still be on its way).</summary>
    public void End() => _view.Write(RunningOffset, 0);

    /// <summary>Reads, then deletes, the file of a worker that has exited.</summary>
    public static Reading ReadAndDelete(string directory, int pid)
    {
        var path = PathOf(directory, pid);
        try
        {
            var bytes = File.ReadAllBytes(path);
            File.Delete(path);
            if (bytes.Length != Size)
                return default;
            var running = BitConverter.ToInt32(bytes, RunningOffset) == 1;
            return new Reading(true, running, BitConverter.ToInt64(bytes, JobOffset), BitConverter.ToInt32(bytes, ChunkOffset));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}
