using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class SmallValueSerializerTests : MultiprocSpec
{
    public static TheoryData<object> SmallValues() =>
    [
        42, -7L, 1.5, double.NaN, true, false, 2.5f, (short)-3, (ushort)65535, uint.MaxValue, ulong.MaxValue,
        (byte)255, (sbyte)-128, 'ß', 12.345m, "", "héllo, 世界",
        (4711, 3), (1, "two", 3.0), (true, 'x', long.MinValue, (byte)1), (1, 2, 3, 4, 5), ("a", "b", "c", "d", "e", "f"),
        (1, 2L, 3.0, 4f, "5", '6', (short)7), (7, (string)null!),
        new[] { (1, 2), (3, 4) }, new[] { (1, "a"), (2, null!) }, Array.Empty<(long, bool)>(),
    ];

    [Theory]
    [MemberData(nameof(SmallValues))]
    public void A_number_string_or_tuple_of_them_travels_in_a_few_bytes_and_comes_back_equal_with_its_type(object value)
    {
        var codec = new PayloadCodec(Sys, 1 << 20);

        var payload = codec.Encode(value, "the value");
        var back = codec.Decode(payload);

        Assert.Equal(value, back);
        Assert.Equal(value.GetType(), back!.GetType());
        Assert.Equal(SmallId, payload.SerializerId);
        Assert.True(payload.Bytes.Length <= 1 + 7 + (value is string s ? 4 + 3 * s.Length : 64), $"{payload.Bytes.Length} bytes");
    }

    [Fact]
    public void An_array_of_a_thousand_pairs_takes_eight_bytes_a_pair()
    {
        var codec = new PayloadCodec(Sys, 1 << 20);
        var pairs = Enumerable.Range(0, 1000).Select(i => (Environment.ProcessId, i)).ToArray();

        var payload = codec.Encode(pairs, "the pairs");

        Assert.Equal(SmallId, payload.SerializerId);
        Assert.Equal(3 + 4 + 8 * 1000, payload.Bytes.Length);
        Assert.Equal(pairs, codec.Decode(payload));
    }

    public static TheoryData<object> OtherValues() =>
    [
        DayOfWeek.Friday, ((1, 2), 3), (1, DayOfWeek.Monday), Tuple.Create(1, 2), new[] { (1, DayOfWeek.Monday) }, new DateTime(2026, 11, 26),
        new[] { 1, 2 }, new object[] { (1, 2) }, new[] { "a", "b" },
        (1, 2, 3, 4, 5, 6, 7, 8),
    ];

    [Theory]
    [MemberData(nameof(OtherValues))]
    public void Any_other_value_still_goes_through_Hyperion_and_comes_back_equal(object value)
    {
        var codec = new PayloadCodec(Sys, 1 << 20);

        var payload = codec.Encode(value, "the value");

        Assert.NotEqual(SmallId, payload.SerializerId);
        Assert.Equal(value, codec.Decode(payload));
    }

    [Fact]
    public void A_nullable_number_arrives_as_the_number_and_null_as_null()
    {
        var codec = new PayloadCodec(Sys, 1 << 20);
        int? some = 5;

        Assert.Equal(5, (int?)codec.Decode(codec.Encode(some, "the value")));
        Assert.Null(codec.Decode(codec.Encode(null, "the value")));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 0, 0, 1, 2 })]
    [InlineData(new byte[] { 0, 0, 1, 2, 3, 4, 5 })]
    [InlineData(new byte[] { 0, 99, 1 })]
    [InlineData(new byte[] { 1, 0, 1, 2, 3, 4 })]
    [InlineData(new byte[] { 9, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 2, 0, 4, 1, 0, 0, 0, 100, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 3, 2 })]
    [InlineData(new byte[] { 0x80, 0 })]
    [InlineData(new byte[] { 0x82, 0, 0, 255, 255, 255, 127 })]
    [InlineData(new byte[] { 0x82, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 })]
    public void Malformed_bytes_fail_with_SerializationException(byte[] bytes)
    {
        var small = new SmallValueSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<SerializationException>(() => small.FromBinary(bytes, typeof(object)));
    }

    private int SmallId => SerializerIdentifierHelper.GetSerializerIdentifierFromConfig(typeof(SmallValueSerializer), (ExtendedActorSystem)Sys);
}
