using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Functions;

public sealed class FunctionRefTests : MultiprocSpec
{
    private readonly PayloadCodec _codec;

    public FunctionRefTests() => _codec = new PayloadCodec(Sys, 32 * 1024 * 1024);

    private static int Square(int x) => x * x;

    private static T Echo<T>(T x) => x;

    [Fact]
    public void A_static_method_survives_the_trip()
    {
        Assert.Equal(49, RoundTrip<Func<int, int>>(Square)(7));
    }

    [Fact]
    public void A_non_capturing_lambda_survives_the_trip()
    {
        Assert.Equal("ab", RoundTrip<Func<string, string>>(s => s + "b")("a"));
    }

    [Fact]
    public void A_closure_carries_copies_of_its_captured_values()
    {
        var offset = 40;
        var words = new[] { "x", "y" };
        var function = RoundTrip<Func<int, string>>(i => $"{words[i]}{offset + i}");
        Assert.Equal("y41", function(1));
    }

    [Fact]
    public void A_generic_method_keeps_its_type_arguments()
    {
        Assert.Equal(2.5, RoundTrip<Func<double, double>>(Echo)(2.5));
    }

    [Fact]
    public void An_instance_method_of_a_plain_object_carries_the_object()
    {
        var scaler = new Scaler(3);
        Assert.Equal(12, RoundTrip<Func<int, int>>(scaler.Scale)(4));
    }

    [Fact]
    public void A_closure_over_a_stream_is_refused_naming_the_captured_variable_and_its_type()
    {
        using var log = new MemoryStream();
        Func<int, long> function = x => log.Length + x;
        var error = Assert.Throws<ArgumentException>(() => FunctionRef.From(function, "func"));
        Assert.Contains("'log'", error.Message);
        Assert.Contains("System.IO.MemoryStream", error.Message);
        Assert.Equal("func", error.ParamName);
    }

    [Fact]
    public void State_reached_through_a_captured_object_is_refused_with_its_path()
    {
        var holder = new Holder { Lock = new SemaphoreSlim(1) };
        Func<int, int> function = x => x + (holder.Lock is null ? 0 : 1);
        var error = Assert.Throws<ArgumentException>(() => FunctionRef.From(function, "func"));
        Assert.Contains("holder.Lock", error.Message);
        Assert.Contains("SemaphoreSlim", error.Message);
    }

    [Fact]
    public void A_function_returning_a_task_is_refused()
    {
        Func<int, Task<int>> function = x => Task.FromResult(x);
        var error = Assert.Throws<ArgumentException>(() => FunctionRef.From(function, "func"));
        Assert.Contains("Task", error.Message);
    }

    [Fact]
    public void A_null_function_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => FunctionRef.From(null!, "func"));
    }

    [Fact]
    public void A_multicast_delegate_is_refused()
    {
        Action<int> both = _ => { };
        both += _ => { };
        Assert.Throws<ArgumentException>(() => FunctionRef.From(both, "func"));
    }

    private T RoundTrip<T>(T function) where T : Delegate
    {
        var payload = _codec.Encode(FunctionRef.From(function, "func"), "the function");
        return (T)((FunctionRef)_codec.Decode(payload)!).Resolve();
    }

    private sealed class Scaler(int factor)
    {
        public int Scale(int x) => x * factor;
    }

    private sealed class Holder
    {
        public SemaphoreSlim? Lock { get; init; }
    }
}
