using Jit.Devices.Gic.Its;
using Jit.Devices.Pci;
using Jit.Hypervisor.DeviceTree;
using Jit.Runtime;
using static Jit.Hypervisor.Builder.GuestMemoryMap;

namespace Jit.Hypervisor.Builder;

/// <summary>
/// What the device tree describes besides the fixed platform: memory, CPUs, what /chosen passes, and the
/// placement of the ITS and the PCIe host bridge when the domain has them.
/// </summary>
public sealed record PlatformDescription(
    IReadOnlyList<(ulong Base, ulong Size)> Memory,
    int Cpus,
    string BootArgs,
    (ulong Start, ulong End)? Initrd,
    ulong? KaslrSeed = null,
    byte[]? RngSeed = null,
    ItsDeviceTreeNode? Its = null,
    PciHostBridgeLayout? Pci = null,
    bool SbsaUart = false);

/// <summary>
/// Generates the device tree of the guest platform, as Xen's toolstack does for a domU: memory, PSCI CPUs,
/// the GICv3 with its ITS, the generic timer, the PL011 console (with the fixed clock its driver asks for), the
/// PL031 and the PCIe host bridge.
/// </summary>
public static class PlatformDeviceTree
{
    private const uint GicPhandle = 1, ClockPhandle = 2, ItsPhandle = 3;
    // The GIC node's #address-cells: 2, so that the ITS child's reg reads as the parent's.
    private const int GicAddressCells = 2;
    // Interrupt specifier cells: type (0 SPI, 1 PPI), number relative to the type, flags (4 level-high).
    private const uint Spi = 0, Ppi = 1, LevelHigh = 4;

    public static byte[] Build(PlatformDescription p)
    {
        var w = new FdtWriter();
        w.BeginNode("")
            .Property("#address-cells", 2u).Property("#size-cells", 2u)
            .Property("compatible", "jit,virt", "linux,dummy-virt")
            .Property("model", "Jit virtual platform")
            .Property("interrupt-parent", GicPhandle);

        string uart = p.SbsaUart ? $"sbsa-uart@{Pl011Base:x}" : $"pl011@{Pl011Base:x}";
        w.BeginNode("chosen").Property("bootargs", p.BootArgs).Property("stdout-path", "/" + uart);
        if (p.Initrd is var (start, end)) w.Property("linux,initrd-start", start).Property("linux,initrd-end", end);
        // As a boot loader would: entropy for KASLR (which Debian's kernel turns on, with KPTI, when it gets
        // a seed) and for the early random pool.
        if (p.KaslrSeed is ulong seed) w.Property("kaslr-seed", seed);
        if (p.RngSeed is { } rng) w.Property("rng-seed", rng);
        w.EndNode();

        w.BeginNode("psci").Property("compatible", "arm,psci-1.0", "arm,psci-0.2").Property("method", "hvc").EndNode();

        w.BeginNode("cpus").Property("#address-cells", 1u).Property("#size-cells", 0u);
        for (int i = 0; i < p.Cpus; i++)
        {
            // A cpu node's reg is its MPIDR affinity fields (Aff2–Aff0 with one address cell).
            uint affinity = (uint)(VcpuTopology.Mpidr(i) & 0xFF_FFFF);
            w.BeginNode($"cpu@{affinity:x}")
                .Property("device_type", "cpu").Property("compatible", "arm,cortex-a57")
                .Property("reg", affinity).Property("enable-method", "psci")
                .EndNode();
        }
        w.EndNode();

        foreach (var (b, size) in p.Memory)
            w.BeginNode($"memory@{b:x}").Property("device_type", "memory").Property("reg", b, size).EndNode();

        w.BeginNode($"interrupt-controller@{GicdBase:x}")
            .Property("compatible", "arm,gic-v3")
            .Property("#interrupt-cells", 3u).Property("#address-cells", 2u).Property("#size-cells", 2u)
            .Property("ranges").Property("interrupt-controller")
            .Property("redistributor-regions", 1u)
            .Property("reg", GicdBase, GicdSize, GicrBase, Jit.Devices.Gic.Redistributors.FrameSize * (ulong)p.Cpus)
            .Property("phandle", GicPhandle);
        if (p.Its is { } its)
        {
            w.BeginNode(its.Name)
                .Property("compatible", its.Compatible)
                .Property("msi-controller").Property("#msi-cells", its.MsiCells)
                .Property("reg", its.RegBase, its.RegSize)
                .Property("phandle", ItsPhandle)
                .EndNode();
        }
        w.EndNode();

        w.BeginNode("timer")
            .Property("compatible", "arm,armv8-timer")
            .Property("interrupts",
                Ppi, (uint)(SecurePhysicalTimerPpi - 16), LevelHigh,
                Ppi, (uint)(PhysicalTimerPpi - 16), LevelHigh,
                Ppi, (uint)(VirtualTimerPpi - 16), LevelHigh,
                Ppi, (uint)(HypervisorTimerPpi - 16), LevelHigh)
            .EndNode();

        w.BeginNode("apb-pclk")
            .Property("compatible", "fixed-clock").Property("#clock-cells", 0u)
            .Property("clock-frequency", 24_000_000u).Property("clock-output-names", "clk24mhz")
            .Property("phandle", ClockPhandle)
            .EndNode();

        if (p.SbsaUart)
        {
            // Xen's vpl011 node (arm,sbsa-uart binding): no clocks, and the line speed the driver cannot set.
            w.BeginNode(uart)
                .Property("compatible", "arm,sbsa-uart")
                .Property("reg", Pl011Base, Pl011Size)
                .Property("interrupts", Spi, (uint)(Pl011Spi - 32), LevelHigh)
                .Property("current-speed", 115_200u)
                .EndNode();
        }
        else
        {
            w.BeginNode(uart)
                .Property("compatible", "arm,pl011", "arm,primecell")
                .Property("reg", Pl011Base, Pl011Size)
                .Property("interrupts", Spi, (uint)(Pl011Spi - 32), LevelHigh)
                .Property("clocks", ClockPhandle, ClockPhandle).Property("clock-names", "uartclk", "apb_pclk")
                .EndNode();
        }

        w.BeginNode($"pl031@{Pl031Base:x}")
            .Property("compatible", "arm,pl031", "arm,primecell")
            .Property("reg", Pl031Base, Pl031Size)
            .Property("interrupts", Spi, (uint)(Pl031Spi - 32), LevelHigh)
            .Property("clocks", ClockPhandle).Property("clock-names", "apb_pclk")
            .EndNode();

        if (p.Pci is { } pci) WritePciHostBridge(w, pci, p.Its is not null);

        w.EndNode();
        return w.Finish();
    }

    /// <summary>The pci-host-ecam-generic binding (host-generic-pci.yaml, pci-bus.yaml); MSIs through the ITS when there is one.</summary>
    private static void WritePciHostBridge(FdtWriter w, PciHostBridgeLayout pci, bool msi)
    {
        w.BeginNode($"pcie@{pci.EcamBase:x}")
            .Property("compatible", PciHostBridgeLayout.Compatible)
            .Property("device_type", PciHostBridgeLayout.DeviceType)
            .Property("#address-cells", PciHostBridgeLayout.AddressCells)
            .Property("#size-cells", PciHostBridgeLayout.SizeCells)
            .Property("#interrupt-cells", PciHostBridgeLayout.InterruptCells)
            .Property("reg", pci.Reg())
            .Property("bus-range", pci.BusRange())
            .Property("ranges", pci.Ranges());
        if (msi) w.Property("msi-map", pci.MsiMap(ItsPhandle));
        w.Property("interrupt-map-mask", pci.InterruptMapMask())
            .Property("interrupt-map", pci.InterruptMap(GicPhandle, GicAddressCells))
            .Property("dma-coherent")
            .Property("linux,pci-domain", 0u)
            .EndNode();
    }
}
