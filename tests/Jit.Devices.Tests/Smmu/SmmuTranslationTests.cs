using Jit.Devices.Smmu;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>Bypass, abort, stage 1, stage 2 and nested translation, and the fault records each failure leaves.</summary>
public sealed class SmmuTranslationTests : IDisposable
{
    private const uint Sid = 0x0010; // 00:02.0
    private const ushort Asid = 7, Vmid = 3;
    private readonly SmmuTestBed bed = new();

    public void Dispose() => bed.Dispose();

    private (TableBuilder Tables, ulong Cd) Stage1Stream(uint sid = Sid, ushort asid = Asid, bool record = true)
    {
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(asid, record: record), tables.RootAddress);
        bed.WriteSte(sid, SmmuTestBed.SteDword0(0b101, cd));
        return (tables, cd);
    }

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)(i * 7 + seed)).ToArray();

    // ---- SMMU disabled: SMMU_GBPA ----

    [Fact]
    public void DisabledSmmuBypassesByDefault()
    {
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(buffer, [1, 2, 3]));
        Assert.Equal(new byte[] { 1, 2, 3 }, bed.Ram.Read(buffer, 3));
    }

    [Fact]
    public void DisabledSmmuWithGbpaAbortRefusesWithoutAnEvent()
    {
        bed.Init(enable: false);
        bed.W32(SmmuRegs.Gbpa, SmmuRegs.GbpaUpdate | SmmuRegs.GbpaAbort);
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(buffer, [1, 2, 3]));
        Assert.Equal(new byte[3], bed.Ram.Read(buffer, 3));
        Assert.Empty(bed.DrainEvents());
        Assert.Empty(bed.Observed);
    }

    [Fact]
    public void AbortAtResetCanBeAskedFor()
    {
        using var aborting = new SmmuTestBed(abortWhenDisabled: true);
        Assert.Equal(GuestMemoryStatus.NotMapped, aborting.Smmu.PortFor(Sid).Read(aborting.Ram.Alloc(4096), new byte[4]));
    }

    // ---- STE.Config ----

    [Fact]
    public void BypassSteTranslatesNothing()
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b100));
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(buffer + 4094, [9, 8, 7, 6]));
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, bed.Ram.Read(buffer + 4094, 4));
    }

    [Fact]
    public void AbortSteRefusesSilently()
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b000));
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(buffer, [1]));
        Assert.Equal(new byte[1], bed.Ram.Read(buffer, 1));
        Assert.Empty(bed.DrainEvents());
    }

    [Fact]
    public void S1dssTerminateDisablesTheStreamForTrafficWithoutSubstream()
    {
        bed.Init();
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cds = bed.Ram.Alloc(64 * 4, 256);
        bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress, cds);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cds, cdMax: 2), d1: 0 /* S1DSS = terminate */);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x1000, new byte[4]));
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FStreamDisabled, e.Type);
        Assert.Equal(Sid, e.StreamId);
        Assert.False(e.SubstreamValid);
    }

    [Fact]
    public void S1dssBypassLetsTrafficWithoutSubstreamThrough()
    {
        bed.Init();
        ulong cds = bed.Ram.Alloc(64 * 4, 256);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cds, cdMax: 2), d1: 1);
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(buffer, [5]));
        Assert.Equal(5, bed.Ram.Read(buffer, 1)[0]);
    }

    // ---- stage 1 ----

    [Fact]
    public void Stage1SplitsAnAccessAcrossPagesThatLandApart()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        ulong a = bed.Ram.Alloc(4096), gap = bed.Ram.Alloc(4096), b = bed.Ram.Alloc(4096);
        const ulong iova = 0x0000_7FFF_0000_0000;
        tables.Map(iova, b, SmmuRegs.S1ReadWrite);          // the first IOVA page lands on the later frame
        tables.Map(iova + 0x1000, a, SmmuRegs.S1ReadWrite);
        var data = Pattern(6000, 1);
        var port = bed.Smmu.PortFor(Sid);
        Assert.Equal(GuestMemoryStatus.Ok, port.Write(iova + 100, data));
        Assert.Equal(data[..3996], bed.Ram.Read(b + 100, 3996));
        Assert.Equal(data[3996..], bed.Ram.Read(a, 6000 - 3996));
        Assert.Equal(new byte[4096], bed.Ram.Read(gap, 4096));
        var back = new byte[6000];
        Assert.Equal(GuestMemoryStatus.Ok, port.Read(iova + 100, back));
        Assert.Equal(data, back);
    }

    [Fact]
    public void Stage1BlockMapsTwoMegabytes()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        ulong block = bed.Ram.Alloc(2 << 20, 2 << 20);
        tables.Map(0x4020_0000, block, SmmuRegs.S1ReadWrite, level: 2);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(0x4020_0000 + 0x1F_FFF0, Pattern(16, 3)));
        Assert.Equal(Pattern(16, 3), bed.Ram.Read(block + 0x1F_FFF0, 16));
    }

    [Fact]
    public void WriteToReadOnlyPageFaultsWithPermissionRecordAndTouchesNothing()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        ulong writable = bed.Ram.Alloc(4096), readOnly = bed.Ram.Alloc(4096);
        const ulong iova = 0x10_0000;
        tables.Map(iova, writable, SmmuRegs.S1ReadWrite);
        tables.Map(iova + 0x1000, readOnly, SmmuRegs.S1ReadWrite | SmmuRegs.ApReadOnly);
        var port = bed.Smmu.PortFor(Sid);
        // Straddles both pages: the fault on the second must keep the first from being written.
        Assert.Equal(GuestMemoryStatus.ReadOnly, port.Write(iova + 0xFF0, Pattern(32, 9)));
        Assert.Equal(new byte[4096], bed.Ram.Read(writable, 4096));
        Assert.Equal(new byte[4096], bed.Ram.Read(readOnly, 4096));
        Assert.Equal(GuestMemoryStatus.Ok, port.Read(iova + 0x1000, new byte[8]));
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FPermission, e.Type);
        Assert.Equal(Sid, e.StreamId);
        Assert.False(e.Read);
        Assert.False(e.Privileged);
        Assert.False(e.Stage2);
        Assert.Equal(2, e.Class); // CLASS = IN
        Assert.Equal(iova + 0x1000, e.InputAddress);
        Assert.Equal(1, bed.Its.Count(0x8000)); // the event queue's MSI
    }

    private const ulong GuestRamBase = Virtio.GuestRam.Base;

    [Fact]
    public void UnprivilegedAccessToPrivilegedPageFaults()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        ulong page = bed.Ram.Alloc(4096);
        tables.Map(0x2000, page, SmmuRegs.Af | SmmuRegs.NotGlobal); // AP[1] = 0: EL1 only
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x2000, new byte[4]));
        Assert.Equal((byte)SmmuEventType.FPermission, bed.SingleEvent().Type);
    }

    [Fact]
    public void PrivcfgMakesTheStreamPrivileged()
    {
        bed.Init();
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd), d1: 3UL << 48);
        ulong page = bed.Ram.Alloc(4096);
        tables.Map(0x2000, page, SmmuRegs.Af | SmmuRegs.NotGlobal);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(0x2000, [1]));
        tables.Map(0x3000, page, SmmuRegs.Af | SmmuRegs.NotGlobal | SmmuRegs.ApReadOnly);
        Assert.Equal(GuestMemoryStatus.ReadOnly, bed.Smmu.PortFor(Sid).Write(0x3000, [1]));
        Assert.True(bed.SingleEvent().Privileged);
    }

    [Fact]
    public void TranslationFaultRecordNamesStreamAddressAndDirection()
    {
        bed.Init();
        Stage1Stream();
        const ulong iova = 0x1234_5678_9000;
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(iova + 0x10, new byte[16]));
        var e = bed.SingleEvent();
        Assert.Equal(0x10, e.Type);
        Assert.Equal(Sid, e.StreamId);
        Assert.False(e.SubstreamValid);
        Assert.True(e.Read);
        Assert.False(e.Instruction);
        Assert.False(e.Stage2);
        Assert.Equal(2, e.Class);
        Assert.Equal(iova + 0x10, e.InputAddress);
        Assert.Equal(0UL, e.D3);
    }

    [Fact]
    public void AddressOutsideTheInputRangeIsATranslationFault()
    {
        bed.Init();
        Stage1Stream();
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x0001_0000_0000_0000, new byte[4]));
        Assert.Equal(0x10, bed.SingleEvent().Type);
        // TTB1 is disabled (EPD1) in Linux's CDs.
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0xFFFF_FFFF_FFFF_F000, new byte[4]));
        Assert.Equal(0x10, bed.SingleEvent().Type);
    }

    [Fact]
    public void AccessFlagClearFaultsBecauseHardwareDoesNotSetIt()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        tables.Map(0x5000, bed.Ram.Alloc(4096), SmmuRegs.ApUnprivileged | SmmuRegs.NotGlobal);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x5000, new byte[4]));
        Assert.Equal(0x12, bed.SingleEvent().Type);
    }

    [Fact]
    public void OutputBeyondIpsIsAnAddressSizeFault()
    {
        bed.Init();
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid, ips: 0), tables.RootAddress); // IPS = 32 bits
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        tables.Map(0x6000, 0x1_0000_0000, SmmuRegs.S1ReadWrite);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x6000, new byte[4]));
        Assert.Equal(0x11, bed.SingleEvent().Type);
    }

    [Fact]
    public void FaultsAreNotRecordedWhenTheCdSaysSo()
    {
        bed.Init();
        Stage1Stream(record: false);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x9000, new byte[4]));
        Assert.Empty(bed.DrainEvents());
        Assert.Single(bed.Observed); // the hypervisor still hears of it
    }

    [Fact]
    public void TableOutsideMemoryIsAWalkAbort()
    {
        bed.Init();
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), 0x10_0000_0000); // TTB0 far beyond RAM
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0, new byte[4]));
        var e = bed.SingleEvent();
        Assert.Equal(0x0B, e.Type);
        Assert.Equal(0x10_0000_0000UL, e.FetchAddress);
    }

    [Fact]
    public void SixtyFourKilobyteGranuleTranslates()
    {
        bed.Init();
        // 64 KiB granule, 48-bit VA: level 1 (64 entries), 2, 3; a 64 KiB page at level 3.
        ulong l1 = bed.Ram.Alloc(65536, 65536), l2 = bed.Ram.Alloc(65536, 65536), l3 = bed.Ram.Alloc(65536, 65536);
        ulong page = bed.Ram.Alloc(65536, 65536);
        const ulong iova = 0x0000_1234_5670_0000;
        bed.Ram.W64(l1 + ((iova >> 42) & 63) * 8, l2 | 3);
        bed.Ram.W64(l2 + ((iova >> 29) & 8191) * 8, l3 | 3);
        bed.Ram.W64(l3 + ((iova >> 16) & 8191) * 8, page | SmmuRegs.S1ReadWrite | 3);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid, tg0: 1), l1);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(iova + 0xFFF0, Pattern(16, 5)));
        Assert.Equal(Pattern(16, 5), bed.Ram.Read(page + 0xFFF0, 16));
    }

    // ---- stage 2 and nested ----

    /// <summary>Stage 2 maps IPA 0x80_0000_0000 + x to the guest RAM's x, so every IPA differs from its PA.</summary>
    private const ulong IpaOffset = 0x40_0000_0000;

    private TableBuilder Stage2(ulong ramOffsetBytes = 16 << 20, ulong s2Attributes = SmmuRegs.S2ReadWrite)
    {
        var s2 = new TableBuilder(bed.Ram, startLevel: 1);
        for (ulong pa = GuestRamBase; pa < GuestRamBase + ramOffsetBytes; pa += 2 << 20)
            s2.Map(pa + IpaOffset, pa, s2Attributes, level: 2);
        return s2;
    }

    [Fact]
    public void Stage2OnlyTranslatesIpas()
    {
        bed.Init();
        var s2 = Stage2();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b110), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(buffer + IpaOffset, [4, 2]));
        Assert.Equal(new byte[] { 4, 2 }, bed.Ram.Read(buffer, 2));
        // The IPA that is the PA itself is not mapped at stage 2.
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(buffer, [1]));
        var e = bed.SingleEvent();
        Assert.Equal(0x10, e.Type);
        Assert.True(e.Stage2);
        Assert.Equal(2, e.Class);
        Assert.Equal(buffer, e.InputAddress);
        Assert.Equal(buffer, e.Ipa);
    }

    [Fact]
    public void Stage2PermissionsAreS2ap()
    {
        bed.Init();
        var s2 = Stage2(s2Attributes: SmmuRegs.Af | SmmuRegs.S2Read);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b110), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        ulong buffer = bed.Ram.Alloc(4096);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Read(buffer + IpaOffset, new byte[4]));
        Assert.Equal(GuestMemoryStatus.ReadOnly, bed.Smmu.PortFor(Sid).Write(buffer + IpaOffset, [1]));
        var e = bed.SingleEvent();
        Assert.Equal(0x13, e.Type);
        Assert.True(e.Stage2);
        Assert.Equal(buffer + IpaOffset, e.Ipa);
    }

    [Fact]
    public void NestedWalksStage1TablesThroughStage2()
    {
        bed.Init();
        var s2 = Stage2();
        // Stage 1 tables and the CD live in RAM but are named by their IPAs.
        var s1 = new TableBuilder(bed.Ram, startLevel: 0, visible: pa => pa + IpaOffset);
        ulong buffer = bed.Ram.Alloc(4096);
        const ulong iova = 0xABC_0000;
        s1.Map(iova, buffer + IpaOffset, SmmuRegs.S1ReadWrite);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), s1.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b111, cd + IpaOffset), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(iova + 8, Pattern(8, 2)));
        Assert.Equal(Pattern(8, 2), bed.Ram.Read(buffer + 8, 8));
        Assert.Empty(bed.DrainEvents());
    }

    [Fact]
    public void NestedStage2FaultOnTableFetchSaysTt()
    {
        bed.Init();
        var s2 = Stage2();
        var s1 = new TableBuilder(bed.Ram, startLevel: 0, visible: pa => pa + IpaOffset);
        const ulong iova = 0xABC_0000;
        s1.Map(iova, bed.Ram.Alloc(4096) + IpaOffset, SmmuRegs.S1ReadWrite);
        // Point the level 2 table descriptor at an IPA stage 2 does not map.
        ulong level1Entry = s1.LeafAddress(iova, level: 1);
        const ulong unmappedIpa = 0x7F_0000_0000;
        bed.Ram.W64(level1Entry, unmappedIpa | SmmuRegs.Table);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), s1.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b111, cd + IpaOffset), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(iova, [1]));
        var e = bed.SingleEvent();
        Assert.Equal(0x10, e.Type);
        Assert.True(e.Stage2);
        Assert.Equal(1, e.Class); // CLASS = TT
        Assert.Equal(iova, e.InputAddress);
        Assert.Equal(unmappedIpa, e.Ipa & ~0x1FFFFFUL);
        Assert.False(e.Read);
    }

    [Fact]
    public void NestedStage2FaultOnCdFetchSaysCd()
    {
        bed.Init();
        var s2 = Stage2();
        const ulong unmappedCd = 0x7F_0000_0040;
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b111, unmappedCd), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(0x1000, new byte[4]));
        var e = bed.SingleEvent();
        Assert.Equal(0x10, e.Type);
        Assert.True(e.Stage2);
        Assert.Equal(0, e.Class); // CLASS = CD
        Assert.Equal(unmappedCd & ~0xFFFUL, e.Ipa);
    }

    [Fact]
    public void NestedStage1OutputIsCheckedAtStage2()
    {
        bed.Init();
        var s2 = Stage2();
        var s1 = new TableBuilder(bed.Ram, startLevel: 0, visible: pa => pa + IpaOffset);
        ulong buffer = bed.Ram.Alloc(4096);
        s1.Map(0x1000, buffer, SmmuRegs.S1ReadWrite); // the PA, not the IPA: stage 2 does not map it
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), s1.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b111, cd + IpaOffset), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(0x1000, [1]));
        Assert.Equal(new byte[1], bed.Ram.Read(buffer, 1));
        var e = bed.SingleEvent();
        Assert.True(e.Stage2);
        Assert.Equal(2, e.Class);
        Assert.Equal(0x1000UL, e.InputAddress);
        Assert.Equal(buffer, e.Ipa);
    }

    [Fact]
    public void MsiFromADeviceIsTranslatedByItsStream()
    {
        bed.Init();
        var (tables, _) = Stage1Stream();
        // Linux maps the ITS doorbell page at an IOVA and programs that IOVA as the MSI address.
        const ulong msiIova = 0x0800_0000;
        tables.Map(msiIova, RecordingMsiSink.Doorbell & ~0xFFFUL, SmmuRegs.S1ReadWrite);
        var remapper = bed.Smmu.MsiRemapper(bed.Its);
        Assert.True(remapper.Deliver(msiIova | (RecordingMsiSink.Doorbell & 0xFFF), 0x42, Sid));
        Assert.Contains((RecordingMsiSink.Doorbell, 0x42u, Sid), bed.Its.Messages);
        // The untranslated doorbell address is not mapped for this stream: dropped and recorded.
        Assert.False(remapper.Deliver(RecordingMsiSink.Doorbell, 0x43, Sid));
        Assert.Equal(0, bed.Its.Count(0x43));
        var e = bed.SingleEvent();
        Assert.Equal(0x10, e.Type);
        Assert.False(e.Read);
    }
}
