namespace Jit.Hypervisor.Builder;

/// <summary>
/// The guest physical memory map: Xen's GUEST_* layout for Arm (public/arch-arm.h) where Xen defines one,
/// free slots for the devices Xen does not give a domU. Guests learn all of it from the device tree.
/// </summary>
public static class GuestMemoryMap
{
    public const ulong GicdBase = 0x0300_1000, GicdSize = 0x1_0000;
    public const ulong GicrBase = 0x0302_0000;
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
