using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Serialization;

public sealed class SharedSlotsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("multiproc-slots-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private SharedSlots Owner(long retain = 1 << 20) => SharedSlots.Create(Path.Combine(_root, "pool"), 1024, retain)!;

    private static byte[] Bytes(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static byte[] ReadBack(SharedSlots slots, int slot, int length) =>
        (byte[])slots.Read(slot, length, stream =>
        {
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        })!;

    [Fact]
    public void What_the_owner_writes_a_worker_attached_to_the_directory_reads_and_the_other_way_round()
    {
        using var owner = Owner();
        using var worker = SharedSlots.Attach(owner.Directory, owner.Threshold);
        var args = owner.Rent();
        var results = owner.Rent();

        Assert.True(owner.TryWrite(args, 5000, s => s.Write(Bytes(5000, 7))));
        Assert.Equal(Bytes(5000, 7), ReadBack(worker, args, 5000));
        Assert.True(worker.TryWrite(results, 3000, s => s.Write(Bytes(3000, 9))));
        Assert.Equal(Bytes(3000, 9), ReadBack(owner, results, 3000));
    }

    [Fact]
    public void A_slot_grows_for_a_larger_payload_and_a_reader_mapped_smaller_remaps()
    {
        using var owner = Owner();
        using var worker = SharedSlots.Attach(owner.Directory, owner.Threshold);
        var slot = owner.Rent();
        Assert.True(owner.TryWrite(slot, 10, s => s.Write(Bytes(10, 1))));
        Assert.Equal(Bytes(10, 1), ReadBack(worker, slot, 10));

        Assert.True(owner.TryWrite(slot, 300_000, s => s.Write(Bytes(300_000, 2))));

        Assert.Equal(Bytes(300_000, 2), ReadBack(worker, slot, 300_000));
    }

    [Fact]
    public void A_returned_slot_is_rented_again_before_a_new_one_is_made()
    {
        using var owner = Owner();
        var first = owner.Rent();
        Assert.True(owner.TryWrite(first, 2000, s => s.Write(Bytes(2000, 3))));

        owner.Return(first);

        Assert.Equal(first, owner.Rent());
        Assert.NotEqual(first, owner.Rent());
    }

    [Fact]
    public void Idle_slots_beyond_the_retained_bytes_are_deleted()
    {
        using var owner = Owner(retain: 100_000);
        var slots = Enumerable.Range(0, 3).Select(_ => owner.Rent()).ToArray();
        foreach (var slot in slots)
            Assert.True(owner.TryWrite(slot, 60_000, s => s.Write(Bytes(60_000, 4))));

        foreach (var slot in slots)
            owner.Return(slot);

        // Each file is one 64 KiB step: one fits in 100,000 bytes, the other two go.
        Assert.Single(Directory.GetFiles(owner.Directory));
    }

    [Fact]
    public void Reading_a_slot_shorter_than_its_payload_throws_IOException()
    {
        using var owner = Owner();
        using var worker = SharedSlots.Attach(owner.Directory, owner.Threshold);
        var slot = owner.Rent();
        Assert.True(owner.TryWrite(slot, 10, s => s.Write(Bytes(10, 1))));

        Assert.ThrowsAny<IOException>(() => ReadBack(worker, slot, 1 << 20));
        Assert.ThrowsAny<IOException>(() => ReadBack(worker, 12345, 10));
    }

    [Fact]
    public void Disposing_the_owner_deletes_the_directory_and_later_writes_fail_instead_of_throwing()
    {
        var owner = Owner();
        var slot = owner.Rent();
        Assert.True(owner.TryWrite(slot, 2000, s => s.Write(Bytes(2000, 5))));

        owner.Dispose();

        Assert.False(Directory.Exists(owner.Directory));
        Assert.Equal(SharedSlots.None, owner.Rent());
        Assert.False(owner.TryWrite(slot, 10, s => s.Write(Bytes(10, 1))));
    }

    [Fact]
    public void A_worker_neither_rents_nor_deletes()
    {
        using var owner = Owner();
        var slot = owner.Rent();
        Assert.True(owner.TryWrite(slot, 2000, s => s.Write(Bytes(2000, 5))));
        var worker = SharedSlots.Attach(owner.Directory, owner.Threshold);

        Assert.Equal(SharedSlots.None, worker.Rent());
        worker.Discard(slot);
        worker.Dispose();

        Assert.Equal(Bytes(2000, 5), ReadBack(owner, slot, 2000));
    }
}
