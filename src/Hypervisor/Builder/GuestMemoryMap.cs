using Jit.Hypervisor.Platform;

namespace Jit.Hypervisor.Builder;

/// <summary>
/// The RAM of the guest physical memory map: Xen's GUEST_RAM0/GUEST_RAM1 banks for Arm (public/arch-arm.h).
/// Devices are placed by <see cref="PlatformPlan"/>; guests learn all of it from the device tree.
/// </summary>
public static class GuestMemoryMap
{
    public const ulong Ram0Base = 0x4000_0000, Ram0MaxSize = 3UL << 30;
    public const ulong Ram1Base = 0x2_0000_0000;

    /// <summary>The console UART, at the one address every domain has it (bare-metal programs print there).</summary>
    public const ulong Pl011Base = Pl011Placement.XenBase;
}
