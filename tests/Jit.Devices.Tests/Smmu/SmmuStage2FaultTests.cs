using Jit.Devices.Smmu;
using Jit.Devices.Tests.Virtio;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>
/// The hypervisor's stage 2 behind a guest's SMMU: a DMA whose output (after the guest's stage 1, or in bypass)
/// is not the domain's RAM — a hole, a device's window, beyond RAM, beyond the IPA size — is refused before any
/// byte moves and recorded in the guest's event queue as a stage 2 fault with the IPA.
/// </summary>
public sealed class SmmuStage2FaultTests : IDisposable
{
    private const uint Sid = 0x0008; // 00:01.0
    private const ulong Hole = 0x0800_0000, BeyondRam = GuestRam.Base + GuestRam.Size;
    private readonly SmmuTestBed bed = new();

    public void Dispose() => bed.Dispose();

    private static void AssertStage2(EventRecord e, SmmuEventType type, ulong input, ulong ipa, bool read)
    {
        Assert.Equal((byte)type, e.Type);
        Assert.Equal(Sid, e.StreamId);
        Assert.True(e.Stage2);
        Assert.Equal(2, e.Class); // the transaction's own address
        Assert.Equal(read, e.Read);
        Assert.Equal(input, e.InputAddress);
        Assert.Equal(ipa & ~0xFFFUL, e.Ipa);
    }

    [Theory]
    [InlineData(Hole + 0x10)]
    [InlineData(BeyondRam)]
    [InlineData(0x8_0000_0000UL)]
    public void BypassedDmaOutsideRamIsAStage2TranslationFault(ulong ipa)
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b100));
        var port = bed.Smmu.PortFor(Sid);
        Assert.Equal(GuestMemoryStatus.NotMapped, port.Write(ipa, [1, 2, 3, 4]));
        AssertStage2(bed.SingleEvent(), SmmuEventType.FTranslation, ipa, ipa, read: false);
        Assert.Equal(GuestMemoryStatus.NotMapped, port.Read(ipa, new byte[8]));
        AssertStage2(bed.SingleEvent(), SmmuEventType.FTranslation, ipa, ipa, read: true);
        Assert.All(bed.Observed, e => Assert.True(e.Stage2));
    }

    [Fact]
    public void BeyondTheIpaSizeIsAnAddressSizeFault()
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b100));
        ulong ipa = P2m.IpaLimit + 0x2000;
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(ipa, [1]));
        AssertStage2(bed.SingleEvent(), SmmuEventType.FAddrSize, ipa, ipa, read: false);
    }

    [Fact]
    public void Stage1OutputOutsideRamIsAStage2FaultNamingTheIovaAndTheIpa()
    {
        bed.Init();
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(7, record: false), tables.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        const ulong iova = 0x0000_1234_0000_0000;
        tables.Map(iova, Hole, SmmuRegs.S1ReadWrite);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(iova + 0x40, new byte[16]));
        // Recorded though the CD says not to record its faults: stage 2 is not the guest's to hide.
        AssertStage2(bed.SingleEvent(), SmmuEventType.FTranslation, iova + 0x40, Hole, read: false);
    }

    [Fact]
    public void AWriteCrossingFromRamIntoAHoleTouchesNothing()
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b100));
        ulong last = BeyondRam - 0x1000;
        var before = bed.Ram.Read(last, 0x1000);
        var data = Enumerable.Repeat((byte)0xA5, 0x1800).ToArray();
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(last + 0x800, data));
        Assert.Equal(before, bed.Ram.Read(last, 0x1000));
        AssertStage2(bed.SingleEvent(), SmmuEventType.FTranslation, BeyondRam, BeyondRam, read: false);
    }

    [Fact]
    public void AnMsiTheItsDoesNotDecodeOutsideRamIsDroppedAndRecorded()
    {
        bed.Init();
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b100));
        var msi = bed.Smmu.MsiRemapper(bed.Its);
        Assert.False(msi.Deliver(Hole + 0x40, 0x1234, Sid));
        AssertStage2(bed.SingleEvent(), SmmuEventType.FTranslation, Hole + 0x40, Hole, read: false);
        Assert.True(msi.Deliver(RecordingMsiSink.Doorbell, 7, Sid));
        Assert.Empty(bed.DrainEvents());
        Assert.Equal(1, bed.Its.Count(7));
    }

    [Fact]
    public void WithTheEventQueueOffTheFaultIsOnlyObserved()
    {
        bed.Init(enable: false);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, SmmuRegs.Cr0CmdqEn);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Write(Hole, [1]));
        Assert.Empty(bed.DrainEvents());
        var e = Assert.Single(bed.Observed);
        Assert.True(e.Stage2);
        Assert.Equal(Hole, e.Ipa);
    }
}
