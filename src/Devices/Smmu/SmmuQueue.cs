namespace Jit.Devices.Smmu;

/// <summary>
/// A circular queue in memory as SMMU_CMDQ_* and SMMU_EVENTQ_* describe it (IHI 0070, 3.5 and 6.3.25–6.3.29):
/// the base register holds ADDR [51:5] and LOG2SIZE [4:0], and PROD and CONS each hold an index with one more
/// bit, the wrap flag, above it. Empty is equal indices and flags, full is equal indices and different flags.
/// </summary>
internal struct SmmuQueue(int maxLog2Size, int entrySize)
{
    public const ulong BaseWritable = 0x400F_FFFF_FFFF_FFFFUL; // RA/WA [62], ADDR [51:5], LOG2SIZE [4:0]
    public const uint IndexWritable = 0xF_FFFF;                 // WR/RD [19:0]

    public ulong Base;
    public uint Producer, Consumer;

    public readonly int EntrySize => entrySize;

    /// <summary>LOG2SIZE, capped at SMMU_IDR1's CMDQS or EVENTQS, as the architecture treats larger values.</summary>
    public readonly int Log2Size => Math.Min((int)(Base & 0x1F), maxLog2Size);

    private readonly uint WrapMask => (2u << Log2Size) - 1;
    private readonly uint IndexMask => (1u << Log2Size) - 1;

    /// <summary>ADDR, with the bits below the queue's size in bytes treated as zero.</summary>
    public readonly ulong Address => Base & 0x000F_FFFF_FFFF_FFE0UL & ~(((ulong)entrySize << Log2Size) - 1);

    public readonly bool IsEmpty => ((Producer ^ Consumer) & WrapMask) == 0;
    public readonly bool IsFull => ((Producer ^ Consumer) & WrapMask) == 1u << Log2Size;

    public readonly ulong EntryAddress(uint index) => Address + (ulong)(index & IndexMask) * (uint)entrySize;

    /// <summary>The index and wrap flag one entry on from <paramref name="index"/>.</summary>
    public readonly uint Next(uint index) => (index + 1) & WrapMask;
}
