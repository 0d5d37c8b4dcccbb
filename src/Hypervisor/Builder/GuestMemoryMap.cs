using Jit.Devices.Pci;

namespace Jit.Hypervisor.Builder;

/// <summary>
/// The guest physical memory map: Xen's GUEST_* layout for Arm (public/arch-arm.h) where Xen defines one,
/// free slots for the devices Xen does not give a domU. Guests learn all of it from the device tree.
/// </summary>
public static class GuestMemoryMap
{
    public const ulong GicdBase = 0x0300_1000, GicdSize = 0x1_0000;
    public const ulong GicrBase = 0x0302_0000;
    // Xen gives a domU no ITS; ours follows the redistributor frames of the most vCPUs a domain can have, so
    // its address does not depend on the domain's vCPU count.
    public const ulong GitsBase = GicrBase + Jit.Runtime.VcpuTopology.MaxVcpus * Jit.Devices.Gic.Redistributors.FrameSize;
    // GUEST_VPCI_ECAM_BASE/SIZE: the full 256 buses, so a guest sees the segment Xen's vPCI gives it.
    public const ulong PciEcamBase = 0x1000_0000, PciEcamSize = 0x1000_0000;
    // GUEST_VPCI_MEM_ADDR/SIZE (32-bit, non-prefetchable); the 64-bit prefetchable window fills the gap between
    // the largest RAM bank 0 and bank 1, where it can never meet RAM.
    public const ulong PciMemBase = 0x2300_0000, PciMemSize = 0x1000_0000;
    public const ulong PciPrefetchableBase = 0x1_0000_0000, PciPrefetchableSize = 0x1_0000_0000;
    // INTA to INTD of the host bridge: the first SPIs after the PL031's.
    public const uint PciIntaSpi = 34;

    /// <summary>The PCIe host bridge every Linux domain gets: the ECAM and the two windows above, bus 0 first.</summary>
    public static readonly PciHostBridgeLayout HostBridge = new(PciEcamBase, FirstBus: 0, LastBus: (int)(PciEcamSize >> 20) - 1,
        [
            new PciWindow(PciMemBase, PciMemBase, PciMemSize, Prefetchable: false, Is64Bit: false),
            new PciWindow(PciPrefetchableBase, PciPrefetchableBase, PciPrefetchableSize, Prefetchable: true, Is64Bit: true),
        ],
        [PciIntaSpi, PciIntaSpi + 1, PciIntaSpi + 2, PciIntaSpi + 3]);
    public const ulong Pl011Base = 0x2200_0000, Pl011Size = 0x1000;
    public const int Pl011Spi = 32;
    // Xen gives a domU no RTC; the PL031 takes the next 64 KiB slot after the vPL011.
    public const ulong Pl031Base = 0x2201_0000, Pl031Size = 0x1000;
    public const int Pl031Spi = 33;
    public const ulong Ram0Base = 0x4000_0000, Ram0MaxSize = 3UL << 30;
    public const ulong Ram1Base = 0x2_0000_0000;

    // PPIs of the generic timer (INTIDs).
    public const int HypervisorTimerPpi = 26, VirtualTimerPpi = 27, SecurePhysicalTimerPpi = 29, PhysicalTimerPpi = 30;
}
