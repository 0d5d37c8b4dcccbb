using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// A device placed in a domain's guest physical map: where its registers are and which interrupts it raises.
/// The machine builder registers the device there, and the device tree says the same, because both read this
/// one placement: each placement writes its own node.
/// </summary>
public abstract record PlatformDevice
{
    /// <summary>The node's name under the root, unit address included (<c>pl011@22000000</c>).</summary>
    public abstract string NodeName { get; }

    /// <summary>Writes the device's node (and its children) at the current position of <paramref name="w"/>.</summary>
    public abstract void WriteNode(FdtWriter w, DeviceTreeLinks links);
}

/// <summary>
/// The phandles that nodes use to point at each other. The GIC's is Xen's <c>GUEST_PHANDLE_GIC</c> (65000),
/// so a partial device tree written for Xen (xl's <c>device_tree</c>, whose /passthrough nodes name their
/// interrupt parent by that number) works unchanged; 65001 is Xen's <c>GUEST_PHANDLE_IOMMU</c>; ours follow.
/// </summary>
public sealed record DeviceTreeLinks
{
    public const uint GicPhandle = 65000, IommuPhandle = 65001, ItsPhandle = 65002, ClockPhandle = 65003;

    public static readonly DeviceTreeLinks Default = new();

    public uint Gic => GicPhandle;
    public uint Iommu => IommuPhandle;
    public uint Its => ItsPhandle;
    public uint Clock => ClockPhandle;

    /// <summary>Every phandle the generated tree defines: a partial tree must not define any of them again.</summary>
    public static IReadOnlyList<uint> Reserved { get; } = [GicPhandle, IommuPhandle, ItsPhandle, ClockPhandle];

    // Interrupt specifier cells of the GIC binding: type (0 SPI, 1 PPI), number relative to the type, flags.
    public const uint Spi = 0, Ppi = 1, EdgeRising = 1, LevelHigh = 4;

    /// <summary>The GIC binding's three cells for SPI <paramref name="intid"/> (an INTID from 32), level-high unless <paramref name="flags"/> says otherwise.</summary>
    public static uint[] SpiCells(uint intid, uint flags = LevelHigh) => [Spi, intid - 32, flags];
}
