namespace Jit.Devices.Smmu;

/// <summary>
/// The geometry of a VMSAv8-64 translation granule (Arm ARM D8.2): 4, 16 or 64 KiB pages, each table level
/// resolving PageBits − 3 bits of the input address, level 3 the last.
/// </summary>
internal readonly struct TranslationGranule(int pageBits)
{
    public static readonly TranslationGranule Granule4K = new(12), Granule16K = new(14), Granule64K = new(16);

    public int PageBits { get; } = pageBits;
    public int Stride => PageBits - 3;
    public bool IsValid => PageBits is 12 or 14 or 16;

    /// <summary>The lowest input-address bit a descriptor at <paramref name="level"/> resolves: a block's or page's size.</summary>
    public int Shift(int level) => PageBits + Stride * (3 - level);

    /// <summary>The first level of a walk over <paramref name="inputBits"/> bits without concatenated tables (D8.2.7).</summary>
    public int StartLevel(int inputBits) => 3 - (inputBits - PageBits - 1) / Stride;

    /// <summary>Whether a block descriptor is allowed at <paramref name="level"/> with 48-bit output addresses (D8.3.1).</summary>
    public bool BlockAllowed(int level) => PageBits switch
    {
        12 => level is 1 or 2,
        _ => level == 2,
    };

    /// <summary>Output address bits [47:shift] of a descriptor: 52-bit addresses are not implemented (SMMU_IDR5.OAS = 48).</summary>
    public static ulong OutputAddress(ulong descriptor, int shift) => descriptor & 0x0000_FFFF_FFFF_FFFFUL & ~((1UL << shift) - 1);

    /// <summary>The TG0 encoding of a CD (and TCR_EL1.TG0, and STE.S2TG): 0 = 4 KiB, 1 = 64 KiB, 2 = 16 KiB.</summary>
    public static TranslationGranule FromTg0(ulong tg) => tg switch
    {
        0 => Granule4K,
        1 => Granule64K,
        2 => Granule16K,
        _ => default,
    };

    /// <summary>The TG1 encoding of a CD: 1 = 16 KiB, 2 = 4 KiB, 3 = 64 KiB.</summary>
    public static TranslationGranule FromTg1(ulong tg) => tg switch
    {
        1 => Granule16K,
        2 => Granule4K,
        3 => Granule64K,
        _ => default,
    };

    /// <summary>An IPS/PS/OAS encoding in bits (32, 36, 40, 42, 44, 48, 52), capped at <paramref name="limit"/>.</summary>
    public static int AddressSize(ulong encoding, int limit) => Math.Min(encoding switch
    {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    }, limit);
}
