using Jit.Devices.Gic.Its;
using Jit.Devices.Smmu;
using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// The SMMUv3 in front of the PCIe host bridge, which Xen does not give a domU: two allocated 64 KiB slots for
/// its 128 KiB of registers, and three allocated SPIs wired as its eventq, gerror and cmdq-sync interrupts
/// (rising edge, as the arm,smmu-v3 binding's wired interrupts are), with Xen's <c>GUEST_PHANDLE_IOMMU</c> as its
/// phandle so that the bridge's <c>iommu-map</c> names it. When the domain has an ITS the node also gets
/// <c>msi-parent = &lt;&amp;its MsiDeviceId&gt;</c>: the binding allows both, and Linux's arm-smmu-v3 then takes
/// MSIs for its event queue and global errors (SMMU_IDR0.MSI) and leaves the wired lines unused.
/// </summary>
/// <param name="FirstSpi">The eventq SPI; gerror and cmdq-sync follow it.</param>
/// <param name="MsiToIts">The domain has an ITS, the SMMU's msi-parent.</param>
public sealed record SmmuV3Placement(ulong Base, uint FirstSpi, bool MsiToIts = false) : PlatformDevice
{
    public const ulong Size = SmmuV3.Size;

    /// <summary>
    /// The ITS DeviceID of the SMMU's own MSIs: the first above the PCI requester IDs, which the bridge's identity
    /// msi-map turns into DeviceIDs 0 to 0xffff, so no function's MSI can be taken for the SMMU's or the other way.
    /// </summary>
    public const uint MsiDeviceId = GicIts.PlatformDeviceIds;

    /// <summary>SPIs in the order of <see cref="SmmuDeviceTreeNode.WiredInterruptNames"/>.</summary>
    public const uint SpiCount = 3;

    public uint EventQueueSpi => FirstSpi;
    public uint GlobalErrorSpi => FirstSpi + 1;
    public uint CommandSyncSpi => FirstSpi + 2;

    public override string NodeName => SmmuV3.DeviceTreeNodeAt(Base).Name;

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links)
    {
        var node = SmmuV3.DeviceTreeNodeAt(Base);
        var names = node.InterruptNames;
        var interrupts = new uint[names.Count * 3];
        for (int i = 0; i < names.Count; i++)
            DeviceTreeLinks.SpiCells(FirstSpi + (uint)i, DeviceTreeLinks.EdgeRising).CopyTo(interrupts, i * 3);
        w.BeginNode(node.Name)
            .Property("compatible", node.Compatible)
            .Property("reg", node.RegBase, node.RegSize)
            .Property("interrupts", interrupts)
            .Property("interrupt-names", names.ToArray())
            .Property("#iommu-cells", node.IommuCells);
        if (MsiToIts) w.Property("msi-parent", links.Its, MsiDeviceId);
        if (node.DmaCoherent) w.Property("dma-coherent");
        w.Property("phandle", links.Iommu).EndNode();
    }
}
