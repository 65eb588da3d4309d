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
}
