namespace Jit.Hypervisor.Platform;

/// <summary>
/// Hands out what Xen's guest map leaves to us: 64 KiB MMIO slots between Xen's vPL011 page
/// (<c>GUEST_PL011_BASE</c>) and its vPCI window (<c>GUEST_VPCI_MEM_ADDR</c>), and SPIs after Xen's
/// <c>GUEST_VPL011_SPI</c> (32). Placement is in request order, so the same configuration always gets the same
/// map — and the same device tree, which instruction-count runs depend on.
/// </summary>
public sealed class PlatformAllocator
{
    public const ulong SlotSize = 0x1_0000;
    public const ulong FirstSlot = 0x2201_0000, SlotsEnd = 0x2300_0000;
    public const uint FirstSpi = 33, SpisEnd = 32 + Jit.Devices.Gic.GicV3.SpiCount;

    private ulong nextSlot = FirstSlot;
    private uint nextSpi = FirstSpi;

    /// <summary>A free MMIO range of at least <paramref name="size"/> bytes, aligned to a slot.</summary>
    public ulong Mmio(ulong size)
    {
        ulong slots = (size + SlotSize - 1) / SlotSize;
        if (slots == 0 || slots > (SlotsEnd - nextSlot) / SlotSize)
            throw new InvalidOperationException($"the guest map has no room for another {size:#x}-byte device between {FirstSlot:#x} and {SlotsEnd:#x}");
        ulong b = nextSlot;
        nextSlot += slots * SlotSize;
        return b;
    }

    /// <summary><paramref name="count"/> consecutive free SPIs (INTIDs); the first is returned.</summary>
    public uint Spis(uint count = 1)
    {
        if (count == 0 || count > SpisEnd - nextSpi)
            throw new InvalidOperationException($"the GIC has no {count} more SPIs (INTIDs {FirstSpi}–{SpisEnd - 1})");
        uint first = nextSpi;
        nextSpi += count;
        return first;
    }
}
