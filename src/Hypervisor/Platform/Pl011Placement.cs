using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// The console UART at Xen's <c>GUEST_PL011_BASE</c> on <c>GUEST_VPL011_SPI</c>: the full PL011 (our default),
/// or with <paramref name="Sbsa"/> Xen's vpl011, the SBSA generic UART subset.
/// </summary>
public sealed record Pl011Placement(ulong Base, uint Spi, bool Sbsa) : PlatformDevice
{
    public const ulong XenBase = 0x2200_0000, Size = 0x1000;
    public const uint XenSpi = 32;
    public const uint SbsaLineSpeed = 115_200;

    public override string NodeName => Sbsa ? $"sbsa-uart@{Base:x}" : $"pl011@{Base:x}";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links)
    {
        w.BeginNode(NodeName);
        if (Sbsa)
        {
            // The arm,sbsa-uart binding: no clocks, and the line speed the driver cannot set.
            w.Property("compatible", "arm,sbsa-uart")
                .Property("reg", Base, Size)
                .Property("interrupts", DeviceTreeLinks.SpiCells(Spi))
                .Property("current-speed", SbsaLineSpeed);
        }
        else
        {
            w.Property("compatible", "arm,pl011", "arm,primecell")
                .Property("reg", Base, Size)
                .Property("interrupts", DeviceTreeLinks.SpiCells(Spi))
                .Property("clocks", links.Clock, links.Clock).Property("clock-names", "uartclk", "apb_pclk");
        }
        w.EndNode();
    }
}
