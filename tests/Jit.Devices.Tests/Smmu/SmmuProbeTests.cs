using Jit.Devices.Smmu;

namespace Jit.Devices.Tests.Smmu;

/// <summary>The register file and the bring-up sequence of Linux's arm-smmu-v3 driver.</summary>
public sealed class SmmuProbeTests : IDisposable
{
    private readonly SmmuTestBed bed = new();

    public void Dispose() => bed.Dispose();

    [Fact]
    public void IdRegistersAdvertiseWhatLinuxNeeds()
    {
        uint idr0 = bed.R32(SmmuRegs.Idr0);
        Assert.Equal(1u, idr0 & 1);                       // S2P
        Assert.Equal(1u, (idr0 >> 1) & 1);                // S1P
        Assert.Equal(2u, (idr0 >> 2) & 3);                // TTF = AArch64
        Assert.Equal(1u, (idr0 >> 4) & 1);                // COHACC
        Assert.Equal(0u, (idr0 >> 6) & 3);                // HTTU
        Assert.Equal(0u, (idr0 >> 9) & 1);                // Hyp
        Assert.Equal(0u, (idr0 >> 10) & 1);               // ATS
        Assert.Equal(1u, (idr0 >> 12) & 1);               // ASID16
        Assert.Equal(1u, (idr0 >> 13) & 1);               // MSI
        Assert.Equal(0u, (idr0 >> 16) & 1);               // PRI
        Assert.Equal(1u, (idr0 >> 18) & 1);               // VMID16
        Assert.Equal(1u, (idr0 >> 19) & 1);               // CD2L
        Assert.Equal(2u, (idr0 >> 21) & 3);               // TTENDIAN = little-endian
        Assert.Equal(1u, (idr0 >> 24) & 3);               // STALL_MODEL = no stalls
        Assert.Equal(1u, (idr0 >> 27) & 3);               // ST_LEVEL = 2-level

        uint idr1 = bed.R32(SmmuRegs.Idr1);
        Assert.Equal(0u, idr1 & (7u << 28));              // TABLES_PRESET, QUEUES_PRESET, REL: Linux refuses "embedded" SMMUs
        Assert.True(((idr1 >> 21) & 0x1F) > 6);           // CMDQS above Linux's batch size
        Assert.Equal(16u, idr1 & 0x3F);                   // SIDSIZE
        Assert.Equal(8u, (idr1 >> 6) & 0x1F);             // SSIDSIZE

        Assert.Equal(1u, (bed.R32(SmmuRegs.Idr3) >> 10) & 1); // RIL: range invalidation, so Linux sends one TLBI per unmap

        uint idr5 = bed.R32(SmmuRegs.Idr5);
        Assert.Equal(5u, idr5 & 7);                       // OAS = 48 bits
        Assert.Equal(7u, (idr5 >> 4) & 7);                // GRAN4K, GRAN16K, GRAN64K
        Assert.Equal(0u, bed.R32(SmmuRegs.Iidr));
        Assert.Equal(0u, bed.R32(SmmuRegs.Aidr));         // SMMUv3.0
    }

    [Fact]
    public void LinuxBringUpEnablesEverythingWithAcknowledgements()
    {
        bed.Init();
        Assert.Equal(SmmuRegs.Cr0SmmuEn | SmmuRegs.Cr0EventqEn | SmmuRegs.Cr0CmdqEn, bed.R32(SmmuRegs.Cr0Ack));
        Assert.Equal(SmmuRegs.IrqGerror | SmmuRegs.IrqEventq, bed.R32(SmmuRegs.IrqCtrlAck));
        Assert.Equal(0u, bed.R32(SmmuRegs.Gerror) ^ bed.R32(SmmuRegs.Gerrorn));
        Assert.Equal(bed.StreamTable | SmmuRegs.QueueRa, bed.R64(SmmuRegs.StrtabBase));
        Assert.Equal(1u << 16 | 8u << 6 | 16, bed.R32(SmmuRegs.StrtabBaseCfg));
        // Four commands went through (CFGI_ALL, SYNC, TLBI_NSNH_ALL, SYNC), each SYNC's MSI zeroing its own slot.
        Assert.Equal(4u, bed.R32(SmmuRegs.CmdqCons));
        Assert.Empty(bed.Its.Messages);
    }

    [Fact]
    public void DeviceBehindTranslatingStage1StreamReadsThroughItsIova()
    {
        bed.Init();
        const uint sid = 0x0008; // 00:01.0
        ulong buffer = bed.Ram.Alloc(4096);
        bed.Ram.Write(buffer, "hello, smmu"u8);
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        const ulong iova = 0xFFFF_F000;
        tables.Map(iova, buffer, SmmuRegs.S1ReadWrite);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(asid: 1), tables.RootAddress);
        bed.WriteSte(sid, SmmuTestBed.SteDword0(0b101, cd), d1: 2 /* S1DSS = SSID0 */);

        var port = bed.Smmu.PortFor(sid);
        var read = new byte[11];
        Assert.Equal(Runtime.Memory.GuestMemoryStatus.Ok, port.Read(iova, read));
        Assert.Equal("hello, smmu"u8.ToArray(), read);
        Assert.Empty(bed.DrainEvents());
    }

    [Fact]
    public void SixtyFourBitRegistersTakeHalvesAndOddSizesAreRejected()
    {
        Assert.True(bed.Smmu.Write(SmmuRegs.CmdqBase, 4, 0x4000_1005));
        Assert.True(bed.Smmu.Write(SmmuRegs.CmdqBase + 4, 4, 0x4000_0000));
        Assert.Equal(0x4000_0000_4000_1005UL, bed.R64(SmmuRegs.CmdqBase));
        Assert.False(bed.Smmu.Write(SmmuRegs.Cr0, 8, 0));
        Assert.False(bed.Smmu.Write(SmmuRegs.Cr0, 2, 0));
        Assert.False(bed.Smmu.Read(SmmuRegs.Cr0 + 1, 1, out _));
        Assert.False(bed.Smmu.Read(SmmuRegs.StrtabBase + 2, 4, out _));
        Assert.True(bed.Smmu.Read(0x1234 & ~3UL, 4, out ulong unallocated));
        Assert.Equal(0UL, unallocated);
    }

    [Fact]
    public void GbpaFieldsChangeOnlyWithUpdate()
    {
        uint reset = bed.R32(SmmuRegs.Gbpa);
        bed.W32(SmmuRegs.Gbpa, SmmuRegs.GbpaAbort);
        Assert.Equal(reset, bed.R32(SmmuRegs.Gbpa));
        bed.W32(SmmuRegs.Gbpa, SmmuRegs.GbpaUpdate | SmmuRegs.GbpaAbort);
        Assert.Equal(SmmuRegs.GbpaAbort, bed.R32(SmmuRegs.Gbpa)); // UPDATE reads 0: the update completed
    }

    [Fact]
    public void TablesAndQueueBasesAreFrozenWhileEnabled()
    {
        bed.Init();
        ulong strtab = bed.R64(SmmuRegs.StrtabBase), cmdq = bed.R64(SmmuRegs.CmdqBase), evtq = bed.R64(SmmuRegs.EventqBase);
        bed.W64(SmmuRegs.StrtabBase, 0x1000);
        bed.W64(SmmuRegs.CmdqBase, 0x2000);
        bed.W64(SmmuRegs.EventqBase, 0x3000);
        Assert.Equal(strtab, bed.R64(SmmuRegs.StrtabBase));
        Assert.Equal(cmdq, bed.R64(SmmuRegs.CmdqBase));
        Assert.Equal(evtq, bed.R64(SmmuRegs.EventqBase));
    }

    [Fact]
    public void DeviceTreeNodeDescribesTheBinding()
    {
        var node = SmmuV3.DeviceTreeNodeAt(0x0905_0000);
        Assert.Equal("iommu@9050000", node.Name);
        Assert.Equal("arm,smmu-v3", node.Compatible);
        Assert.Equal(0x20000UL, node.RegSize);
        Assert.Equal(1u, node.IommuCells);
        Assert.Equal(["eventq", "gerror", "cmdq-sync"], node.InterruptNames);
        Assert.True(node.DmaCoherent);
        Assert.Equal(SmmuTestBed.MmioBase, bed.Smmu.DeviceTreeNode.RegBase);
    }
}
