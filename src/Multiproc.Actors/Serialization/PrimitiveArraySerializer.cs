using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Serialization;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// Arrays of primitive numbers (a map's <c>int[]</c> chunks and results) as their raw bytes: one block
/// copy each way instead of Hyperion's per-element writes. Bound to those array types in
/// hocon/multiproc.conf; both processes are the same machine's .NET, so byte order matches.
/// </summary>
internal sealed class PrimitiveArraySerializer : SerializerWithStringManifest
{
    /// <summary>Created by Akka's serialization extension.</summary>
    /// <param name="system">The actor system.</param>
    public PrimitiveArraySerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    // By exact type: the CLR lets an int[] pass for a uint[] (and long[] for ulong[]...) in `is` tests.
    /// <inheritdoc />
    public override string Manifest(object o) => Type.GetTypeCode(ElementType(o)) switch
    {
        TypeCode.Int32 => "i",
        TypeCode.Int64 => "l",
        TypeCode.Double => "d",
        TypeCode.Single => "f",
        TypeCode.Int16 => "s",
        TypeCode.UInt16 => "us",
        TypeCode.UInt32 => "ui",
        TypeCode.UInt64 => "ul",
        TypeCode.Char => "c",
        TypeCode.Boolean => "b",
        _ => throw NotPrimitive(o),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => Type.GetTypeCode(ElementType(obj)) switch
    {
        TypeCode.Int32 => Bytes((int[])obj),
        TypeCode.Int64 => Bytes((long[])obj),
        TypeCode.Double => Bytes((double[])obj),
        TypeCode.Single => Bytes((float[])obj),
        TypeCode.Int16 => Bytes((short[])obj),
        TypeCode.UInt16 => Bytes((ushort[])obj),
        TypeCode.UInt32 => Bytes((uint[])obj),
        TypeCode.UInt64 => Bytes((ulong[])obj),
        TypeCode.Char => Bytes((char[])obj),
        TypeCode.Boolean => Bytes((bool[])obj),
        _ => throw NotPrimitive(obj),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        "i" => Array<int>(bytes),
        "l" => Array<long>(bytes),
        "d" => Array<double>(bytes),
        "f" => Array<float>(bytes),
        "s" => Array<short>(bytes),
        "us" => Array<ushort>(bytes),
        "ui" => Array<uint>(bytes),
        "ul" => Array<ulong>(bytes),
        "c" => Array<char>(bytes),
        "b" => Array<bool>(bytes),
        _ => throw new System.Runtime.Serialization.SerializationException($"Unknown primitive array manifest '{manifest}'."),
    };

    private static Type? ElementType(object o) => o.GetType() is { IsArray: true } type && type.GetArrayRank() == 1 ? type.GetElementType() : null;

    private static ArgumentException NotPrimitive(object o) => new($"{o.GetType()} is not an array of a primitive number type.", nameof(o));

    private static byte[] Bytes<T>(T[] array) where T : struct => MemoryMarshal.AsBytes(array.AsSpan()).ToArray();

    private static T[] Array<T>(byte[] bytes) where T : struct => MemoryMarshal.Cast<byte, T>(bytes).ToArray();
}
