using Jit.Devices.Smmu;
using Jit.Devices.Tests.Virtio;
using Jit.Devices.Virtio;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>A virtio-pci function behind the SMMU: its DMA and its MSI-X writes go through its stream (requester ID 00:01.0 = 8).</summary>
public sealed class SmmuPciTests : IDisposable
{
    private const uint StreamId = 0x08;
    private const ushort Asid = 1;
    private SmmuTestBed smmu = null!;
    private readonly VirtioTestBed virtio;
    private readonly TableBuilder tables;

    public SmmuPciTests()
    {
        virtio = new VirtioTestBed(() => new VirtioEntropy(new SeededEntropy(5)), bed =>
        {
            smmu = new SmmuTestBed(ram: bed.Ram, its: bed.Msi);
            return (smmu.Smmu.PortFor(StreamId), smmu.Smmu.MsiRemapper(bed.Msi));
        });
        smmu.Init();
        // Linux's identity-like setup for this test: IOVA = PA over RAM in 2 MiB blocks, and the ITS doorbell page.
        tables = new TableBuilder(virtio.Ram, startLevel: 0);
        for (ulong pa = GuestRam.Base; pa < GuestRam.Base + GuestRam.Size; pa += 2 << 20)
            tables.Map(pa, pa, SmmuRegs.S1ReadWrite, level: 2);
        tables.Map(RecordingMsiSink.Doorbell & ~0xFFFUL, RecordingMsiSink.Doorbell & ~0xFFFUL, SmmuRegs.S1ReadWrite);
        ulong cd = smmu.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        smmu.WriteSte(StreamId, SmmuTestBed.SteDword0(0b101, cd));
        virtio.Probe();
    }

    public void Dispose()
    {
        smmu.Dispose();
        virtio.Dispose();
    }

    [Fact]
    public void DeviceDmaAndMsiGoThroughItsStream()
    {
        // Behind an IOMMU the function says so, and the driver accepts it (Linux's virtio core then maps buffers).
        Assert.NotEqual(0UL, virtio.OfferedFeatures() & VirtioFeatures.AccessPlatform);
        var q = virtio.Start(VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform, queues: 1)[0];
        ulong buffer = virtio.Ram.Alloc(64);
        q.Post(new Virtio.Buffer(buffer, 64, true));
        q.Kick();
        var (_, written) = q.TakeUsed();
        Assert.Equal(64u, written);
        Assert.NotEqual(new byte[64], virtio.Ram.Read(buffer, 64));
        Assert.Equal(1, virtio.Msi.Count(0x101));
        Assert.True(smmu.Smmu.TlbStatistics.Hits > 0);
        Assert.Empty(smmu.DrainEvents());
    }

    [Fact]
    public void DmaIntoAReadOnlyMappingIsRefusedAndRecorded()
    {
        var q = virtio.Start(VirtioFeatures.Version1, queues: 1)[0];
        ulong block = virtio.Ram.Alloc(2 << 20, 2 << 20);
        tables.Map(block, block, SmmuRegs.S1ReadWrite | SmmuRegs.ApReadOnly, level: 2);
        smmu.TlbiVa(Asid, block);
        q.Post(new Virtio.Buffer(block + 0x100, 64, true));
        q.Kick();
        Assert.Equal(new byte[64], virtio.Ram.Read(block + 0x100, 64));
        var e = smmu.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FPermission, e.Type);
        Assert.Equal(StreamId, e.StreamId);
        Assert.False(e.Read);
        Assert.Equal(block + 0x100, e.InputAddress);
    }

    [Fact]
    public void MsiToAnUnmappedDoorbellIsDropped()
    {
        virtio.Ram.W64(tables.LeafAddress(RecordingMsiSink.Doorbell), 0); // unmap the doorbell page
        smmu.TlbiVa(Asid, RecordingMsiSink.Doorbell);
        var q = virtio.Start(VirtioFeatures.Version1, queues: 1)[0];
        ulong buffer = virtio.Ram.Alloc(16);
        q.Post(new Virtio.Buffer(buffer, 16, true));
        q.Kick();
        q.TakeUsed();
        Assert.Equal(0, virtio.Msi.Count(0x101));
        var e = smmu.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FTranslation, e.Type);
        Assert.Equal(RecordingMsiSink.Doorbell, e.InputAddress);
    }
}
