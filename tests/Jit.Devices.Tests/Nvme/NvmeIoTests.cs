using System.Buffers.Binary;
using Jit.Devices.Nvme;
using Jit.Devices.Storage;

namespace Jit.Devices.Tests.Nvme;

/// <summary>The NVM command set: data through PRPs, range and permission checks, flushes, completion queue mechanics.</summary>
public sealed class NvmeIoTests : NvmeTestBase
{
    [Fact]
    public void ReadReturnsTheImageBlocksWithTheCompletionFieldsLinuxChecks()
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        ushort cid = io.Submit(IoOpcode.Read, 1, data, 0, 16, 0, 7);
        var c = io.Take();
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        Assert.Equal(cid, c.CommandId);
        Assert.Equal(1, c.SqId);
        Assert.Equal(1, c.SqHead);
        Assert.True(c.Phase);
        Assert.False(c.DoNotRetry);
        Assert.Equal(Expected(16 * 512, 4096), bed.Ram.Read(data, 4096));
    }

    [Fact]
    public void WrittenBlocksReadBackAndReachTheFile()
    {
        string path = PatternFile();
        var image = RawImage.Open(path, readOnly: false);
        var bed = Bed(image);
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(8192), back = bed.Ram.Alloc(8192);
        var written = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7 + 3)).ToArray();
        bed.Ram.Write(data, written);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 100, 16, data, data + 4096).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 100, 16, back, back + 4096).Outcome);
        Assert.Equal(written, bed.Ram.Read(back, 8192));
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Flush, 0, 1, 0).Outcome);
        image.Dispose();
        var file = File.ReadAllBytes(path);
        Assert.Equal(written, file.AsSpan(100 * 512, 8192).ToArray());
        Assert.Equal(Expected(99 * 512, 512), file.AsSpan(99 * 512, 512).ToArray());
        Assert.Equal(Expected(116 * 512, 512), file.AsSpan(116 * 512, 512).ToArray());
    }

    [Fact]
    public void APrpListCarriesALargeTransferWithAnOffsetFirstPage()
    {
        var (bed, io) = Started();
        // 64 KiB starting 512 bytes into a page: the first page, then 16 more through a list.
        ulong pages = bed.Ram.Alloc(17 * 4096), list = bed.Ram.Alloc(4096);
        ulong[] order = [.. Enumerable.Range(1, 16).Select(i => pages + (ulong)(17 - i) * 4096)]; // pages in reverse order
        for (int i = 0; i < order.Length; i++) bed.Ram.W64(list + 8UL * (ulong)i, order[i]);
        var c = io.Io(IoOpcode.Read, 0, 128, pages + 512, list);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        byte[] expected = Expected(0, 65536);
        Assert.Equal(expected.AsSpan(0, 3584).ToArray(), bed.Ram.Read(pages + 512, 3584));
        int done = 3584;
        foreach (ulong page in order)
        {
            int length = Math.Min(4096, 65536 - done);
            Assert.Equal(expected.AsSpan(done, length).ToArray(), bed.Ram.Read(page, length));
            done += length;
        }
        Assert.Equal(65536, done);
    }

    [Fact]
    public void APrpListThatFillsItsPageChainsToTheNext()
    {
        var (bed, io) = Started();
        // The list starts 3 entries before the end of its page: two data entries, then a pointer to the rest.
        ulong data = bed.Ram.Alloc(8 * 4096), lists = bed.Ram.Alloc(2 * 4096);
        ulong first = lists + 4096 - 24, second = lists + 4096;
        bed.Ram.W64(first, data + 4096);
        bed.Ram.W64(first + 8, data + 2 * 4096);
        bed.Ram.W64(first + 16, second);
        for (int i = 0; i < 5; i++) bed.Ram.W64(second + 8UL * (ulong)i, data + (ulong)(3 + i) * 4096);
        var written = Enumerable.Range(0, 8 * 4096).Select(i => (byte)(i % 253)).ToArray();
        bed.Ram.Write(data, written);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 64, 64, data, first).Outcome);
        ulong back = bed.Ram.Alloc(8 * 4096);
        bed.Ram.W64(first, back + 4096);
        bed.Ram.W64(first + 8, back + 2 * 4096);
        for (int i = 0; i < 5; i++) bed.Ram.W64(second + 8UL * (ulong)i, back + (ulong)(3 + i) * 4096);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 64, 64, back, first).Outcome);
        Assert.Equal(written, bed.Ram.Read(back, 8 * 4096));
    }

    [Fact]
    public void TheMemoryPageSizeComesFromCcMps()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.EnableMsix();
        bed.Enable(mps: 2); // 16 KiB pages
        var io = bed.CreateIoQueues(1, vector: 1, align: 16384);
        // 32 KiB from 8 KiB into a 16 KiB page: 8 KiB there, then PRP2 names a whole 16 KiB page and the rest
        // needs a list, as the second entry alone cannot hold 24 KiB.
        ulong a = bed.Ram.Alloc(16384, 16384), b = bed.Ram.Alloc(16384, 16384), c = bed.Ram.Alloc(16384, 16384), list = bed.Ram.Alloc(4096);
        bed.Ram.W64(list, b);
        bed.Ram.W64(list + 8, c);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 64, a + 8192, list).Outcome);
        byte[] expected = Expected(0, 32768);
        Assert.Equal(expected.AsSpan(0, 8192).ToArray(), bed.Ram.Read(a + 8192, 8192));
        Assert.Equal(expected.AsSpan(8192, 16384).ToArray(), bed.Ram.Read(b, 16384));
        Assert.Equal(expected.AsSpan(24576, 8192).ToArray(), bed.Ram.Read(c, 8192));
        // 24 KiB from the start of a page: PRP2 is the second page itself.
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 48, a, b).Outcome);
        Assert.Equal(expected.AsSpan(16384, 8192).ToArray(), bed.Ram.Read(b, 8192));
    }

    [Fact]
    public void FlushReachesTheImage()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        var io = bed.Start();
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Flush, 0, 1, 0).Outcome);
        Assert.Equal(1, image.Flushes);
        // NSID FFFFFFFFh flushes every namespace; another namespace does not exist.
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Flush, 0, 1, 0, nsid: 0xFFFF_FFFF).Outcome);
        Assert.Equal(2, image.Flushes);
        Assert.Equal(NvmeStatus.InvalidNamespaceOrFormat, io.Io(IoOpcode.Flush, 0, 1, 0, nsid: 2).Outcome);
        image.FailWith = BlockStatus.IoError;
        var failed = io.Io(IoOpcode.Flush, 0, 1, 0);
        Assert.Equal(NvmeStatus.WriteFault, failed.Outcome);
        Assert.False(failed.DoNotRetry);
    }

    [Fact]
    public void ForceUnitAccessAndADisabledWriteCacheFlushEachWrite()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 0, 8, data).Outcome);
        Assert.Equal(0, image.Flushes);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 0, 8, data, cdw12Flags: 1u << 30).Outcome);
        Assert.Equal(1, image.Flushes);
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.VolatileWriteCache, 0).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 0, 8, data).Outcome);
        Assert.Equal(2, image.Flushes);
    }

    [Theory]
    [InlineData(2048UL, 1u)]           // the first block past the end
    [InlineData(2047UL, 2u)]           // the last block and one more
    [InlineData(ulong.MaxValue, 1u)]   // no wrap-around
    public void BlocksPastTheEndAreLbaOutOfRange(ulong lba, uint blocks)
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        var c = io.Io(IoOpcode.Read, lba, blocks, data);
        Assert.Equal(NvmeStatus.LbaOutOfRange, c.Outcome);
        Assert.Equal(0x80, c.Status);
        Assert.True(c.DoNotRetry);
        Assert.Equal(NvmeStatus.LbaOutOfRange, io.Io(IoOpcode.Write, lba, blocks, data).Outcome);
        Assert.Equal(NvmeStatus.LbaOutOfRange, io.Io(IoOpcode.WriteZeroes, lba, blocks, 0).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 2047, 1, data).Outcome);
    }

    [Fact]
    public void APrpOutsideRamIsADataTransferErrorAndWritesNothing()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        var io = bed.Start();
        var c = io.Io(IoOpcode.Read, 0, 8, 0x7000_0000);
        Assert.Equal(NvmeStatus.DataTransferError, c.Outcome);
        Assert.Equal(NvmeStatus.DataTransferError, io.Io(IoOpcode.Write, 0, 8, 0x7000_0000).Outcome);
        // The second page, or a list entry, outside RAM.
        ulong page = bed.Ram.Alloc(4096), list = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.DataTransferError, io.Io(IoOpcode.Write, 0, 16, page, 0x7000_0000).Outcome);
        bed.Ram.W64(list, bed.Ram.Alloc(4096));
        bed.Ram.W64(list + 8, 0x7000_1000);
        Assert.Equal(NvmeStatus.DataTransferError, io.Io(IoOpcode.Write, 0, 24, page, list).Outcome);
        Assert.Equal(NvmeStatus.DataTransferError, io.Io(IoOpcode.Write, 0, 24, page, 0x7000_0000).Outcome); // the list itself
        Assert.Equal(0, image.Writes);
        // The controller is still fine.
        Assert.Equal(1u, bed.Csts);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 8, page).Outcome);
        Assert.Equal(Expected(0, 4096), bed.Ram.Read(page, 4096));
    }

    [Fact]
    public void MisalignedPrpEntriesArePrpOffsetInvalid()
    {
        var (bed, io) = Started();
        ulong page = bed.Ram.Alloc(3 * 4096), list = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, io.Io(IoOpcode.Read, 0, 1, page + 2).Outcome);            // not dword aligned
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, io.Io(IoOpcode.Read, 0, 16, page, page + 4096 + 8).Outcome); // second page with an offset
        bed.Ram.W64(list, page + 4096);
        bed.Ram.W64(list + 8, page + 2 * 4096 + 512);
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, io.Io(IoOpcode.Read, 0, 24, page, list).Outcome);        // a list entry with an offset
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, io.Io(IoOpcode.Read, 0, 24, page, list + 4).Outcome);    // a list pointer not qword aligned
    }

    [Fact]
    public void AListThatOnlyChainsToItselfEnds()
    {
        var (bed, io) = Started();
        ulong page = bed.Ram.Alloc(4096), lists = bed.Ram.Alloc(4096);
        // The list pointer is the last qword of its page, so its only entry is a pointer to the next list: itself.
        ulong last = lists + 4096 - 8;
        bed.Ram.W64(last, last);
        var c = io.Io(IoOpcode.Read, 0, 24, page, last);
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, c.Outcome);
    }

    [Fact]
    public void TransfersBeyondMdtsAreRefused()
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, io.Io(IoOpcode.Read, 0, 1025, data).Outcome);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, io.Io(IoOpcode.Write, 0, 1025, data).Outcome);
    }

    [Fact]
    public void WritesToAReadOnlyImageAreRefusedAsWriteProtected()
    {
        var image = new CountingImage(Raw(readOnly: true));
        var bed = Bed(image);
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.NamespaceIsWriteProtected, io.Io(IoOpcode.Write, 0, 8, data).Outcome);
        Assert.Equal(NvmeStatus.NamespaceIsWriteProtected, io.Io(IoOpcode.WriteZeroes, 0, 8, 0).Outcome);
        Assert.Equal(0, image.Writes);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 8, data).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Flush, 0, 1, 0).Outcome);
    }

    [Fact]
    public void ImageErrorsAreMediaErrors()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        image.FailWith = BlockStatus.IoError;
        Assert.Equal(NvmeStatus.UnrecoveredReadError, io.Io(IoOpcode.Read, 0, 8, data).Outcome);
        Assert.Equal(NvmeStatus.WriteFault, io.Io(IoOpcode.Write, 0, 8, data).Outcome);
        image.FailWith = BlockStatus.ReadOnly;
        Assert.Equal(NvmeStatus.NamespaceIsWriteProtected, io.Io(IoOpcode.Write, 0, 8, data).Outcome);
    }

    [Fact]
    public void WriteZeroesClearsTheBlocks()
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        // 300 blocks (LBAs 10 to 309): more than one 64 KiB zero chunk, and no data pointer.
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.WriteZeroes, 10, 300, 0).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 9, 8, data).Outcome);
        var read = bed.Ram.Read(data, 4096);
        Assert.Equal(Expected(9 * 512, 512), read.AsSpan(0, 512).ToArray());
        Assert.All(read.AsSpan(512).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 134, 8, data).Outcome); // across the first chunk's end
        Assert.All(bed.Ram.Read(data, 4096), b => Assert.Equal(0, b));
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 309, 2, data).Outcome);
        var edge = bed.Ram.Read(data, 1024);
        Assert.All(edge.AsSpan(0, 512).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(Expected(310 * 512, 512), edge.AsSpan(512).ToArray());
    }

    [Fact]
    public void DatasetManagementChecksItsRanges()
    {
        var (bed, io) = Started();
        ulong ranges = bed.Ram.Alloc(4096);
        void Range(int i, uint length, ulong lba)
        {
            bed.Ram.W32(ranges + 16UL * (ulong)i + 4, length);
            bed.Ram.W64(ranges + 16UL * (ulong)i + 8, lba);
        }
        Range(0, 8, 0);
        Range(1, 100, 1948);
        io.Submit(IoOpcode.DatasetManagement, 1, ranges, 0, 1, 1u << 2);
        Assert.Equal(NvmeStatus.Success, io.Take().Outcome);
        Range(1, 101, 1948);
        io.Submit(IoOpcode.DatasetManagement, 1, ranges, 0, 1, 1u << 2);
        Assert.Equal(NvmeStatus.LbaOutOfRange, io.Take().Outcome);
        io.Submit(IoOpcode.DatasetManagement, 1, 0x7000_0000, 0, 0, 1u << 2);
        Assert.Equal(NvmeStatus.DataTransferError, io.Take().Outcome);
    }

    [Fact]
    public void UnknownIoOpcodesOtherNamespacesAndFusedCommandsAreRefused()
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.InvalidCommandOpcode, io.Io(0x05, 0, 1, data).Outcome); // Compare
        Assert.Equal(NvmeStatus.InvalidNamespaceOrFormat, io.Io(IoOpcode.Read, 0, 1, data, nsid: 2).Outcome);
        Assert.Equal(NvmeStatus.InvalidNamespaceOrFormat, io.Io(IoOpcode.Read, 0, 1, data, nsid: 0).Outcome);
        var entry = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, IoOpcode.Read | 1u << 8 | 9u << 16); // FUSE = first command
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(24), data);
        io.SubmitRaw(entry);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, io.Take().Outcome);
    }

    [Fact]
    public void ThePhaseTagFlipsEachTimeTheCompletionQueueWraps()
    {
        var (bed, io) = Started(ioEntries: 4);
        ulong data = bed.Ram.Alloc(4096);
        var phases = new List<bool>();
        var heads = new List<ushort>();
        for (int i = 0; i < 13; i++)
        {
            var c = io.Io(IoOpcode.Read, (ulong)i, 1, data);
            Assert.Equal(NvmeStatus.Success, c.Outcome);
            phases.Add(c.Phase);
            heads.Add(c.SqHead);
        }
        Assert.Equal([true, true, true, true, false, false, false, false, true, true, true, true, false], phases);
        Assert.Equal([1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1], heads.Select(h => (int)h));
    }

    [Fact]
    public void AFullCompletionQueueStopsFetchingUntilTheHostFreesEntries()
    {
        var bed = Bed(Raw());
        bed.Start();
        // A two-entry completion queue holds one completion; its submission queue takes eight.
        var io = bed.CreateIoQueues(2, entries: 2, vector: 2, sqEntries: 8);
        var cids = new ushort[5];
        for (int i = 0; i < 5; i++) cids[i] = io.Submit(IoOpcode.Flush, 1, ring: false);
        io.Ring();
        var taken = new List<Completion>();
        for (int round = 0; round < 5; round++)
        {
            Assert.True(io.TryPoll(out var c));
            Assert.False(io.HasCompletion);    // the queue was full: nothing more posted
            taken.Add(c);
            io.ReleaseCompletions();           // frees the entry; the controller fetches the next command
        }
        Assert.Equal(cids, taken.Select(c => c.CommandId));
        Assert.Equal([1, 2, 3, 4, 5], taken.Select(c => (int)c.SqHead));
        Assert.All(taken, c => Assert.Equal(NvmeStatus.Success, c.Outcome));
    }

    [Fact]
    public void ACompletionHeadThatFreesUnpostedEntriesIsIgnored()
    {
        var (bed, io) = Started(ioEntries: 8);
        ulong data = bed.Ram.Alloc(4096);
        io.Submit(IoOpcode.Read, 1, data, 0, 0, 0, 0);
        bed.W(io.CqDoorbell, 4, 5);   // only one entry was posted
        bed.W(io.CqDoorbell, 4, 100); // outside the queue
        Assert.True(io.TryPoll(out var c));
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        io.ReleaseCompletions();
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 1, data).Outcome);
    }

    [Fact]
    public void ServingAReadAllocatesNothing()
    {
        var (bed, io) = Started(ioEntries: 16);
        ulong data = bed.Ram.Alloc(16384), list = bed.Ram.Alloc(4096);
        bed.Ram.W64(list, data + 4096);
        bed.Ram.W64(list + 8, data + 8192);
        bed.Ram.W64(list + 16, data + 12288);
        var entry = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(24), data);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(32), list);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(48), 31); // 32 blocks, 16 KiB
        // Past the runtime's tier-up (30 calls) first. Then four windows of 50 commands: an allocation per command
        // shows in every window; a one-off of the runtime's own (a method promoted meanwhile) in one at most.
        var windows = new long[4];
        int failed = 0;
        for (int i = 0; i < 300; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (i % 2 == 0 ? IoOpcode.Read : IoOpcode.Write) | (uint)i << 16);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(40), (uint)(i % 60) * 32);
            io.SubmitRaw(entry, ring: false);
            long before = GC.GetAllocatedBytesForCurrentThread();
            io.Ring();
            if (i >= 100) windows[(i - 100) / 50] += GC.GetAllocatedBytesForCurrentThread() - before;
            if (io.Take().Outcome != NvmeStatus.Success) failed++;
        }
        Assert.Equal(0, failed);
        Assert.True(windows.Min() == 0, $"bytes allocated per 50 commands: {string.Join(", ", windows)}");
        Assert.Equal(300, bed.Msi.Count(0x101));
    }
}
