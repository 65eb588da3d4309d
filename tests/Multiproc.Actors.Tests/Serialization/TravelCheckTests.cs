using System.Runtime.Serialization;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class TravelCheckTests : MultiprocSpec
{
    internal sealed class Node
    {
        public int V;
        public Node? Next;
    }

    internal sealed class Holder
    {
        public Inner? Inner;
    }

    internal sealed class Inner
    {
        public IntPtr Handle = 7;
    }

    internal sealed record Point(int X, double Y, string Name);

    internal static Node Chain(int length)
    {
        Node? head = null;
        for (var i = 0; i < length; i++)
            head = new Node { V = i, Next = head };
        return head!;
    }

    internal static object NestedArrays(int depth)
    {
        object value = 1;
        for (var i = 0; i < depth; i++)
            value = new object[] { value };
        return value;
    }

    [Fact]
    public void Values_that_cannot_nest_need_no_walk()
    {
        Assert.True(TravelCheck.IsFlat(typeof(int[])));
        Assert.True(TravelCheck.IsFlat(typeof(Point)));
        Assert.True(TravelCheck.IsFlat(typeof((int, string)[])));
        Assert.False(TravelCheck.IsFlat(typeof(Node)));
        Assert.False(TravelCheck.IsFlat(typeof(object[])));
        Assert.False(TravelCheck.IsFlat(typeof(Inner)));
    }

    [Fact]
    public void A_framework_collection_of_flat_items_counts_one_level_whatever_its_length()
    {
        var list = Enumerable.Range(0, 100_000).ToList();
        var map = Enumerable.Range(0, 1000).ToDictionary(i => i.ToString(), i => i);

        Assert.Null(TravelCheck.Inspect(list, 1000, out var listDepth));
        Assert.Null(TravelCheck.Inspect(map, 1000, out var mapDepth));
        Assert.Equal(1, listDepth);
        Assert.Equal(1, mapDepth);
    }

    [Fact]
    public void A_chain_as_long_as_the_limit_passes_and_one_node_more_is_refused_with_its_depth()
    {
        Assert.Null(TravelCheck.Inspect(Chain(1000), 1000, out var depth));
        Assert.Equal(1000, depth);

        var refusal = TravelCheck.Inspect(Chain(1001), 1000);

        Assert.NotNull(refusal);
        Assert.Null(refusal.Why);
        Assert.Equal(1001, refusal.Depth);
        Assert.Equal(typeof(Node), refusal.Type);
    }

    [Fact]
    public void A_million_node_chain_and_100_000_nested_arrays_are_refused_without_walking_them_all_or_recursing()
    {
        // Run on a small stack: the walk itself must not recurse.
        TravelCheck.Refusal? list = null, arrays = null;
        var thread = new Thread(() =>
        {
            list = TravelCheck.Inspect(Chain(1_000_000), 1000);
            arrays = TravelCheck.Inspect(NestedArrays(100_000), 1000);
        }, 256 * 1024);
        thread.Start();
        thread.Join();

        Assert.Equal(1001, list!.Depth);
        Assert.Equal(1001, arrays!.Depth);
        Assert.StartsWith("[0][0][0]", arrays.Path);
    }

    [Fact]
    public void A_cycle_ends_the_walk_instead_of_looping()
    {
        var a = new Node { V = 1 };
        a.Next = new Node { V = 2, Next = a };

        Assert.Null(TravelCheck.Inspect(a, 1000, out var depth));
        Assert.Equal(2, depth);
    }

    [Fact]
    public void A_wide_graph_of_shared_nodes_counts_each_node_once()
    {
        var shared = Chain(10);
        var many = Enumerable.Repeat(shared, 100_000).ToArray();

        Assert.Null(TravelCheck.Inspect(many, 1000, out var depth));
        Assert.Equal(11, depth);
    }

    [Fact]
    public void A_native_pointer_field_is_refused_with_its_member_path_even_when_zero()
    {
        var refusal = TravelCheck.Inspect(new object[] { new Holder { Inner = new Inner() } }, 1000);

        Assert.NotNull(refusal);
        Assert.Equal(typeof(IntPtr), refusal.Type);
        Assert.Equal("[0].Inner.Handle", refusal.Path);
    }

    [Fact]
    public void Pointers_handles_streams_threads_and_actors_are_refused()
    {
        Assert.Equal("a pointer", TravelCheck.ForbiddenReason(typeof(int).MakePointerType()));
        Assert.NotNull(TravelCheck.Inspect(new object[] { new MemoryStream() }, 1000)?.Why);
        Assert.NotNull(TravelCheck.Inspect(new object[] { Thread.CurrentThread }, 1000)?.Why);
        Assert.NotNull(TravelCheck.Inspect(new object[] { (UIntPtr)1 }, 1000)?.Why);
        Assert.Equal("an actor instance", TravelCheck.ForbiddenReason(typeof(Akka.Actor.UntypedActor)));
    }

    [Fact]
    public void Framework_collections_are_walked_by_their_items_so_a_long_linked_list_is_shallow()
    {
        var list = new LinkedList<Point>(Enumerable.Range(0, 100_000).Select(i => new Point(i, i, "p")));
        var dictionary = new Dictionary<string, object> { ["a"] = new List<object> { 1, "two" } };

        Assert.Null(TravelCheck.Inspect(list, 1000));
        Assert.Null(TravelCheck.Inspect(dictionary, 1000, out var depth));
        Assert.Equal(4, depth);   // the dictionary 1, its entry 3 (a collection's items count two levels), the list 4
    }

    [Fact]
    public void The_codec_refuses_a_deep_value_with_a_SerializationException_naming_depth_limit_and_key()
    {
        var codec = new PayloadCodec(Sys, 1 << 30);

        var error = Assert.Throws<SerializationException>(() => codec.Encode(Chain(30_000), "the result"));

        Assert.Contains("1,001", error.Message);
        Assert.Contains("1,000", error.Message);
        Assert.Contains(PayloadCodec.MaxDepthKey, error.Message);
    }

    [Fact]
    public void The_codec_refuses_a_result_holding_a_pointer_naming_the_member_path_and_type()
    {
        var codec = new PayloadCodec(Sys, 1 << 30);

        var error = Assert.Throws<SerializationException>(() =>
            codec.EncodeResults(new object[] { new Holder { Inner = new Inner() } }, "the results of items 0 and on", -1));

        Assert.Contains("result[0].Inner.Handle: System.IntPtr", error.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100001")]
    public void A_depth_limit_out_of_range_is_refused_naming_the_key(string value)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString($"{PayloadCodec.MaxDepthKey} = {value}");

        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() => PayloadCodec.MaxDepthOf(config));

        Assert.Contains(PayloadCodec.MaxDepthKey, error.Message);
    }

    [Fact]
    public void The_depth_limit_is_the_reference_value_unless_configured()
    {
        Assert.Equal(1000, PayloadCodec.MaxDepthOf(Akka.Configuration.Config.Empty));
        Assert.Equal(50_000, PayloadCodec.MaxDepthOf(Akka.Configuration.ConfigurationFactory.ParseString($"{PayloadCodec.MaxDepthKey} = 50000")));
    }

    [Fact]
    public void A_value_at_the_limit_round_trips()
    {
        var codec = new PayloadCodec(Sys, 1 << 30);

        var back = (Node)codec.Decode(codec.Encode(Chain(1000), "the chain"))!;

        var length = 0;
        for (var n = back; n is not null; n = n.Next)
            length++;
        Assert.Equal(1000, length);
    }
}
