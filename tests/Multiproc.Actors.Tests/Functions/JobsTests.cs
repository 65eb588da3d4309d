using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Functions;

public sealed class JobsTests : MultiprocSpec
{
    private static readonly EncodedFunction Identity = new(new Payload(0, "", new byte[64]));

    [Theory]
    [InlineData(0, 4, 1)]
    [InlineData(1, 4, 1)]
    [InlineData(16, 4, 1)]
    [InlineData(17, 4, 2)]
    [InlineData(1000, 2, 125)]
    [InlineData(1001, 2, 126)]
    public void The_default_chunk_size_is_Pythons(int items, int processes, int expected)
    {
        Assert.Equal(expected, Jobs.DefaultChunkSize(items, processes));
    }

    [Fact]
    public void Chunks_cover_the_input_in_order()
    {
        var job = Build(Enumerable.Range(0, 10).Select(_ => new byte[1]).ToArray(), chunksize: 3, limit: 1 << 20);
        Assert.Equal([0, 3, 6, 9], job.Chunks.Select(c => c.Start));
        Assert.Equal([3, 3, 3, 1], job.Chunks.Select(c => c.Count));
        Assert.Equal([0, 1, 2, 3], job.Chunks.Select(c => c.Index));
    }

    [Fact]
    public void A_chosen_chunk_size_that_would_be_too_big_is_split()
    {
        var items = Enumerable.Range(0, 8).Select(_ => new byte[30_000]).ToArray();
        var job = Build(items, chunksize: null, limit: 100_000);
        Assert.True(job.Chunks.Count >= 4);
        Assert.Equal(8, job.Chunks.Sum(c => c.Count));
        Assert.All(job.Chunks, c => Assert.True(c.Items.Length <= 100_000));
    }

    [Fact]
    public void An_item_over_the_limit_fails_naming_size_limit_and_key()
    {
        var items = new[] { new byte[10], new byte[200_000] };
        var error = Assert.Throws<ArgumentException>(() => Build(items, chunksize: null, limit: 100_000));
        Assert.Contains("index 1", error.Message);
        Assert.Contains("100,000", error.Message);
        Assert.Contains("multiproc.maximum-message-size", error.Message);
    }

    [Fact]
    public void An_argument_holding_process_local_state_is_refused()
    {
        var codec = new PayloadCodec(Sys, 1 << 20);
        var function = new FunctionCache(codec).Encode((Func<object, int>)(_ => 0), "func");
        var error = Assert.Throws<ArgumentException>(() =>
            Jobs.Build(1, function, new object[] { 1, new MemoryStream() }, null, 2, new RecordingSink<int>(2), codec));
        Assert.Contains("index 1", error.Message);
    }

    [Fact]
    public void A_stateless_function_is_serialized_once_with_an_id_of_its_own_and_a_closure_every_time_without_one()
    {
        var cache = new FunctionCache(new PayloadCodec(Sys, 1 << 20));
        Func<int, int> stateless = x => x + 1;
        Func<int, int> another = x => x + 2;
        var encoded = cache.Encode(stateless, "func");
        Assert.Same(encoded, cache.Encode(stateless, "func"));
        Assert.NotEqual(0, encoded.Id);
        Assert.NotEqual(encoded.Id, cache.Encode(another, "func").Id);

        var offset = 1;
        Func<int, int> closure = x => x + offset;
        var first = cache.Encode(closure, "func");
        offset = 2;
        Assert.NotEqual(first.Payload.Bytes, cache.Encode(closure, "func").Payload.Bytes); // the captured value is copied at each call
        Assert.Equal(0, first.Id);

        // A method group over an array: its elements are its state, though it declares no fields.
        Func<int, int> overOne = new[] { 1, 2 }.ElementAt;
        Func<int, int> overAnother = new[] { 3, 4 }.ElementAt;
        var array = cache.Encode(overOne, "func");
        Assert.NotEqual(array.Payload.Bytes, cache.Encode(overAnother, "func").Payload.Bytes);
        Assert.Equal(0, array.Id);
    }

    private Actors.JobSpec Build(byte[][] items, int? chunksize, long limit) =>
        Jobs.Build(1, Identity, items, chunksize, 2, new RecordingSink<byte[]>(items.Length), new PayloadCodec(Sys, limit));
}
