using System.Buffers.Binary;

namespace Jit.Devices.Smmu;

/// <summary>
/// A context descriptor (IHI 0070, 5.4), 64 bytes, for one substream of a stream with stage 1 translation.
/// Dword 0: T0SZ [5:0], TG0 [7:6], EPD0 [14], ENDI [15], T1SZ [21:16], TG1 [23:22], EPD1 [30], V [31], IPS [34:32],
/// AFFD [35], TBI0 [38], TBI1 [39], AA64 [41], HD [42], HA [43], S [44], R [45], A [46], ASET [47], ASID [63:48];
/// dword 1: TTB0 [51:4]; dword 2: TTB1 [51:4]; dword 3: MAIR. Cacheability, shareability and MAIR change nothing
/// here: memory is coherent and every access is to RAM.
/// </summary>
/// <remarks>
/// A level 1 CD table descriptor (L1CD, 8 bytes) holds V [0] and L2Ptr [51:12]; S1Fmt = 1 makes 4 KiB leaf
/// tables of 64 CDs (SPLIT 6), S1Fmt = 2 64 KiB ones of 1024 (SPLIT 10).
/// </remarks>
internal static class ContextDescriptor
{
    public const int Size = 64;
    public const int MinTxSz = 16, MaxTxSz = 39;

    private const ulong Valid = 1UL << 31, Epd0 = 1UL << 14, Epd1 = 1UL << 30, Endi = 1UL << 15, Aa64 = 1UL << 41,
        Affd = 1UL << 35, Tbi0 = 1UL << 38, Tbi1 = 1UL << 39, Stall = 1UL << 44, RecordFaults = 1UL << 45;

    /// <summary>Decodes a CD; false when it is C_BAD_CD: not valid, AArch32, big-endian, stalling, or a live half with a bad granule or size.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> cd, int oas, out Stage1Config config)
    {
        config = default;
        ulong d0 = BinaryPrimitives.ReadUInt64LittleEndian(cd);
        ulong d1 = BinaryPrimitives.ReadUInt64LittleEndian(cd[8..]);
        ulong d2 = BinaryPrimitives.ReadUInt64LittleEndian(cd[16..]);
        if ((d0 & Valid) == 0) return false;
        // SMMU_IDR0.TTF = AArch64 only, TTENDIAN = little-endian only, STALL_MODEL = no stalls.
        if ((d0 & Aa64) == 0 || (d0 & Endi) != 0 || (d0 & Stall) != 0) return false;
        if (!TryHalf((d0 & Epd0) != 0, (int)(d0 & 0x3F), TranslationGranule.FromTg0((d0 >> 6) & 3), d1, (d0 & Tbi0) != 0, out var ttb0)) return false;
        if (!TryHalf((d0 & Epd1) != 0, (int)((d0 >> 16) & 0x3F), TranslationGranule.FromTg1((d0 >> 22) & 3), d2, (d0 & Tbi1) != 0, out var ttb1)) return false;
        config = new Stage1Config
        {
            Ttb0 = ttb0,
            Ttb1 = ttb1,
            OutputBits = TranslationGranule.AddressSize((d0 >> 32) & 7, oas),
            Asid = (ushort)(d0 >> 48),
            AccessFlagFaultDisabled = (d0 & Affd) != 0,
            Record = (d0 & RecordFaults) != 0,
        };
        return true;
    }

    private static bool TryHalf(bool disabled, int txsz, TranslationGranule granule, ulong ttb, bool tbi, out TableHalf half)
    {
        half = new TableHalf { Disabled = true };
        if (disabled) return true;
        if (!granule.IsValid || txsz < MinTxSz || txsz > MaxTxSz) return false;
        int inputBits = 64 - txsz;
        int start = granule.StartLevel(inputBits);
        int topBits = inputBits - granule.Shift(start);
        ulong tableBytes = Math.Max(8UL << topBits, 64);
        half = new TableHalf
        {
            Granule = granule,
            InputBits = inputBits,
            // Bits below the first table's alignment are treated as zero.
            TableBase = ttb & 0x000F_FFFF_FFFF_FFF0UL & ~(tableBytes - 1),
            TopByteIgnored = tbi,
        };
        return true;
    }
}
