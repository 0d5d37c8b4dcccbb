using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Platform;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>The platform as data: every device placed once, nowhere two at the same address or interrupt.</summary>
public class PlatformPlanTests
{
    private static IEnumerable<(string Name, ulong Base, ulong Size)> Ranges(PlatformPlan p)
    {
        yield return ("GICD", p.Gic.DistributorBase, GicV3Placement.DistributorSize);
        yield return ("GICR", p.Gic.RedistributorBase, p.Gic.RedistributorSize);
        yield return ("ITS", p.Gic.ItsBase!.Value, Jit.Devices.Gic.Its.GicIts.Size);
        yield return ("PL011", p.Uart.Base, Pl011Placement.Size);
        yield return ("PL031", p.Rtc.Base, Pl031Placement.Size);
        if (p.Smmu is { } smmu) yield return ("SMMU", smmu.Base, SmmuV3Placement.Size);
        yield return ("ECAM", p.Pci.Layout.EcamBase, p.Pci.Layout.EcamSize);
        foreach (var w in p.Pci.Layout.Windows) yield return ("PCI window", w.CpuBase, w.Size);
        foreach (var (b, s) in p.Ram) yield return ("RAM", b, s);
    }

    [Theory]
    [InlineData(1, 64UL << 20, false)]
    [InlineData(8, 3UL << 30, false)]
    [InlineData(1, 64UL << 20, true)]
    [InlineData(8, 3UL << 30, true)]
    public void NoTwoDevicesOrRamShareAnAddressOrAnInterrupt(int cpus, ulong ram, bool smmu)
    {
        var plan = PlatformPlan.For(new PlatformRequest(cpus, [(GuestMemoryMap.Ram0Base, ram)], Smmu: smmu));
        var ranges = Ranges(plan).OrderBy(r => r.Base).ToList();
        for (int i = 1; i < ranges.Count; i++)
            Assert.True(ranges[i - 1].Base + ranges[i - 1].Size <= ranges[i].Base, $"{ranges[i - 1].Name} overlaps {ranges[i].Name}");
        uint[] spis = [plan.Uart.Spi, plan.Rtc.Spi, .. plan.Pci.Layout.IntxSpis,
            .. plan.Smmu is { } s ? new[] { s.EventQueueSpi, s.GlobalErrorSpi, s.CommandSyncSpi } : []];
        Assert.Equal(spis.Length, spis.Distinct().Count());
        Assert.All(spis, s => Assert.InRange(s, 32u, 32u + (uint)Jit.Devices.Gic.GicV3.SpiCount - 1));
    }

    [Fact]
    public void XenFixesTheAddressesOfTheDevicesItGivesADomU()
    {
        var plan = PlatformPlan.For(new PlatformRequest(1, [(GuestMemoryMap.Ram0Base, 128UL << 20)]));
        // public/arch-arm.h: GUEST_GICV3_GICD_BASE, GUEST_GICV3_GICR0_BASE, GUEST_PL011_BASE, GUEST_VPL011_SPI,
        // GUEST_VPCI_ECAM_BASE, GUEST_VPCI_MEM_ADDR.
        Assert.Equal(0x0300_1000UL, plan.Gic.DistributorBase);
        Assert.Equal(0x0302_0000UL, plan.Gic.RedistributorBase);
        Assert.Equal(0x2200_0000UL, plan.Uart.Base);
        Assert.Equal(32u, plan.Uart.Spi);
        Assert.Equal(0x1000_0000UL, plan.Pci.Layout.EcamBase);
        Assert.Equal(0x2300_0000UL, plan.Pci.Layout.Windows[0].CpuBase);
    }

    [Fact]
    public void TheAllocatorRunsOutWithAClearErrorNotAnOverlap()
    {
        var a = new PlatformAllocator();
        ulong first = a.Mmio(0x1000);
        Assert.Equal(PlatformAllocator.FirstSlot, first);
        Assert.Equal(first + PlatformAllocator.SlotSize, a.Mmio(0x1_0000));
        Assert.Equal(first + 2 * PlatformAllocator.SlotSize, a.Mmio(0x1_8000));
        Assert.Contains("no room", Assert.Throws<InvalidOperationException>(() => a.Mmio(PlatformAllocator.SlotsEnd)).Message);
        Assert.Equal(33u, a.Spis(4));
        Assert.Equal(37u, a.Spis());
        Assert.Throws<InvalidOperationException>(() => a.Spis(1000));
    }

    [Fact]
    public void TheSmmuComesAfterEveryOtherAllocationSoNothingElseMoves()
    {
        var ram = new[] { (GuestMemoryMap.Ram0Base, 128UL << 20) };
        var without = PlatformPlan.For(new PlatformRequest(1, ram));
        var with = PlatformPlan.For(new PlatformRequest(1, ram, Smmu: true));
        Assert.Null(without.Smmu);
        Assert.Equal(without.Rtc, with.Rtc);
        Assert.Equal(without.Pci.Layout.IntxSpis, with.Pci.Layout.IntxSpis);
        Assert.Equal(new SmmuV3Placement(0x2202_0000, 38, MsiToIts: true), with.Smmu);
        Assert.True(with.Pci.BehindSmmu);
        Assert.False(without.Pci.BehindSmmu);
        // The tree names the SMMU before the bridge whose iommu-map points at it.
        Assert.True(with.Devices.ToList().IndexOf(with.Smmu!) < with.Devices.ToList().IndexOf(with.Pci));
    }

    [Fact]
    public void EveryPlacedDeviceWritesTheNodeItsPlacementSays()
    {
        var plan = PlatformPlan.For(new PlatformRequest(2, [(GuestMemoryMap.Ram0Base, 256UL << 20)], SbsaUart: true, Smmu: true));
        var root = Jit.Hypervisor.DeviceTree.FdtReader.Parse(PlatformDeviceTree.Build(plan, new BootChosen("")));
        foreach (var device in plan.Devices) Assert.NotNull(root.Child(device.NodeName));
        Assert.Equal("sbsa-uart@22000000", plan.Uart.NodeName);
    }
}
