using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>The PL031 real-time clock, which Xen does not give a domU: an allocated slot and SPI.</summary>
public sealed record Pl031Placement(ulong Base, uint Spi) : PlatformDevice
{
    public const ulong Size = 0x1000;

    public override string NodeName => $"pl031@{Base:x}";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links) =>
        w.BeginNode(NodeName)
            .Property("compatible", "arm,pl031", "arm,primecell")
            .Property("reg", Base, Size)
            .Property("interrupts", DeviceTreeLinks.SpiCells(Spi))
            .Property("clocks", links.Clock).Property("clock-names", "apb_pclk")
            .EndNode();
}
