using System.Buffers.Binary;
using System.Text;
using Jit.Devices.Nvme;

namespace Jit.Devices.Tests.Nvme;

/// <summary>Admin commands: Identify, features, queue creation and deletion, events, abort, log pages.</summary>
public sealed class NvmeAdminTests : NvmeTestBase
{
    private NvmeTestBed Enabled(string serial = "JIT-TEST-0001")
    {
        var bed = Bed(Raw(), serial);
        bed.Probe();
        bed.EnableMsix();
        bed.Enable();
        return bed;
    }

    private static string Ascii(byte[] data, int offset, int length) => Encoding.ASCII.GetString(data, offset, length);

    [Fact]
    public void IdentifyControllerDescribesWhatTheModelDoes()
    {
        var id = Enabled("SER-42").Identify(1);
        Assert.Equal(NvmeController.VendorId, BinaryPrimitives.ReadUInt16LittleEndian(id));
        Assert.Equal("SER-42".PadRight(20), Ascii(id, 4, 20));
        Assert.Equal("Jit NVMe Controller".PadRight(40), Ascii(id, 24, 40));
        Assert.Equal("1.0".PadRight(8), Ascii(id, 64, 8));
        Assert.Equal(7, id[77]);                                                 // MDTS: 512 KiB
        Assert.Equal(0x0001_0400u, BinaryPrimitives.ReadUInt32LittleEndian(id.AsSpan(80)));
        Assert.Equal(1, id[111]);                                                // I/O controller
        Assert.Equal(3, id[258]);                                                // ACL
        Assert.Equal(3, id[259]);                                                // AERL
        Assert.Equal(0x66, id[512]);                                             // SQES
        Assert.Equal(0x44, id[513]);                                             // CQES
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(id.AsSpan(516))); // NN
        Assert.Equal(0x0C, BinaryPrimitives.ReadUInt16LittleEndian(id.AsSpan(520))); // ONCS: DSM, Write Zeroes
        Assert.Equal(0x07, id[525]);                                             // VWC
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(id.AsSpan(536))); // no SGLs
        string nqn = Ascii(id, 768, 256).TrimEnd('\0');
        Assert.StartsWith("nqn.2014-08.org.nvmexpress:uuid:", nqn);
        Assert.Equal(68, nqn.Length);
    }

    [Fact]
    public void TheSubsystemNameIsStableForASerialAndDiffersBetweenSerials()
    {
        byte[] IdentifyController(string serial, string image)
        {
            var bed = Bed(Raw(name: image), serial);
            bed.Probe();
            bed.Enable();
            return bed.Identify(1);
        }
        byte[] a = IdentifyController("A", "a.img"), again = IdentifyController("A", "b.img"), other = IdentifyController("B", "c.img");
        Assert.Equal(a.AsSpan(768, 256).ToArray(), again.AsSpan(768, 256).ToArray());
        Assert.NotEqual(a.AsSpan(768, 256).ToArray(), other.AsSpan(768, 256).ToArray());
    }

    [Fact]
    public void IdentifyNamespaceGivesTheImageSizeIn512ByteBlocks()
    {
        var bed = Enabled();
        var ns = bed.Identify(0, 1);
        ulong blocks = ImageBytes / 512;
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns));        // NSZE
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns.AsSpan(8)));  // NCAP
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns.AsSpan(16))); // NUSE
        Assert.Equal(0, ns[25]);                                                  // one LBA format
        Assert.Equal(0, ns[26]);                                                  // using format 0
        Assert.Equal(0, ns[99]);                                                  // not write protected
        Assert.Equal(9u << 16, BinaryPrimitives.ReadUInt32LittleEndian(ns.AsSpan(128))); // LBADS 9
        // The descriptor list names the same NGUID.
        var descriptors = bed.Identify(3, 1);
        Assert.Equal(2, descriptors[0]);
        Assert.Equal(16, descriptors[1]);
        Assert.Equal(ns.AsSpan(104, 16).ToArray(), descriptors.AsSpan(4, 16).ToArray());
        Assert.NotEqual(new byte[16], ns.AsSpan(104, 16).ToArray());
        Assert.Equal(0, descriptors[20]); // end of list
    }

    [Fact]
    public void TheActiveNamespaceListHoldsNamespaceOne()
    {
        var bed = Enabled();
        var list = bed.Identify(2, 0);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(list));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(list.AsSpan(4)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(bed.Identify(2, 1)));
        bed.Identify(2, 0xFFFF_FFFF, NvmeStatus.InvalidNamespaceOrFormat);
    }

    [Fact]
    public void IdentifyRefusesOtherNamespacesAndUnknownStructures()
    {
        var bed = Enabled();
        bed.Identify(0, 2, NvmeStatus.InvalidNamespaceOrFormat);
        bed.Identify(0, 0, NvmeStatus.InvalidNamespaceOrFormat);
        bed.Identify(3, 7, NvmeStatus.InvalidNamespaceOrFormat);
        bed.Identify(0x10, 0, NvmeStatus.InvalidFieldInCommand);
        // The NVM command set specific controller structure (CNS 6, CSI 0) is all zero.
        Assert.Equal(new byte[4096], bed.Identify(6));
    }

    [Fact]
    public void IdentifyHonoursAPrp1OffsetAndPrp2()
    {
        var bed = Enabled();
        ulong pages = bed.Ram.Alloc(3 * 4096);
        // PRP1 128 bytes before the end of its page, PRP2 a page two pages on.
        var c = bed.AdminCommand(AdminOpcode.Identify, 0, pages + 4096 - 128, pages + 2 * 4096, 1);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        byte[] whole = [.. bed.Ram.Read(pages + 4096 - 128, 128), .. bed.Ram.Read(pages + 2 * 4096, 4096 - 128)];
        Assert.Equal(NvmeController.VendorId, BinaryPrimitives.ReadUInt16LittleEndian(whole));
        Assert.Equal("Jit NVMe Controller".PadRight(40), Ascii(whole, 24, 40));
    }

    [Fact]
    public void UnknownAdminOpcodesAndSglsAreRefusedWithDoNotRetry()
    {
        var bed = Enabled();
        var c = bed.AdminCommand(0x80); // Format NVM: not offered
        Assert.Equal(NvmeStatus.InvalidCommandOpcode, c.Outcome);
        Assert.True(c.DoNotRetry);
        // PSDT = 01b (SGL) on Identify.
        var entry = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, AdminOpcode.Identify | 1u << 14 | 0x77u << 16);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(40), 1);
        bed.Admin.SubmitRaw(entry);
        c = bed.Admin.Take();
        Assert.Equal(0x77, c.CommandId);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, c.Outcome);
    }

    [Fact]
    public void NumberOfQueuesIsGrantedUpToWhatTheControllerHas()
    {
        var bed = Enabled();
        var c = bed.SetFeature(FeatureId.NumberOfQueues, 63 | 63 << 16);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        Assert.Equal(7u | 7 << 16, c.Dword0);
        c = bed.SetFeature(FeatureId.NumberOfQueues, 1 | 2 << 16);
        Assert.Equal(1u | 2 << 16, c.Dword0);
        Assert.Equal(1u | 2 << 16, bed.GetFeature(FeatureId.NumberOfQueues).Dword0);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.SetFeature(FeatureId.NumberOfQueues, 0xFFFF).Outcome);
        // Two submission queues were granted: the third is refused.
        bed.CreateIoQueues(1);
        bed.CreateIoQueues(2);
        ulong sq = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier,
            bed.AdminCommand(AdminOpcode.CreateIoSubmissionQueue, 0, sq, 0, 3 | 63 << 16, 1 | 1 << 16).Outcome);
        // Once queues exist the count is fixed.
        Assert.Equal(NvmeStatus.CommandSequenceError, bed.SetFeature(FeatureId.NumberOfQueues, 3 | 3 << 16).Outcome);
    }

    [Fact]
    public void CreateIoCompletionQueueChecksItsFields()
    {
        var bed = Enabled();
        ulong cq = bed.Ram.Alloc(4096);
        NvmeStatus Create(uint cdw10, uint cdw11, ulong prp1) => bed.AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, prp1, 0, cdw10, cdw11).Outcome;
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, Create(0 | 15 << 16, 3, cq));         // QID 0 is the admin queue
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, Create(9 | 15 << 16, 3, cq));         // beyond Number of Queues
        Assert.Equal(NvmeStatus.InvalidQueueSize, Create(1 | 0 << 16, 3, cq));                // one entry
        Assert.Equal(NvmeStatus.InvalidQueueSize, Create(1 | 1024u << 16, 3, cq));            // beyond MQES
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, Create(1 | 15 << 16, 2, cq));          // not contiguous
        Assert.Equal(NvmeStatus.InvalidInterruptVector, Create(1 | 15 << 16, 3 | 9 << 16, cq)); // 9 MSI-X vectors: 0..8
        Assert.Equal(NvmeStatus.PrpOffsetInvalid, Create(1 | 15 << 16, 3, cq + 512));         // not page aligned
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, Create(1 | 15 << 16, 3, 0x7000_0000)); // not RAM
        Assert.Equal(NvmeStatus.Success, Create(1 | 15 << 16, 3 | 8 << 16, cq));
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, Create(1 | 15 << 16, 3, cq));         // exists
        // Interrupts off: the vector is not looked at.
        Assert.Equal(NvmeStatus.Success, Create(2 | 15 << 16, 1 | 200 << 16, bed.Ram.Alloc(4096)));
    }

    [Fact]
    public void CreateIoSubmissionQueueNeedsAnIoCompletionQueue()
    {
        var bed = Enabled();
        ulong sq = bed.Ram.Alloc(4096), cq = bed.Ram.Alloc(4096);
        NvmeStatus CreateSq(uint cdw10, uint cdw11) => bed.AdminCommand(AdminOpcode.CreateIoSubmissionQueue, 0, sq, 0, cdw10, cdw11).Outcome;
        Assert.Equal(NvmeStatus.CompletionQueueInvalid, CreateSq(1 | 15 << 16, 1 | 1 << 16));
        Assert.Equal(NvmeStatus.CompletionQueueInvalid, CreateSq(1 | 15 << 16, 1 | 0 << 16)); // the admin CQ
        Assert.Equal(NvmeStatus.Success, bed.AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, cq, 0, 1 | 15 << 16, 3 | 1 << 16).Outcome);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, CreateSq(1 | 15 << 16, 0 | 1 << 16)); // PC = 0
        Assert.Equal(NvmeStatus.InvalidQueueSize, CreateSq(1 | 0 << 16, 1 | 1 << 16));
        Assert.Equal(NvmeStatus.Success, CreateSq(1 | 15 << 16, 1 | 1 << 16));
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, CreateSq(1 | 15 << 16, 1 | 1 << 16));
        // Two submission queues may share a completion queue.
        sq = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.Success, CreateSq(2 | 15 << 16, 1 | 1 << 16));
    }

    [Fact]
    public void ACompletionQueueIsDeletedOnlyAfterItsSubmissionQueues()
    {
        var bed = Enabled();
        var pair = bed.CreateIoQueues(3);
        Assert.Equal(NvmeStatus.InvalidQueueDeletion, bed.AdminCommand(AdminOpcode.DeleteIoCompletionQueue, 0, 0, 0, 3).Outcome);
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, bed.AdminCommand(AdminOpcode.DeleteIoSubmissionQueue, 0, 0, 0, 0).Outcome);
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, bed.AdminCommand(AdminOpcode.DeleteIoSubmissionQueue, 0, 0, 0, 4).Outcome);
        Assert.Equal(NvmeStatus.Success, bed.AdminCommand(AdminOpcode.DeleteIoSubmissionQueue, 0, 0, 0, 3).Outcome);
        Assert.Equal(NvmeStatus.Success, bed.AdminCommand(AdminOpcode.DeleteIoCompletionQueue, 0, 0, 0, 3).Outcome);
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, bed.AdminCommand(AdminOpcode.DeleteIoCompletionQueue, 0, 0, 0, 3).Outcome);
        Assert.Equal(NvmeStatus.InvalidQueueIdentifier, bed.AdminCommand(AdminOpcode.DeleteIoCompletionQueue, 0, 0, 0, 0).Outcome);
        // The deleted queue's doorbell is ignored; the ID can be used again.
        pair.Submit(IoOpcode.Flush, 1);
        Assert.False(pair.HasCompletion);
        bed.CreateIoQueues(3);
    }

    [Fact]
    public void FeaturesAreStoredAndReadBack()
    {
        var bed = Enabled();
        Assert.Equal(1u, bed.GetFeature(FeatureId.VolatileWriteCache).Dword0);
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.VolatileWriteCache, 0).Outcome);
        Assert.Equal(0u, bed.GetFeature(FeatureId.VolatileWriteCache).Dword0);
        Assert.Equal(1u, bed.GetFeature(FeatureId.VolatileWriteCache, select: 1).Dword0); // default
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.InterruptCoalescing, 0x0A05).Outcome);
        Assert.Equal(0x0A05u, bed.GetFeature(FeatureId.InterruptCoalescing).Dword0);
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.AsynchronousEventConfiguration, 0x1FF).Outcome);
        Assert.Equal(0x1FFu, bed.GetFeature(FeatureId.AsynchronousEventConfiguration).Dword0);
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.TemperatureThreshold, 350).Outcome);
        Assert.Equal(350u, bed.GetFeature(FeatureId.TemperatureThreshold).Dword0);
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.InterruptVectorConfiguration, 3 | 1 << 16).Outcome);
        Assert.Equal(3u | 1 << 16, bed.GetFeature(FeatureId.InterruptVectorConfiguration, 3).Dword0);
        Assert.Equal(4u, bed.GetFeature(FeatureId.Arbitration, select: 3).Dword0); // changeable, not saveable
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.SetFeature(FeatureId.PowerManagement, 1).Outcome);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.SetFeature(0x0D, 1).Outcome); // host memory buffer
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.GetFeature(0x03).Outcome);   // LBA range type
        Assert.Equal(NvmeStatus.FeatureIdentifierNotSaveable,
            bed.AdminCommand(AdminOpcode.SetFeatures, 0, 0, 0, FeatureId.VolatileWriteCache | 1u << 31, 1).Outcome);
        // A controller reset brings the defaults back.
        bed.Disable();
        bed.Enable();
        Assert.Equal(1u, bed.GetFeature(FeatureId.VolatileWriteCache).Dword0);
        Assert.Equal(0u, bed.GetFeature(FeatureId.InterruptCoalescing).Dword0);
    }

    [Fact]
    public void AsynchronousEventRequestsAreHeldUpToTheLimitAndCanBeAborted()
    {
        var bed = Enabled();
        var cids = new ushort[4];
        for (int i = 0; i < 4; i++) cids[i] = bed.Admin.Submit(AdminOpcode.AsynchronousEventRequest);
        Assert.False(bed.Admin.HasCompletion);
        var refused = bed.AdminCommand(AdminOpcode.AsynchronousEventRequest);
        Assert.Equal(NvmeStatus.AsynchronousEventRequestLimitExceeded, refused.Outcome);
        // Abort of a held request: it completes with Command Abort Requested, the Abort with dword 0 bit 0 clear.
        ushort abort = bed.Admin.Submit(AdminOpcode.Abort, 0, 0, 0, (uint)cids[2] << 16);
        Assert.True(bed.Admin.TryPoll(out var aborted));
        Assert.True(bed.Admin.TryPoll(out var done));
        bed.Admin.ReleaseCompletions();
        Assert.Equal(cids[2], aborted.CommandId);
        Assert.Equal(NvmeStatus.CommandAbortRequested, aborted.Outcome);
        Assert.Equal(abort, done.CommandId);
        Assert.Equal(0u, done.Dword0 & 1);
        // Anything else is not aborted.
        var notAborted = bed.AdminCommand(AdminOpcode.Abort, 0, 0, 0, 0x1234u << 16);
        Assert.Equal(NvmeStatus.Success, notAborted.Outcome);
        Assert.Equal(1u, notAborted.Dword0 & 1);
        notAborted = bed.AdminCommand(AdminOpcode.Abort, 0, 0, 0, 1 | (uint)cids[0] << 16);
        Assert.Equal(1u, notAborted.Dword0 & 1);
        // One slot is free again.
        bed.Admin.Submit(AdminOpcode.AsynchronousEventRequest);
        Assert.False(bed.Admin.HasCompletion);
    }

    [Fact]
    public void AHeldEventRequestIsDroppedByAReset()
    {
        var bed = Enabled();
        bed.Admin.Submit(AdminOpcode.AsynchronousEventRequest);
        bed.Disable();
        var admin = bed.Enable();
        ulong data = bed.Ram.Alloc(4096);
        var c = bed.AdminCommand(AdminOpcode.Identify, 0, data, 0, 1);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        Assert.False(admin.HasCompletion);
    }

    [Fact]
    public void LogPagesAreValidAndTheSmartPageCountsCommands()
    {
        var bed = Bed(Raw());
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        for (int i = 0; i < 3; i++) Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 8, data).Outcome);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Write, 8, 1, data).Outcome);
        ulong log = bed.Ram.Alloc(4096);
        // SMART: 512 bytes = 128 dwords.
        var c = bed.AdminCommand(AdminOpcode.GetLogPage, 0xFFFF_FFFF, log, 0, 0x02 | 127u << 16);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        var smart = bed.Ram.Read(log, 512);
        Assert.Equal(0, smart[0]);                                                       // no critical warning
        Assert.True(BinaryPrimitives.ReadUInt16LittleEndian(smart.AsSpan(1)) > 273);     // kelvins
        Assert.Equal(100, smart[3]);                                                     // spare
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(smart.AsSpan(32)));    // 24 blocks read: one data unit
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(smart.AsSpan(64)));    // host reads
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(smart.AsSpan(80)));    // host writes
        // Firmware slot: slot 1 active, revision "1.0".
        c = bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x03 | 127u << 16);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        var slots = bed.Ram.Read(log, 16);
        Assert.Equal(1, slots[0]);
        Assert.Equal("1.0     ", Encoding.ASCII.GetString(slots, 8, 8));
        // Error information: one empty entry; a longer read gets zeros past it.
        bed.Ram.Write(log, Enumerable.Repeat((byte)0xEE, 256).ToArray());
        c = bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x01 | 63u << 16);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        Assert.Equal(new byte[256], bed.Ram.Read(log, 256));
        // An offset into the page (LPOL), and the checks.
        c = bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x02 | 1u << 16, 0, 64);
        Assert.Equal(NvmeStatus.Success, c.Outcome);
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(bed.Ram.Read(log, 8)));
        Assert.Equal(NvmeStatus.InvalidLogPage, bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x05 | 1023u << 16).Outcome);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x02 | 1u << 16, 0, 2).Outcome);
        Assert.Equal(NvmeStatus.InvalidFieldInCommand, bed.AdminCommand(AdminOpcode.GetLogPage, 0, log, 0, 0x02 | 1u << 16, 0, 512).Outcome);
    }
}
