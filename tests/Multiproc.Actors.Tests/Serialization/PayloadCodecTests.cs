using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class PayloadCodecTests : MultiprocSpec, IDisposable
{
    private const long Threshold = 4096;
    private readonly string _root = Directory.CreateTempSubdirectory("multiproc-codec-").FullName;
    private readonly SharedSlots _slots;
    private readonly PayloadCodec _caller;
    private readonly PayloadCodec _worker;

    public PayloadCodecTests()
    {
        _slots = SharedSlots.Create(Path.Combine(_root, "pool"), Threshold, 1 << 20)!;
        _caller = new PayloadCodec(Sys, 1 << 20, _slots);
        _worker = new PayloadCodec(Sys, 1 << 20).WithSlots(SharedSlots.Attach(_slots.Directory, Threshold));
    }

    public new void Dispose()
    {
        _slots.Dispose();
        Directory.Delete(_root, recursive: true);
        base.Dispose();
    }

    [Fact]
    public void A_chunk_at_or_over_the_threshold_goes_to_a_slot_and_one_under_it_stays_in_the_message()
    {
        byte[][] small = [new byte[(int)Threshold - 9]];
        byte[][] large = [Enumerable.Range(0, (int)Threshold - 8).Select(i => (byte)i).ToArray()];

        var inMessage = _caller.EncodeChunk(small, "small", long.MaxValue);
        var inSlot = _caller.EncodeChunk(large, "large", long.MaxValue);

        Assert.Null(inMessage.Shared);
        Assert.Equal(Threshold - 1, inMessage.Length);
        Assert.Equal(new SharedRef(0, Threshold), inSlot.Shared);
        Assert.Empty(inSlot.Bytes);
        Assert.Equal(large, _worker.Decode(inSlot));
    }

    [Fact]
    public void A_value_of_a_Hyperion_type_goes_to_a_slot_as_its_bytes()
    {
        string[] text = [new string('q', 10_000)];

        var payload = _caller.EncodeChunk(text, "text", long.MaxValue);

        Assert.NotNull(payload.Shared);
        Assert.Equal(text, _worker.Decode(payload));
    }

    [Fact]
    public void A_chunk_over_the_limit_stays_in_the_message_for_the_size_check_to_refuse()
    {
        byte[][] large = [new byte[10_000]];

        var payload = _caller.EncodeChunk(large, "large", limit: 5000);

        Assert.Null(payload.Shared);
        Assert.Empty(Directory.GetFiles(_slots.Directory));
    }

    [Fact]
    public void Results_go_to_the_slot_the_caller_lent_and_are_still_held_to_the_limit()
    {
        var lent = _slots.Rent();
        byte[][] results = [new byte[50_000]];

        var payload = _worker.EncodeResults(results, "results", lent);

        Assert.Equal(lent, payload.Shared?.Slot);
        Assert.Equal(results, _caller.Decode(payload));
        Assert.Throws<ArgumentException>(() => _worker.EncodeResults(new[] { new byte[2 << 20] }, "results", lent));
        Assert.Null(_worker.EncodeResults(results, "results", SharedSlots.None).Shared);
    }

    [Fact]
    public void Releasing_a_payload_gives_its_slot_back_for_the_next_chunk()
    {
        var first = _caller.EncodeChunk(new[] { new byte[10_000] }, "first", long.MaxValue);

        _caller.Release(first);
        var second = _caller.EncodeChunk(new[] { new byte[20_000] }, "second", long.MaxValue);

        Assert.Equal(first.Shared!.Value.Slot, second.Shared!.Value.Slot);
    }

    [Fact]
    public void A_shared_payload_reaching_a_process_without_slots_fails_with_SerializationException()
    {
        var payload = _caller.EncodeChunk(new[] { new byte[10_000] }, "chunk", long.MaxValue);

        var error = Assert.Throws<System.Runtime.Serialization.SerializationException>(() =>
            new PayloadCodec(Sys, 1 << 20).Decode(payload, "the chunk"));
        Assert.Contains("shared memory", error.Message);
    }
}
