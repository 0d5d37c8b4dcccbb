using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

/// <summary>How a walk failed: the event it becomes, and whether the context asked for it to be recorded.</summary>
internal struct WalkFault
{
    public SmmuEventType Type;
    public bool Stage2;
    public SmmuFaultClass Class;
    public ulong Ipa;
    public ulong FetchAddress;
    /// <summary>CD.R for stage 1 faults, STE.S2R for stage 2 ones; walk aborts are always recorded.</summary>
    public bool Record;
}

/// <summary>A translation's result: where it lands, how big the mapping is, and what it allows.</summary>
internal struct WalkResult
{
    public ulong Output;
    public int BlockBits;
    public bool Readable, Writable, Global;
}

/// <summary>The stage 2 half of an STE (IHI 0070, 5.2), decoded and checked once when the STE is read.</summary>
internal struct Stage2Config
{
    public TranslationGranule Granule;
    public int InputBits, OutputBits, StartLevel;
    public ulong TableBase;
    public bool AccessFlagFaultDisabled, Record;
}

/// <summary>
/// The stage 2 walk (IHI 0070, 3.4 and Arm ARM D8): VMSAv8-64 stage 2 tables in the physical side's memory,
/// starting at the level STE.S2SL0 names with up to 16 concatenated tables there. A leaf allows a read when
/// S2AP[0] (bit 6) is set and a write when S2AP[1] (bit 7) is; AF = 0 faults unless STE.S2AFFD (no hardware
/// update of the flag: SMMU_IDR0.HTTU = 0).
/// </summary>
internal static class Stage2Walker
{
    private const ulong AccessFlag = 1UL << 10, S2apRead = 1UL << 6, S2apWrite = 1UL << 7;

    /// <summary>
    /// Decodes S2T0SZ, S2SL0 and S2TG (dword 2) and S2TTB (dword 3); false for an illegal combination (C_BAD_STE):
    /// a granule not implemented, an input size beyond 48 bits or below 16, a start level the input size cannot
    /// reach with at most 16 concatenated tables.
    /// </summary>
    public static bool TryDecode(ulong dword2, ulong dword3, int oas, out Stage2Config config)
    {
        config = default;
        var granule = TranslationGranule.FromTg0((dword2 >> 46) & 3);
        if (!granule.IsValid) return false;
        int t0sz = (int)((dword2 >> 32) & 0x3F);
        int inputBits = 64 - t0sz;
        if (inputBits > 48 || inputBits < 16) return false;
        int sl0 = (int)((dword2 >> 38) & 3);
        int start = granule.PageBits == 12
            ? sl0 switch { 0 => 2, 1 => 1, 2 => 0, _ => -1 }
            : sl0 switch { 0 => 3, 1 => 2, 2 => 1, _ => -1 };
        if (start < 0) return false;
        int topBits = inputBits - granule.Shift(start);
        // D8.2.9: the first level resolves between one bit and a stride plus four (sixteen concatenated tables).
        if (topBits < 1 || topBits > granule.Stride + 4) return false;
        ulong tableBytes = Math.Max(8UL << topBits, 64);
        config = new Stage2Config
        {
            Granule = granule,
            InputBits = inputBits,
            OutputBits = TranslationGranule.AddressSize((dword2 >> 48) & 7, oas),
            StartLevel = start,
            // Bits below the first table's alignment are treated as zero.
            TableBase = dword3 & 0x000F_FFFF_FFFF_FFF0UL & ~(tableBytes - 1),
            AccessFlagFaultDisabled = (dword2 & (1UL << 53)) != 0,
            Record = (dword2 & (1UL << 58)) != 0,
        };
        return true;
    }

    /// <summary>
    /// Translates <paramref name="ipa"/>; on a fault fills <paramref name="fault"/> as stage 2 with
    /// <paramref name="faultClass"/> (the table and CD fetches of a nested walk are stage 2 reads of their IPA).
    /// </summary>
    public static bool Walk(in Stage2Config s2, IGuestMemory memory, ulong ipa, bool write, SmmuFaultClass faultClass,
        out WalkResult result, ref WalkFault fault)
    {
        result = default;
        var g = s2.Granule;
        if (ipa >> s2.InputBits != 0) return Fail(ref fault, SmmuEventType.FTranslation, s2, ipa, faultClass);
        ulong table = s2.TableBase;
        if (table >> s2.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s2, ipa, faultClass);
        int level = s2.StartLevel;
        while (true)
        {
            int shift = g.Shift(level);
            int bits = level == s2.StartLevel ? s2.InputBits - shift : g.Stride;
            ulong at = table + ((ipa >> shift) & ((1UL << bits) - 1)) * 8;
            if (memory.ReadUInt64(at, out ulong d) != GuestMemoryStatus.Ok)
            {
                Fail(ref fault, SmmuEventType.FWalkEabt, s2, ipa, faultClass);
                fault.FetchAddress = at;
                fault.Record = true;
                return false;
            }
            if ((d & 1) == 0) return Fail(ref fault, SmmuEventType.FTranslation, s2, ipa, faultClass);
            bool leaf = level == 3 || (d & 2) == 0;
            if (!leaf)
            {
                table = TranslationGranule.OutputAddress(d, g.PageBits);
                if (table >> s2.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s2, ipa, faultClass);
                level++;
                continue;
            }
            // Level 3 needs 0b11 (a page); 0b01 there, or a block where none may be, is a translation fault.
            if (level == 3 ? (d & 2) == 0 : !g.BlockAllowed(level))
                return Fail(ref fault, SmmuEventType.FTranslation, s2, ipa, faultClass);
            ulong output = TranslationGranule.OutputAddress(d, shift);
            if (output >> s2.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s2, ipa, faultClass);
            if ((d & AccessFlag) == 0 && !s2.AccessFlagFaultDisabled)
                return Fail(ref fault, SmmuEventType.FAccess, s2, ipa, faultClass);
            result = new WalkResult
            {
                Output = output | (ipa & ((1UL << shift) - 1)),
                BlockBits = shift,
                Readable = (d & S2apRead) != 0,
                Writable = (d & S2apWrite) != 0,
                Global = true,
            };
            if (write ? !result.Writable : !result.Readable)
                return Fail(ref fault, SmmuEventType.FPermission, s2, ipa, faultClass);
            return true;
        }
    }

    private static bool Fail(ref WalkFault fault, SmmuEventType type, in Stage2Config s2, ulong ipa, SmmuFaultClass faultClass)
    {
        fault = new WalkFault { Type = type, Stage2 = true, Class = faultClass, Ipa = ipa, Record = s2.Record };
        return false;
    }
}
