using Jit.Devices.Pci;
using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// The PCIe host bridge: its ECAM and 32-bit window at Xen's <c>GUEST_VPCI_ECAM_BASE</c> and
/// <c>GUEST_VPCI_MEM_ADDR</c>, a 64-bit prefetchable window of ours, INTx on four allocated SPIs, and MSIs to
/// the ITS when the domain has one (the pci-host-ecam-generic and pci-bus bindings).
/// </summary>
/// <param name="BehindSmmu">The domain's SMMUv3 translates the functions' DMA: an identity <c>iommu-map</c> (StreamID = requester ID).</param>
public sealed record PciHostBridgePlacement(PciHostBridgeLayout Layout, bool MsiToIts, bool BehindSmmu = false) : PlatformDevice
{
    // GUEST_VPCI_ECAM_BASE/SIZE: the full 256 buses, so a guest sees the segment Xen's vPCI gives it.
    public const ulong XenEcamBase = 0x1000_0000, XenEcamSize = 0x1000_0000;
    // GUEST_VPCI_MEM_ADDR/SIZE (32-bit, non-prefetchable). The 64-bit prefetchable window fills the gap between
    // the largest RAM bank 0 and bank 1, where it can never meet RAM.
    public const ulong XenMemBase = 0x2300_0000, XenMemSize = 0x1000_0000;
    public const ulong PrefetchableBase = 0x1_0000_0000, PrefetchableSize = 0x1_0000_0000;

    /// <summary>The bridge every Linux domain gets, bus 0 first, INTA–INTD on SPIs from <paramref name="intaSpi"/>.</summary>
    public static PciHostBridgeLayout StandardLayout(uint intaSpi) => new(XenEcamBase, FirstBus: 0, LastBus: (int)(XenEcamSize >> 20) - 1,
        [
            new PciWindow(XenMemBase, XenMemBase, XenMemSize, Prefetchable: false, Is64Bit: false),
            new PciWindow(PrefetchableBase, PrefetchableBase, PrefetchableSize, Prefetchable: true, Is64Bit: true),
        ],
        [intaSpi, intaSpi + 1, intaSpi + 2, intaSpi + 3]);

    /// <summary>How many requester IDs (bus, device, function) a segment has: the length of the iommu-map.</summary>
    public const uint RequesterIds = 0x1_0000;

    public override string NodeName => $"pcie@{Layout.EcamBase:x}";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links)
    {
        w.BeginNode(NodeName)
            .Property("compatible", PciHostBridgeLayout.Compatible)
            .Property("device_type", PciHostBridgeLayout.DeviceType)
            .Property("#address-cells", PciHostBridgeLayout.AddressCells)
            .Property("#size-cells", PciHostBridgeLayout.SizeCells)
            .Property("#interrupt-cells", PciHostBridgeLayout.InterruptCells)
            .Property("reg", Layout.Reg())
            .Property("bus-range", Layout.BusRange())
            .Property("ranges", Layout.Ranges());
        if (MsiToIts) w.Property("msi-map", Layout.MsiMap(links.Its));
        // The pci-iommu binding: requester IDs 0 to 0xffff map to StreamIDs from 0 on the SMMU.
        if (BehindSmmu) w.Property("iommu-map", 0u, links.Iommu, 0u, RequesterIds);
        w.Property("interrupt-map-mask", Layout.InterruptMapMask())
            .Property("interrupt-map", Layout.InterruptMap(links.Gic, GicV3Placement.AddressCells))
            .Property("dma-coherent")
            .Property("linux,pci-domain", 0u)
            .EndNode();
    }
}
