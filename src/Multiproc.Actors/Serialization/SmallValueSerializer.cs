using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Single small values — a number, a <see cref="bool"/>, a <see cref="char"/>, a <see cref="string"/>,
/// or a <see cref="ValueTuple"/> of 2 to 7 of those, like the <c>(pid, value)</c> items of the seed's
/// queue workflow — as a few bytes: a shape (one code per field) and the fields' raw bytes; and arrays
/// of such tuples (a <c>PutMany</c> block) as the shape, a count and the fields. Hyperion writes the
/// full type name for each such value (177 bytes for an <c>(int, int)</c>) and reads it back by name,
/// ~2 µs a value; this takes a few hundred nanoseconds, most of it Akka's envelope around it.
/// </summary>
/// <remarks>
/// Not bound to types in the configuration (a binding cannot name every tuple): <see cref="PayloadCodec"/>
/// picks it for the values <see cref="TryEncode"/> takes; everything else goes to Hyperion as before.
/// Registered under its own identifier, so a payload it wrote reads back in any process of the context.
/// </remarks>
internal sealed class SmallValueSerializer : Akka.Serialization.Serializer
{
    private const int MaxArity = 7;
    private const byte ArrayFlag = 0x80;

    private static readonly Type[] Scalars =
    [
        typeof(int), typeof(long), typeof(double), typeof(bool), typeof(string), typeof(float),
        typeof(short), typeof(ushort), typeof(uint), typeof(ulong), typeof(byte), typeof(sbyte), typeof(char),
        typeof(decimal),
    ];

    private static readonly Dictionary<Type, byte> ScalarCodes = Scalars.Select((type, code) => (type, code)).ToDictionary(p => p.type, p => (byte)p.code);

    private static readonly Type[] TupleDefinitions =
    [
        typeof(ValueTuple<,>), typeof(ValueTuple<,,>), typeof(ValueTuple<,,,>), typeof(ValueTuple<,,,,>),
        typeof(ValueTuple<,,,,,>), typeof(ValueTuple<,,,,,,>),
    ];

    // Per value type: its shape and how to write it; null for types this does not take.
    private static readonly ConcurrentDictionary<Type, Shape?> ByType = new();

    // Per shape (its bytes as a number): how to read it.
    private static readonly ConcurrentDictionary<ulong, Shape> ByKey = new();

    /// <summary>Created by Akka's serialization extension.</summary>
    /// <param name="system">The actor system.</param>
    public SmallValueSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <summary>The bytes of <paramref name="value"/> when it is a value this serializer takes.</summary>
    /// <remarks>
    /// Also arrays of value tuples (a <c>PutMany</c>'s items, a chunk of <c>Starmap</c> arguments); arrays
    /// of single numbers stay with <see cref="PrimitiveArraySerializer"/>'s block copy.
    /// </remarks>
    public static bool TryEncode(object? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;
        if (value is null)
            return false;
        var type = value.GetType();
        if (type.IsSZArray)
        {
            if (ShapeOf(type.GetElementType()!) is not { Header: [> 0, ..] } element)
                return false;
            var array = (Array)value;
            var writer = new ArrayBufferWriterLite(element.Header.Length + 4 + array.Length * element.FixedSize);
            writer.Write(element.ArrayHeader);
            writer.WriteInt32(array.Length);
            element.WriteArray(array, ref writer);
            bytes = writer.ToArray();
            return true;
        }
        if (ShapeOf(type) is not { } shape)
            return false;
        {
            // Exact for shapes without strings, so the bytes are written once into their final array.
            var writer = new ArrayBufferWriterLite(shape.Header.Length + shape.FixedSize);
            writer.Write(shape.Header);
            shape.Write(value, ref writer);
            bytes = writer.ToArray();
            return true;
        }
    }

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) =>
        TryEncode(obj, out var bytes) ? bytes : throw new SerializationException($"{nameof(SmallValueSerializer)} does not take a {obj.GetType()}.");

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) => Read(bytes);

    /// <summary>The value <see cref="TryEncode"/> wrote as <paramref name="bytes"/>.</summary>
    /// <exception cref="SerializationException">The bytes are not such a value.</exception>
    public static object Read(byte[] bytes)
    {
        if (bytes.Length == 0)
            throw new SerializationException("An empty small value.");
        var isArray = (bytes[0] & ArrayFlag) != 0;
        var arity = bytes[0] & ~ArrayFlag;
        if (arity > MaxArity || (isArray && arity == 0) || bytes.Length < 1 + Math.Max(arity, 1))
            throw new SerializationException("A small value with a malformed shape.");
        var headerLength = 1 + Math.Max(arity, 1);
        var key = Key(bytes.AsSpan(0, headerLength));
        if (!ByKey.TryGetValue(key, out var shape))
            shape = ByKey.GetOrAdd(key, _ => ShapeFromHeader(bytes.AsSpan(0, headerLength)));
        var reader = new Reader(bytes, headerLength);
        object value;
        if (isArray)
        {
            var count = reader.ReadInt32();
            // Every element takes at least a byte: a count beyond the bytes left is a lie, not an allocation to make.
            if (count < 0 || count > bytes.Length - reader.Position)
                throw new SerializationException("A small value array with a malformed count.");
            value = shape.ReadArray(ref reader, count);
        }
        else
        {
            value = shape.Read(ref reader);
        }
        if (reader.Position != bytes.Length)
            throw new SerializationException("A small value with trailing bytes.");
        return value;
    }

    private static Shape? ShapeOf(Type type) => ByType.GetOrAdd(type, static t => CreateShape(t));

    private static Shape? CreateShape(Type type)
    {
        if (ScalarCodes.TryGetValue(type, out var code))
            return (Shape)Activator.CreateInstance(typeof(ScalarShape<>).MakeGenericType(type), [new byte[] { 0, code }])!;
        if (!type.IsGenericType || Array.IndexOf(TupleDefinitions, type.GetGenericTypeDefinition()) < 0)
            return null;
        var fields = type.GetGenericArguments();
        if (fields.Any(f => !ScalarCodes.ContainsKey(f)))
            return null;
        var header = new byte[1 + fields.Length];
        header[0] = (byte)fields.Length;
        for (var i = 0; i < fields.Length; i++)
            header[i + 1] = ScalarCodes[fields[i]];
        var shapeType = fields.Length switch
        {
            2 => typeof(TupleShape<,>),
            3 => typeof(TupleShape<,,>),
            4 => typeof(TupleShape<,,,>),
            5 => typeof(TupleShape<,,,,>),
            6 => typeof(TupleShape<,,,,,>),
            _ => typeof(TupleShape<,,,,,,>),
        };
        return (Shape)Activator.CreateInstance(shapeType.MakeGenericType(fields), [header])!;
    }

    private static Shape ShapeFromHeader(ReadOnlySpan<byte> header)
    {
        var arity = header[0] & ~ArrayFlag;
        var codes = arity == 0 ? header.Slice(1, 1) : header[1..];
        var fields = new Type[codes.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            if (codes[i] >= Scalars.Length)
                throw new SerializationException($"A small value with an unknown field code {codes[i]}.");
            fields[i] = Scalars[codes[i]];
        }
        var type = arity == 0 ? fields[0] : arity >= 2 ? TupleDefinitions[arity - 2].MakeGenericType(fields) : null;
        return (type is null ? null : ShapeOf(type)) ?? throw new SerializationException("A small value with a malformed shape.");
    }

    private static int SizeOf(Type field) =>
        field == typeof(string) ? 16
        : field == typeof(decimal) ? 16
        : field == typeof(long) || field == typeof(ulong) || field == typeof(double) ? 8
        : field == typeof(int) || field == typeof(uint) || field == typeof(float) ? 4
        : field == typeof(short) || field == typeof(ushort) || field == typeof(char) ? 2
        : 1;

    private static ulong Key(ReadOnlySpan<byte> header)
    {
        ulong key = 0;
        // The array flag is not part of the element's shape.
        key = (ulong)(header[0] & ~ArrayFlag);
        foreach (var b in header[1..])
            key = key << 8 | b;
        return key;
    }

    /// <summary>How one kind of value is written and read.</summary>
    private abstract class Shape(byte[] header)
    {
        public byte[] Header { get; } = header;

        /// <summary>The header of an array of such values.</summary>
        public byte[] ArrayHeader { get; } = [(byte)(header[0] | ArrayFlag), .. header.AsSpan(1)];

        /// <summary>The bytes of the fields when none is a string (a string's length varies: then a first guess).</summary>
        public int FixedSize { get; } = header.Skip(1).Sum(code => SizeOf(Scalars[code]));

        public abstract void Write(object value, ref ArrayBufferWriterLite writer);

        public abstract object Read(ref Reader reader);

        public abstract void WriteArray(Array values, ref ArrayBufferWriterLite writer);

        public abstract Array ReadArray(ref Reader reader, int count);
    }

    private abstract class Shape<T>(byte[] header) : Shape(header)
    {
        public override void Write(object value, ref ArrayBufferWriterLite writer) => WriteValue((T)value, ref writer);

        public override object Read(ref Reader reader) => ReadValue(ref reader)!;

        public override void WriteArray(Array values, ref ArrayBufferWriterLite writer)
        {
            foreach (var value in (T[])values)
                WriteValue(value, ref writer);
        }

        public override Array ReadArray(ref Reader reader, int count)
        {
            var values = new T[count];
            for (var i = 0; i < values.Length; i++)
                values[i] = ReadValue(ref reader);
            return values;
        }

        protected abstract void WriteValue(T value, ref ArrayBufferWriterLite writer);

        protected abstract T ReadValue(ref Reader reader);
    }

    private sealed class ScalarShape<T>(byte[] header) : Shape<T>(header)
    {
        protected override void WriteValue(T value, ref ArrayBufferWriterLite writer) => Field<T>.Write(value, ref writer);

        protected override T ReadValue(ref Reader reader) => Field<T>.Read(ref reader);
    }

    private sealed class TupleShape<T1, T2>(byte[] header) : Shape<(T1, T2)>(header)
    {
        protected override void WriteValue((T1, T2) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
        }

        protected override (T1, T2) ReadValue(ref Reader reader) => (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader));
    }

    private sealed class TupleShape<T1, T2, T3>(byte[] header) : Shape<(T1, T2, T3)>(header)
    {
        protected override void WriteValue((T1, T2, T3) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
            Field<T3>.Write(t.Item3, ref writer);
        }

        protected override (T1, T2, T3) ReadValue(ref Reader reader) =>
            (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader), Field<T3>.Read(ref reader));
    }

    private sealed class TupleShape<T1, T2, T3, T4>(byte[] header) : Shape<(T1, T2, T3, T4)>(header)
    {
        protected override void WriteValue((T1, T2, T3, T4) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
            Field<T3>.Write(t.Item3, ref writer);
            Field<T4>.Write(t.Item4, ref writer);
        }

        protected override (T1, T2, T3, T4) ReadValue(ref Reader reader) =>
            (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader), Field<T3>.Read(ref reader), Field<T4>.Read(ref reader));
    }

    private sealed class TupleShape<T1, T2, T3, T4, T5>(byte[] header) : Shape<(T1, T2, T3, T4, T5)>(header)
    {
        protected override void WriteValue((T1, T2, T3, T4, T5) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
            Field<T3>.Write(t.Item3, ref writer);
            Field<T4>.Write(t.Item4, ref writer);
            Field<T5>.Write(t.Item5, ref writer);
        }

        protected override (T1, T2, T3, T4, T5) ReadValue(ref Reader reader) =>
            (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader), Field<T3>.Read(ref reader), Field<T4>.Read(ref reader),
                Field<T5>.Read(ref reader));
    }

    private sealed class TupleShape<T1, T2, T3, T4, T5, T6>(byte[] header) : Shape<(T1, T2, T3, T4, T5, T6)>(header)
    {
        protected override void WriteValue((T1, T2, T3, T4, T5, T6) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
            Field<T3>.Write(t.Item3, ref writer);
            Field<T4>.Write(t.Item4, ref writer);
            Field<T5>.Write(t.Item5, ref writer);
            Field<T6>.Write(t.Item6, ref writer);
        }

        protected override (T1, T2, T3, T4, T5, T6) ReadValue(ref Reader reader) =>
            (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader), Field<T3>.Read(ref reader), Field<T4>.Read(ref reader),
                Field<T5>.Read(ref reader), Field<T6>.Read(ref reader));
    }

    private sealed class TupleShape<T1, T2, T3, T4, T5, T6, T7>(byte[] header) : Shape<(T1, T2, T3, T4, T5, T6, T7)>(header)
    {
        protected override void WriteValue((T1, T2, T3, T4, T5, T6, T7) t, ref ArrayBufferWriterLite writer)
        {
            Field<T1>.Write(t.Item1, ref writer);
            Field<T2>.Write(t.Item2, ref writer);
            Field<T3>.Write(t.Item3, ref writer);
            Field<T4>.Write(t.Item4, ref writer);
            Field<T5>.Write(t.Item5, ref writer);
            Field<T6>.Write(t.Item6, ref writer);
            Field<T7>.Write(t.Item7, ref writer);
        }

        protected override (T1, T2, T3, T4, T5, T6, T7) ReadValue(ref Reader reader) =>
            (Field<T1>.Read(ref reader), Field<T2>.Read(ref reader), Field<T3>.Read(ref reader), Field<T4>.Read(ref reader),
                Field<T5>.Read(ref reader), Field<T6>.Read(ref reader), Field<T7>.Read(ref reader));
    }

    /// <summary>One field's bytes: unmanaged values raw (same machine, same byte order), strings as length and UTF-8.</summary>
    private static class Field<T>
    {
        public static void Write(T value, ref ArrayBufferWriterLite writer)
        {
            if (typeof(T) == typeof(string))
            {
                var text = (string)(object)value!;
                if (text is null)
                {
                    writer.WriteInt32(-1);
                    return;
                }
                var length = Encoding.UTF8.GetByteCount(text);
                writer.WriteInt32(length);
                Encoding.UTF8.GetBytes(text, writer.Take(length));
                return;
            }
            Unsafe.WriteUnaligned(ref writer.Take(Unsafe.SizeOf<T>())[0], value);
        }

        public static T Read(ref Reader reader)
        {
            if (typeof(T) == typeof(string))
            {
                var length = reader.ReadInt32();
                return (T)(object)(length < 0 ? null! : Encoding.UTF8.GetString(reader.Take(length)));
            }
            var value = Unsafe.ReadUnaligned<T>(ref Unsafe.AsRef(in reader.Take(Unsafe.SizeOf<T>())[0]));
            // A bool is one byte that must be 0 or 1; anything else is not a bool this wrote.
            if (typeof(T) == typeof(bool) && Unsafe.As<T, byte>(ref value) > 1)
                throw new SerializationException("A small value with a malformed bool.");
            return value;
        }
    }

    /// <summary>A growable byte buffer, for the few bytes of one value.</summary>
    private struct ArrayBufferWriterLite(int capacity)
    {
        private byte[] _buffer = new byte[capacity];
        private int _length;

        public void Write(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

        public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

        public Span<byte> Take(int count)
        {
            if (_length + count > _buffer.Length)
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
            var span = _buffer.AsSpan(_length, count);
            _length += count;
            return span;
        }

        public readonly byte[] ToArray() => _length == _buffer.Length ? _buffer : _buffer.AsSpan(0, _length).ToArray();
    }

    /// <summary>Reads fields in order, refusing to read past the end.</summary>
    private ref struct Reader(byte[] bytes, int position)
    {
        private readonly byte[] _bytes = bytes;

        public int Position { get; private set; } = position;

        public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _bytes.Length - Position)
                throw new SerializationException("A small value shorter than its shape.");
            var span = _bytes.AsSpan(Position, count);
            Position += count;
            return span;
        }
    }
}
