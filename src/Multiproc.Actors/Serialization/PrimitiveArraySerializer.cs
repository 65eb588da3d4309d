using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Arrays of primitive numbers (a map's <c>int[]</c> chunks and results) as their raw bytes: one block
/// copy each way instead of Hyperion's per-element writes. Arrays of such arrays (<c>byte[][]</c>: a
/// chunk of blobs, or its results) likewise, after a table of their lengths. Bound to those array
/// types in hocon/multiproc.conf; both processes are the same machine's .NET, so byte order matches.
/// </summary>
/// <remarks>
/// Besides Akka's byte-array API, it writes to and reads from a <see cref="Stream"/> directly
/// (<see cref="Size"/>, <see cref="Write"/>, <see cref="Read"/>): a payload that travels through
/// shared memory goes from the sender's arrays into the file and from the file into the receiver's
/// new arrays, with no serialized copy in between.
/// </remarks>
internal sealed class PrimitiveArraySerializer : SerializerWithStringManifest
{
    private const string JaggedPrefix = "j";

    /// <summary>Created by Akka's serialization extension.</summary>
    /// <param name="system">The actor system.</param>
    public PrimitiveArraySerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    // By type code: the CLR lets a DayOfWeek[] pass for an int[] (and uint[] for int[]...), so the
    // element's code, not the array's exact type, picks the layout.
    /// <inheritdoc />
    public override string Manifest(object o) => LayoutOf(o).Manifest;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        var layout = LayoutOf(obj);
        var size = layout.Size(obj);
        if (size > Array.MaxLength)
            throw new SerializationException($"A {obj.GetType().Name} of {size:N0} bytes is too large for one message.");
        var bytes = GC.AllocateUninitializedArray<byte>((int)size);
        layout.Write(obj, new MemoryStream(bytes));
        return bytes;
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) =>
        Read(manifest, new MemoryStream(bytes, writable: false), bytes.Length);

    /// <summary>Whether this serializer can take <paramref name="o"/> (an array it has a layout for).</summary>
    public static bool Handles(object? o) => o is not null && TryLayoutOf(o, out _);

    /// <summary>The bytes <see cref="Write"/> writes for <paramref name="o"/>.</summary>
    public static long Size(object o) => LayoutOf(o).Size(o);

    /// <summary>Writes <paramref name="o"/>'s layout (<see cref="Size"/> bytes) to <paramref name="destination"/>.</summary>
    public static void Write(object o, Stream destination) => LayoutOf(o).Write(o, destination);

    /// <summary>Reads an array of <paramref name="length"/> bytes written by <see cref="Write"/> under <paramref name="manifest"/>.</summary>
    /// <exception cref="SerializationException">Unknown manifest, or bytes that do not add up.</exception>
    public static object Read(string manifest, Stream source, long length) =>
        Layouts.TryGetValue(manifest, out var layout)
            ? layout.Read(source, length)
            : throw new SerializationException($"Unknown primitive array manifest '{manifest}'.");

    private static readonly Dictionary<TypeCode, Layout> Flat = new();
    private static readonly Dictionary<TypeCode, Layout> JaggedOf = new();
    private static readonly Dictionary<string, Layout> Layouts = new();

    static PrimitiveArraySerializer()
    {
        Register<int>(TypeCode.Int32, "i");
        Register<long>(TypeCode.Int64, "l");
        Register<double>(TypeCode.Double, "d");
        Register<float>(TypeCode.Single, "f");
        Register<short>(TypeCode.Int16, "s");
        Register<ushort>(TypeCode.UInt16, "us");
        Register<uint>(TypeCode.UInt32, "ui");
        Register<ulong>(TypeCode.UInt64, "ul");
        Register<char>(TypeCode.Char, "c");
        Register<bool>(TypeCode.Boolean, "b");
        // byte[] itself keeps Akka's own byte-array serializer (no copy at all); byte[][] is ours.
        Register<byte>(TypeCode.Byte, "y");
    }

    private static void Register<T>(TypeCode code, string manifest) where T : unmanaged
    {
        var flat = new FlatLayout<T>(manifest);
        var jagged = new JaggedLayout<T>(JaggedPrefix + manifest);
        Flat[code] = flat;
        JaggedOf[code] = jagged;
        Layouts[flat.Manifest] = flat;
        Layouts[jagged.Manifest] = jagged;
    }

    private static Layout LayoutOf(object o) =>
        TryLayoutOf(o, out var layout) ? layout : throw new ArgumentException($"{o.GetType()} is not an array of a primitive number type, nor an array of such arrays.", nameof(o));

    private static bool TryLayoutOf(object o, out Layout layout)
    {
        layout = null!;
        if (ElementType(o.GetType()) is not { } element)
            return false;
        if (ElementType(element) is { } inner)
            return JaggedOf.TryGetValue(Type.GetTypeCode(inner), out layout!);
        return element != typeof(byte) && Flat.TryGetValue(Type.GetTypeCode(element), out layout!);
    }

    private static Type? ElementType(Type type) => type is { IsArray: true } && type.GetArrayRank() == 1 ? type.GetElementType() : null;

    private abstract class Layout(string manifest)
    {
        public string Manifest { get; } = manifest;

        public abstract long Size(object o);

        public abstract void Write(object o, Stream destination);

        public abstract object Read(Stream source, long length);
    }

    private sealed class FlatLayout<T>(string manifest) : Layout(manifest) where T : unmanaged
    {
        public override long Size(object o) => (long)((T[])o).Length * Unsafe.SizeOf<T>();

        public override void Write(object o, Stream destination) => destination.Write(MemoryMarshal.AsBytes(((T[])o).AsSpan()));

        public override object Read(Stream source, long length)
        {
            var size = Unsafe.SizeOf<T>();
            if (length % size != 0 || length / size > Array.MaxLength)
                throw Corrupt(Manifest);
            // Every element is overwritten by the read: no need to zero a large array first.
            var array = GC.AllocateUninitializedArray<T>((int)(length / size));
            source.ReadExactly(MemoryMarshal.AsBytes(array.AsSpan()));
            return array;
        }
    }

    /// <summary>A count, then each element's length (-1 for null), then the elements' bytes back to back.</summary>
    private sealed class JaggedLayout<T>(string manifest) : Layout(manifest) where T : unmanaged
    {
        public override long Size(object o)
        {
            var arrays = (T[]?[])o;
            var size = 4L + 4L * arrays.Length;
            foreach (var array in arrays)
                size += (long)(array?.Length ?? 0) * Unsafe.SizeOf<T>();
            return size;
        }

        public override void Write(object o, Stream destination)
        {
            var arrays = (T[]?[])o;
            var header = new byte[4 + 4 * arrays.Length];
            BinaryPrimitives.WriteInt32LittleEndian(header, arrays.Length);
            for (var i = 0; i < arrays.Length; i++)
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4 + 4 * i), arrays[i]?.Length ?? -1);
            destination.Write(header);
            foreach (var array in arrays)
            {
                if (array is not null)
                    destination.Write(MemoryMarshal.AsBytes(array.AsSpan()));
            }
        }

        public override object Read(Stream source, long length)
        {
            Span<byte> word = stackalloc byte[4];
            source.ReadExactly(word);
            var count = BinaryPrimitives.ReadInt32LittleEndian(word);
            if (count < 0 || 4L + 4L * count > length)
                throw Corrupt(Manifest);
            var lengths = new byte[4 * count];
            source.ReadExactly(lengths);
            var elementSize = Unsafe.SizeOf<T>();
            var total = 4L + 4L * count;
            for (var i = 0; i < count; i++)
                total += (long)Math.Max(0, BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * i))) * elementSize;
            if (total != length)
                throw Corrupt(Manifest);
            var arrays = new T[]?[count];
            for (var i = 0; i < count; i++)
            {
                var n = BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * i));
                if (n < -1)
                    throw Corrupt(Manifest);
                if (n < 0)
                    continue;
                var array = GC.AllocateUninitializedArray<T>(n);
                source.ReadExactly(MemoryMarshal.AsBytes(array.AsSpan()));
                arrays[i] = array;
            }
            return arrays;
        }
    }

    private static SerializationException Corrupt(string manifest) =>
        new($"A primitive array payload (manifest '{manifest}') does not add up to its length.");
}
