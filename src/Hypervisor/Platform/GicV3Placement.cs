using Jit.Devices.Gic;
using Jit.Devices.Gic.Its;
using Jit.Hypervisor.DeviceTree;
using Jit.Runtime;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// The GICv3 at Xen's <c>GUEST_GICV3_GICD_BASE</c> and <c>GUEST_GICV3_GICR0_BASE</c>, with one redistributor
/// frame per vCPU and, when the domain has one, its ITS as a child node (the arm,gic-v3 binding).
/// </summary>
/// <param name="ItsBase">Where the ITS's registers are, or null for a domain without one.</param>
public sealed record GicV3Placement(ulong DistributorBase, ulong RedistributorBase, int Cpus, ulong? ItsBase) : PlatformDevice
{
    public const ulong DistributorSize = 0x1_0000;

    // Xen's GUEST_GICV3_GICD_BASE and GUEST_GICV3_GICR0_BASE.
    public const ulong XenDistributorBase = 0x0300_1000, XenRedistributorBase = 0x0302_0000;

    /// <summary>
    /// Xen gives a domU no ITS; ours follows the redistributor frames of the most vCPUs a domain can have, so its
    /// address does not depend on the domain's vCPU count.
    /// </summary>
    public const ulong DefaultItsBase = XenRedistributorBase + VcpuTopology.MaxVcpus * Redistributors.FrameSize;

    // #address-cells of the GIC node: 2, so that the ITS child's reg reads as the parent's.
    private const uint ChildAddressCells = 2;

    public ulong RedistributorSize => Redistributors.FrameSize * (ulong)Cpus;

    public override string NodeName => $"interrupt-controller@{DistributorBase:x}";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links)
    {
        w.BeginNode(NodeName)
            .Property("compatible", "arm,gic-v3")
            .Property("#interrupt-cells", 3u).Property("#address-cells", ChildAddressCells).Property("#size-cells", 2u)
            .Property("ranges").Property("interrupt-controller")
            .Property("redistributor-regions", 1u)
            .Property("reg", DistributorBase, DistributorSize, RedistributorBase, RedistributorSize)
            .Property("phandle", links.Gic);
        if (ItsBase is ulong its)
        {
            var node = GicIts.DeviceTreeNodeAt(its);
            w.BeginNode(node.Name)
                .Property("compatible", node.Compatible)
                .Property("msi-controller").Property("#msi-cells", node.MsiCells)
                .Property("reg", node.RegBase, node.RegSize)
                .Property("phandle", links.Its)
                .EndNode();
        }
        w.EndNode();
    }

    /// <summary>The GIC node's #address-cells, which an interrupt-map's parent unit address uses.</summary>
    public static int AddressCells => (int)ChildAddressCells;
}
