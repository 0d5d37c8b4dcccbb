using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

/// <summary>One of a CD's two translation table halves (TTB0 for the bottom of the input range, TTB1 for the top).</summary>
internal struct TableHalf
{
    public bool Disabled;
    public TranslationGranule Granule;
    public int InputBits;
    public ulong TableBase;
    public bool TopByteIgnored;
}

/// <summary>The stage 1 part of a context descriptor, decoded and checked once when the CD is read.</summary>
internal struct Stage1Config
{
    public TableHalf Ttb0, Ttb1;
    public int OutputBits;
    public ushort Asid;
    public bool AccessFlagFaultDisabled, Record;
}

/// <summary>
/// The stage 1 walk (IHI 0070, 3.4; Arm ARM D8): VMSAv8-64 stage 1 tables, TTB0 or TTB1 chosen by the input
/// address's bit 55 (bit 63 without top-byte-ignore), each table and the output checked against CD.IPS, and
/// every table read going through stage 2 when the STE nests the two stages. Permissions are AP[2:1] folded
/// with the tables' APTable bits (no hierarchical-attribute disable: SMMU_IDR3.HAD = 0); an unprivileged access
/// needs AP[1] = 1, a write needs AP[2] = 0. AF = 0 faults unless CD.AFFD, since SMMU_IDR0.HTTU = 0.
/// </summary>
internal static class Stage1Walker
{
    private const ulong AccessFlag = 1UL << 10, ApUnprivileged = 1UL << 6, ApReadOnly = 1UL << 7, NotGlobal = 1UL << 11;
    private const ulong ApTableNoUnprivileged = 1UL << 61, ApTableReadOnly = 1UL << 62;

    public static bool Walk(in Stage1Config s1, bool nested, in Stage2Config s2, IGuestMemory memory, ulong va, bool write,
        bool privileged, out WalkResult result, ref WalkFault fault)
    {
        result = default;
        bool upper = (va >> 55 & 1) != 0;
        ref readonly TableHalf half = ref upper ? ref s1.Ttb1 : ref s1.Ttb0;
        // D8.2.4: outside both halves' ranges, or in a disabled half, is a translation fault at level 0.
        int top = half.TopByteIgnored ? 56 : 64;
        ulong high = top == 64 ? va >> half.InputBits : (va & 0x00FF_FFFF_FFFF_FFFFUL) >> half.InputBits;
        ulong expected = upper ? (1UL << (top - half.InputBits)) - 1 : 0;
        if (half.Disabled || high != expected) return Fail(ref fault, SmmuEventType.FTranslation, s1);
        var g = half.Granule;
        ulong table = half.TableBase;
        if (table >> s1.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s1);
        int start = g.StartLevel(half.InputBits), level = start;
        bool noUnprivileged = false, readOnly = false;
        while (true)
        {
            int shift = g.Shift(level);
            int bits = level == start ? half.InputBits - shift : g.Stride;
            ulong at = table + ((va >> shift) & ((1UL << bits) - 1)) * 8;
            ulong fetch = at;
            if (nested)
            {
                if (!Stage2Walker.Walk(s2, memory, at, write: false, SmmuFaultClass.TranslationTable, out var tt, ref fault)) return false;
                fetch = tt.Output;
            }
            if (memory.ReadUInt64(fetch, out ulong d) != GuestMemoryStatus.Ok)
            {
                Fail(ref fault, SmmuEventType.FWalkEabt, s1);
                fault.FetchAddress = fetch;
                fault.Record = true;
                return false;
            }
            if ((d & 1) == 0) return Fail(ref fault, SmmuEventType.FTranslation, s1);
            bool leaf = level == 3 || (d & 2) == 0;
            if (!leaf)
            {
                table = TranslationGranule.OutputAddress(d, g.PageBits);
                if (table >> s1.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s1);
                noUnprivileged |= (d & ApTableNoUnprivileged) != 0;
                readOnly |= (d & ApTableReadOnly) != 0;
                level++;
                continue;
            }
            if (level == 3 ? (d & 2) == 0 : !g.BlockAllowed(level)) return Fail(ref fault, SmmuEventType.FTranslation, s1);
            ulong output = TranslationGranule.OutputAddress(d, shift);
            if (output >> s1.OutputBits != 0) return Fail(ref fault, SmmuEventType.FAddrSize, s1);
            if ((d & AccessFlag) == 0 && !s1.AccessFlagFaultDisabled) return Fail(ref fault, SmmuEventType.FAccess, s1);
            bool unprivilegedOk = (d & ApUnprivileged) != 0 && !noUnprivileged;
            bool readable = privileged || unprivilegedOk;
            result = new WalkResult
            {
                Output = output | (va & ((1UL << shift) - 1)),
                BlockBits = shift,
                Readable = readable,
                Writable = readable && (d & ApReadOnly) == 0 && !readOnly,
                Global = (d & NotGlobal) == 0,
            };
            if (write ? !result.Writable : !result.Readable) return Fail(ref fault, SmmuEventType.FPermission, s1);
            return true;
        }
    }

    private static bool Fail(ref WalkFault fault, SmmuEventType type, in Stage1Config s1)
    {
        fault = new WalkFault { Type = type, Class = SmmuFaultClass.Input, Record = s1.Record };
        return false;
    }
}
