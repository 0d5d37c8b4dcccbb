using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

/// <summary>What a stage-1 walk found: the output address and the permissions of the page at each EL.</summary>
public struct WalkResult
{
    public ulong Pa;
    /// <summary>0 on success, else the DFSC/IFSC fault status (with the level in the low two bits).</summary>
    public uint Fault;
    public int Level;
    public bool El0Read, El0Write, El0Exec, El1Write, El1Exec;
    public bool Global;
    /// <summary>The leaf descriptor's AttrIndx, SH and NS, for PAR_EL1.</summary>
    public uint AttrIndex, Shareability, NonSecure;
}

/// <summary>
/// The stage-1 translation table walk of the EL1&amp;0 regime with the 4 KiB granule (D8.2–D8.4): TTBR0/TTBR1
/// selected by VA bit 55, T0SZ/T1SZ from 16 to 39, table, block and page descriptors, hierarchical APTable/
/// UXNTable/PXNTable, and the access flag (no hardware update: ID_AA64MMFR1_EL1.HAFDBS = 0). Table reads go
/// through stage 2, which for a domain is its guest-physical RAM.
/// </summary>
[CompiledEarly]
public static unsafe class TranslationTableWalk
{
    private const ulong OutputMask = 0x0000_FFFF_FFFF_F000;
    private static bool warnedGranule;

    /// <summary>TCR_EL1.TBI0/TBI1: data accesses ignore the top byte of the half the VA selects.</summary>
    public static bool TopByteIgnored(ulong tcr, ulong va) => ((va >> 55) & 1) == 0 ? ((tcr >> 37) & 1) != 0 : ((tcr >> 38) & 1) != 0;

    public static WalkResult Walk(CpuState* s, PhysicalMemory ram, ulong va, bool dataAccess)
    {
        var r = new WalkResult();
        ulong tcr = s->TcrEl1;
        bool upper = ((va >> 55) & 1) != 0;
        int txsz = (int)(upper ? (tcr >> 16) & 63 : tcr & 63);
        bool epd = ((upper ? tcr >> 23 : tcr >> 7) & 1) != 0;
        uint tg = (uint)(upper ? (tcr >> 30) & 3 : (tcr >> 14) & 3);
        if (upper ? tg != 2 : tg != 0)
        {
            // 16K and 64K granules are not implemented (ID_AA64MMFR0_EL1); a reserved or unimplemented
            // TGx value is treated as 4K (IMPLEMENTATION DEFINED choice, D8.1.5).
            if (!warnedGranule)
            {
                warnedGranule = true;
                Log.Warn($"TCR_EL1 selects a granule other than 4 KiB (TG{(upper ? 1 : 0)}={tg}); translating with 4 KiB");
            }
        }
        txsz = Math.Clamp(txsz, 16, 39);
        int inputSize = 64 - txsz;

        ulong check = va;
        if (dataAccess && TopByteIgnored(tcr, va)) check = (ulong)((long)(va << 8) >> 8);
        ulong top = check >> inputSize;
        ulong expected = upper ? (ulong.MaxValue >> inputSize) : 0;
        if (top != expected || epd)
        {
            r.Fault = FaultStatusTranslation(0);
            return r;
        }

        ulong tableBase = (upper ? s->Ttbr1El1 : s->Ttbr0El1) & 0x0000_FFFF_FFFF_FFFE;
        int startLevel = 4 - ((inputSize - 12 + 8) / 9);
        bool apNoEl0 = false, apReadOnly = false, uxnTable = false, pxnTable = false;

        for (int level = startLevel; level <= 3; level++)
        {
            int shift = 12 + 9 * (3 - level);
            int bits = level == startLevel ? inputSize - shift : 9;
            ulong index = (check >> shift) & ((1UL << bits) - 1);
            ulong descAddress = (tableBase & ~7UL) + index * 8;
            byte* hostDesc = ram.HostAddress(descAddress);
            r.Level = level;
            if (hostDesc == null)
            {
                // Synchronous external abort on a translation table walk (DFSC 0b0101LL).
                r.Fault = 0x14u + (uint)level;
                return r;
            }
            ulong desc = Volatile.Read(ref *(ulong*)hostDesc);
            if ((desc & 1) == 0 || (level == 3 && (desc & 2) == 0) || (level == 0 && (desc & 2) == 0))
            {
                r.Fault = FaultStatusTranslation(level);
                return r;
            }
            if (level < 3 && (desc & 2) != 0)
            {
                // With the 4K granule and 48-bit OAs, descriptor bits [51:48] are not address bits (51 is DBM,
                // which Linux uses as its software write bit; 50 is GP): only OA bits above the PA size fault.
                if (((desc & OutputMask) >> Mmu.PaBits) != 0)
                {
                    r.Fault = (uint)level; // address size fault
                    return r;
                }
                pxnTable |= ((desc >> 59) & 1) != 0;
                uxnTable |= ((desc >> 60) & 1) != 0;
                apNoEl0 |= ((desc >> 61) & 1) != 0;
                apReadOnly |= ((desc >> 62) & 1) != 0;
                tableBase = desc & OutputMask;
                continue;
            }

            ulong blockMask = (1UL << shift) - 1;
            ulong output = desc & OutputMask & ~blockMask;
            if ((output >> Mmu.PaBits) != 0)
            {
                r.Fault = (uint)level;
                return r;
            }
            if ((desc & (1UL << 10)) == 0)
            {
                r.Fault = 0x08u + (uint)level; // access flag fault
                return r;
            }
            r.Pa = output | (check & blockMask);
            uint ap = (uint)(desc >> 6) & 3;
            bool wxn = (s->SctlrEl1 & (1UL << 19)) != 0;
            r.El0Read = (ap & 1) != 0 && !apNoEl0;
            r.El1Write = (ap & 2) == 0 && !apReadOnly;
            r.El0Write = r.El0Read && r.El1Write;
            bool uxn = ((desc >> 54) & 1) != 0 || uxnTable;
            bool pxn = ((desc >> 53) & 1) != 0 || pxnTable;
            r.El0Exec = !uxn && !(wxn && r.El0Write);
            // D8.4.1.2: memory writable at EL0 is never executable at EL1.
            r.El1Exec = !pxn && !r.El0Write && !(wxn && r.El1Write);
            r.Global = ((desc >> 11) & 1) == 0;
            r.AttrIndex = (uint)(desc >> 2) & 7;
            r.Shareability = (uint)(desc >> 8) & 3;
            r.NonSecure = (uint)(desc >> 5) & 1;
            return r;
        }
        r.Fault = FaultStatusTranslation(3);
        return r;
    }

    private static uint FaultStatusTranslation(int level) => 0x04u + (uint)level;
}
