using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Functions;

public sealed class InitializersTests : MultiprocSpec
{
    private PayloadCodec Codec => new(Sys, 1 << 20);

    private static void Init(string name, int count)
    {
    }

    [Fact]
    public void Arguments_that_fit_the_initializer_are_accepted()
    {
        Assert.NotNull(Initializers.Encode((Action<string, int>)Init, ["a", 1], Codec));
        Assert.Null(Initializers.Encode(null, null, Codec));
    }

    [Fact]
    public void A_wrong_number_of_initargs_is_refused_naming_the_parameters()
    {
        var error = Assert.Throws<ArgumentException>(() => Initializers.Encode((Action<string, int>)Init, ["a"], Codec));
        Assert.Equal("initargs", error.ParamName);
        Assert.Contains("2", error.Message);
    }

    [Fact]
    public void An_initarg_of_the_wrong_type_is_refused_naming_the_parameter()
    {
        var error = Assert.Throws<ArgumentException>(() => Initializers.Encode((Action<string, int>)Init, ["a", "b"], Codec));
        Assert.Contains("'count'", error.Message);
        Assert.Contains("initargs[1]", error.Message);
    }

    [Fact]
    public void Null_for_a_value_type_parameter_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Initializers.Encode((Action<string, int>)Init, ["a", null], Codec));
    }

    [Fact]
    public void A_child_target_is_checked_against_its_args_with_messages_naming_them()
    {
        Assert.NotNull(Initializers.Check((Action<string, int>)Init, ["a", 1], "target", "target", "args"));
        var error = Assert.Throws<ArgumentException>(() => Initializers.Check((Action<string, int>)Init, ["a", "b"], "target", "target", "args"));
        Assert.Equal("args", error.ParamName);
        Assert.Contains("args[1]", error.Message);
        Assert.Contains("target's parameter 'count'", error.Message);
    }

    [Fact]
    public void Initargs_without_an_initializer_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Initializers.Encode(null, [1], Codec));
    }
}
