using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class PrimitiveArraySerializerTests : MultiprocSpec
{
    public static TheoryData<Array> Arrays() =>
    [
        new[] { 1, -2, int.MaxValue },
        new[] { long.MinValue, 3L },
        new[] { 1.5, double.NaN },
        new[] { 2.5f },
        new short[] { -1, 7 },
        new ushort[] { 65535 },
        new uint[] { uint.MaxValue },
        new ulong[] { ulong.MaxValue },
        new[] { 'a', 'ß' },
        new[] { true, false },
        Array.Empty<int>(),
        new[] { new byte[] { 1, 2, 3 }, null, [], new byte[70_000] },
        new[] { new[] { 1, -1 }, null, [int.MinValue] },
        new[] { new[] { 0.5 } },
        new[] { new[] { true }, [false, true] },
        Array.Empty<byte[]>(),
    ];

    [Theory]
    [MemberData(nameof(Arrays))]
    public void A_primitive_array_travels_as_raw_bytes_and_comes_back_equal(Array array)
    {
        var serializer = Sys.Serialization.FindSerializerFor(array);
        Assert.IsType<PrimitiveArraySerializer>(serializer);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(array), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, array));
        Assert.Equal(array, (Array)back);
    }

    [Fact]
    public void An_array_of_an_enum_comes_back_as_that_enums_array()
    {
        // The CLR lets a DayOfWeek[] pass for an int[], so such arrays may reach this serializer.
        var days = new[] { DayOfWeek.Monday, DayOfWeek.Sunday };
        var serializer = Sys.Serialization.FindSerializerFor(days);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(days), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, days));
        Assert.Equal(days, (DayOfWeek[])back);
    }

    [Fact]
    public void A_plain_byte_array_keeps_Akkas_own_serializer()
    {
        Assert.IsNotType<PrimitiveArraySerializer>(Sys.Serialization.FindSerializerFor(new byte[] { 1 }));
        Assert.False(PrimitiveArraySerializer.Handles(new byte[] { 1 }));
        Assert.True(PrimitiveArraySerializer.Handles(new[] { new byte[] { 1 } }));
        Assert.False(PrimitiveArraySerializer.Handles(new[] { "a" }));
        Assert.False(PrimitiveArraySerializer.Handles(new[] { new[] { "a" } }));
    }

    [Fact]
    public void The_stream_layout_is_the_byte_layout_and_Size_counts_it_exactly()
    {
        byte[]?[] blobs = [new byte[] { 9, 8 }, null, new byte[100_000]];
        var serializer = Sys.Serialization.FindSerializerFor(blobs);
        var stream = new MemoryStream();

        PrimitiveArraySerializer.Write(blobs, stream);

        Assert.Equal(PrimitiveArraySerializer.Size(blobs), stream.Length);
        Assert.Equal(serializer.ToBinary(blobs), stream.ToArray());
        stream.Position = 0;
        var back = (byte[]?[])PrimitiveArraySerializer.Read("jy", stream, stream.Length);
        Assert.Equal(blobs, back);
    }

    [Theory]
    [InlineData(new byte[] { 2, 0, 0, 0, 1, 0, 0, 0, 7 })]
    [InlineData(new byte[] { 1, 0, 0, 0, 5, 0, 0, 0, 7 })]
    [InlineData(new byte[] { 1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    public void Bytes_that_do_not_add_up_are_refused_with_SerializationException(byte[] bytes)
    {
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() =>
            PrimitiveArraySerializer.Read("jy", new MemoryStream(bytes), bytes.Length));
    }
}
