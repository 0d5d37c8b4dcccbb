using Jit.Runtime.Memory;

namespace Jit.Devices.Gic.Its;

/// <summary>
/// One of the ITS's tables in guest memory as a GITS_BASER&lt;n&gt; describes it: flat, or two-level
/// (Indirect = 1: a level-1 array of 8-byte descriptors, Valid in bit 63 and the address of a level-2 page in
/// [51:12], each level-2 page holding Page_Size / 8 entries). Entries are 8 bytes; what they hold is this
/// ITS's own format (the architecture leaves it IMPLEMENTATION DEFINED), see <see cref="GicIts"/>.
/// </summary>
internal sealed class ItsTable(IGuestMemory memory, ItsTable.Kind type, int idBits)
{
    public enum Kind { Devices = 1, Collections = 4 }

    public const int EntrySize = 8;
    public const ulong ValidBit = 1UL << 63;
    private const ulong IndirectBit = 1UL << 62;
    // Valid, Indirect, InnerCache, OuterCache, Physical_Address [47:12], Shareability, Page_Size, Size; Type
    // and Entry_Size are read-only.
    private const ulong Writable = 0xF8E0_FFFF_FFFF_FFFFUL;

    public ulong Baser { get; private set; } = Fixed(type);

    private static ulong Fixed(Kind type) => ((ulong)type << 56) | ((ulong)(EntrySize - 1) << 48);

    public void Write(ulong value)
    {
        // Page_Size 0b11 is reserved: it is taken, and reads back, as 64 KiB.
        if ((value >> 8 & 3) == 3) value &= ~(1UL << 8);
        Baser = (value & Writable) | Fixed(type);
    }

    private bool Valid => (Baser & ValidBit) != 0;
    private bool Indirect => (Baser & IndirectBit) != 0;
    private ulong PageSize => (Baser >> 8 & 3) switch { 0 => 0x1000, 1 => 0x4000, _ => 0x10000 };

    /// <summary>With 64 KiB pages, bits [15:12] hold PA[51:48] (GITS_BASER<n>.Physical_Address).</summary>
    private ulong Address => PageSize == 0x10000
        ? (Baser & 0x0000_FFFF_FFFF_0000UL) | ((Baser >> 12 & 0xF) << 48)
        : Baser & 0x0000_FFFF_FFFF_F000UL & ~(PageSize - 1);

    private ulong Bytes => ((Baser & 0xFF) + 1) * PageSize;

    /// <summary>How many IDs the table as programmed can hold (0 while it is not valid).</summary>
    public ulong Capacity
    {
        get
        {
            if (!Valid) return 0;
            ulong entries = Bytes / EntrySize;
            if (Indirect) entries *= PageSize / EntrySize;
            return Math.Min(entries, 1UL << idBits);
        }
    }

    /// <summary>Where <paramref name="id"/>'s entry is, or null: beyond the table, or its level-2 page absent or unreadable.</summary>
    private ulong? EntryAddress(uint id)
    {
        if (id >= Capacity) return null;
        if (!Indirect) return Address + (ulong)id * EntrySize;
        ulong perPage = PageSize / EntrySize;
        if (memory.ReadUInt64(Address + id / perPage * EntrySize, out ulong level1) != GuestMemoryStatus.Ok
            || (level1 & ValidBit) == 0)
            return null;
        ulong page = level1 & 0x000F_FFFF_FFFF_F000UL & ~(PageSize - 1);
        return page + id % perPage * EntrySize;
    }

    /// <summary>The entry of <paramref name="id"/>; zero (not valid) when it cannot be read.</summary>
    public ulong Read(uint id) =>
        EntryAddress(id) is { } at && memory.ReadUInt64(at, out ulong entry) == GuestMemoryStatus.Ok ? entry : 0;

    /// <summary>False when the entry has no place in guest RAM.</summary>
    public bool Write(uint id, ulong entry) =>
        EntryAddress(id) is { } at && memory.WriteUInt64(at, entry) == GuestMemoryStatus.Ok;
}
