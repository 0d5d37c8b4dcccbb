using System.Runtime.InteropServices;
using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

/// <summary>
/// A soft-TLB entry: the page-aligned VA it maps (or <see cref="SoftTlb.Invalid"/>) and VA→host addend; or, for a
/// device page, the VA with <see cref="SoftTlb.IoFlag"/> set and the VA→physical addend.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TlbEntry
{
    public ulong Tag;
    public long Addend;
}

/// <summary>What a TLBI invalidates: everything, the page of a VA (in every ASID), or one ASID.</summary>
public enum TlbInvalidationScope : byte { All, Page, Asid }

/// <summary>One TLB invalidation, as another vCPU's TLBI …IS asks it of this one.</summary>
public readonly record struct TlbInvalidation(TlbInvalidationScope Scope, ulong Value);

/// <summary>
/// The per-vCPU soft TLB of the design: direct-mapped tables per access kind (read, write, fetch) and regime
/// (EL0, EL1), in native memory so that compiled code can index them; entry (el &lt;&lt; IndexBits) | ((va &gt;&gt; 12)
/// &amp; mask). A hit means stage 1, stage 2 and the permissions of that EL all allow the access and the page is
/// plain RAM.
/// </summary>
/// <remarks>
/// Translation contexts instead of flushes: real systems switch address spaces all the time (KPTI writes TTBR1
/// on every system call and return, a context switch writes TTBR0 and the ASID), and the architecture tags TLB
/// entries with the ASID so that a switch costs nothing. Here each of <see cref="Contexts"/> slots holds a
/// whole set of tables for one translation context — TTBR0, TTBR1 (with the ASID), TCR and the SCTLR bits that
/// change translation — and a switch selects a slot (the least recently used one is emptied when none
/// matches). A slot matches only the exact registers it was filled under, so it holds a subset of what an
/// ASID-tagged TLB could hold. TLBI empties what the architecture says and more where that is cheaper: by VA,
/// that page in every slot (a slot with block-mapped entries drops the whole block); by ASID, the slots of
/// that ASID; all, every slot.
/// </remarks>
[CompiledEarly]
public sealed unsafe class SoftTlb : IDisposable
{
    public const int IndexBits = 12;
    public const int Entries = 1 << IndexBits;
    public const int Regimes = 2;
    /// <summary>Entries of one table (read, write or fetch) of one context.</summary>
    public const int TotalEntries = Entries * Regimes;
    /// <summary>Translation contexts kept: a process is two under KPTI (kernel and user ASIDs).</summary>
    public const int Contexts = 8;
    public const ulong Invalid = ulong.MaxValue;

    /// <summary>
    /// Marks an I/O entry: a device page whose translation is cached but whose accesses go to the bus. The fast
    /// path's compare (the page with the low bits of a misaligned address) can never match a tag with bit 11
    /// set, so an I/O entry always reaches the slow path, which then skips the table walk.
    /// </summary>
    public const ulong IoFlag = 1UL << 11;

    // The tables of every context, context c at c * TotalEntries.
    private TlbEntry* readAll, writeAll, fetchAll;

    /// <summary>The current context's read table.</summary>
    public TlbEntry* Read { get; private set; }
    /// <summary>The current context's write table.</summary>
    public TlbEntry* Write { get; private set; }
    /// <summary>The current context's fetch table.</summary>
    public TlbEntry* Fetch { get; private set; }
    /// <summary>The fetch table of context 0: a fetch entry's index from here names its context and slot.</summary>
    public TlbEntry* FetchBase => fetchAll;

    /// <summary>
    /// Stands for the current context's translations: it changes whenever they may have (a flush, a page or
    /// ASID invalidation that could touch code, a switch to another context), so a translation remembered
    /// outside the TLB (the dispatcher's jump cache and successor slots) is the guest's while it is unchanged.
    /// Unique per context and flush, so a switch back to a context whose translations survived finds its links
    /// valid again.
    /// </summary>
    public uint Generation { get; private set; }

    /// <summary>Whether a switch keeps the other contexts' entries (the default); false empties everything at every switch (<c>--jit tlb-contexts=off</c>).</summary>
    public bool KeepsContexts { get; set; } = true;

    /// <summary>The current context's slot.</summary>
    public int Current => current;

    /// <summary>Context switches that found their slot kept, and those that had to empty one.</summary>
    public ulong ContextHits { get; private set; }
    public ulong ContextMisses { get; private set; }

    private struct Context
    {
        public bool Assigned;
        public ulong Ttbr0, Ttbr1, Tcr, Sctlr;
        public ulong LastUse;
        public uint Stamp;
        public ushort Asid;
        public bool MmuOn;
        /// <summary>How many of the context's block records are in use; above <see cref="BlockRecords"/> they overflowed.</summary>
        public int Blocks;
        public int FilledCount;
    }

    private readonly Context[] contexts = new Context[Contexts];
    private int current;
    private ulong useClock;
    private uint nextStamp;

    // Stamps wrap; uint.MaxValue is never one, since the dispatcher's page-local successor slots use it.
    private uint NextStamp() => ++nextStamp == uint.MaxValue ? ++nextStamp : nextStamp;

    // The entries filled in each context since its last flush, so that a flush clears those rather than whole
    // tables (clearing 6,144 entries at every switch was 2.4% of a boot's vCPU samples). Beyond the log's
    // capacity a flush clears the context's tables whole.
    private const int LogCapacity = 512;
    private readonly nint[] filled = new nint[Contexts * LogCapacity];

    // The code pages fetched through each context since it was last emptied, as a filter of 1,024 bits per VA
    // half (under KPTI a kernel context fetches only from the upper half, a user one mostly from the lower):
    // a page invalidation that cannot have touched code leaves the context's links alone. It must cover every
    // fetch entry the context holds, so only emptying the whole context clears it.
    private const int FilterWords = 32;
    private readonly ulong[] codeFilter = new ulong[Contexts * FilterWords];

    public SoftTlb()
    {
        readAll = Allocate();
        writeAll = Allocate();
        fetchAll = Allocate();
        for (int c = 0; c < Contexts; c++)
        {
            ClearContext(c);
            contexts[c].Stamp = NextStamp();
        }
        Use(0);
    }

    private static TlbEntry* Allocate() =>
        (TlbEntry*)NativeMemory.AlignedAlloc((nuint)(Contexts * TotalEntries * sizeof(TlbEntry)), 64);

    public static int Index(ulong va, uint el) => (int)((va >> 12) & (Entries - 1)) | ((int)el << IndexBits);

    /// <summary>
    /// Makes the context of these translation registers current, keeping its entries if a slot still holds it.
    /// <paramref name="sctlr"/> counts only through M and WXN, the bits that change what a walk returns.
    /// </summary>
    public void SelectContext(ulong ttbr0, ulong ttbr1, ulong tcr, ulong sctlr)
    {
        if (!KeepsContexts)
        {
            Flush();
            return;
        }
        sctlr &= 1UL | (1UL << 19);
        bool mmuOn = (sctlr & 1) != 0;
        if (!mmuOn) ttbr0 = ttbr1 = tcr = 0; // a flat map does not depend on them
        ref Context now = ref contexts[current];
        if (now.Assigned && now.Ttbr0 == ttbr0 && now.Ttbr1 == ttbr1 && now.Tcr == tcr && now.Sctlr == sctlr) return;
        int victim = -1;
        ulong oldest = ulong.MaxValue;
        for (int c = 0; c < Contexts; c++)
        {
            ref Context k = ref contexts[c];
            if (k.Assigned && k.Ttbr0 == ttbr0 && k.Ttbr1 == ttbr1 && k.Tcr == tcr && k.Sctlr == sctlr)
            {
                ContextHits++;
                Use(c);
                return;
            }
            ulong age = k.Assigned ? k.LastUse : 0;
            if (age < oldest)
            {
                oldest = age;
                victim = c;
            }
        }
        ContextMisses++;
        FlushContext(victim);
        ref Context v = ref contexts[victim];
        v.Assigned = true;
        v.Ttbr0 = ttbr0;
        v.Ttbr1 = ttbr1;
        v.Tcr = tcr;
        v.Sctlr = sctlr;
        v.MmuOn = mmuOn;
        // D8.13: TCR_EL1.A1 picks the TTBR that holds the ASID; AS = 0 means an 8-bit ASID.
        ulong asidTtbr = ((tcr >> 22) & 1) != 0 ? ttbr1 : ttbr0;
        v.Asid = (ushort)(((tcr >> 36) & 1) != 0 ? asidTtbr >> 48 : (asidTtbr >> 48) & 0xFF);
        Use(victim);
    }

    private void Use(int c)
    {
        current = c;
        contexts[c].LastUse = ++useClock;
        Read = readAll + c * TotalEntries;
        Write = writeAll + c * TotalEntries;
        Fetch = fetchAll + c * TotalEntries;
        Generation = contexts[c].Stamp;
    }

    /// <summary>Records that <paramref name="e"/> (an entry of the current context) now holds a translation.</summary>
    public void NoteFill(TlbEntry* e)
    {
        ref Context k = ref contexts[current];
        if (k.FilledCount < LogCapacity) filled[current * LogCapacity + k.FilledCount] = (nint)e;
        if (k.FilledCount <= LogCapacity) k.FilledCount++;
    }

    // The blocks (2 MiB or 1 GiB mappings) each context holds 4 KiB entries of, as base | log2 size: a TLBI names
    // one address of a block the guest changed, and every page of it must go. Beyond the records' capacity a
    // TLBI by VA scans the context's tables whole.
    private const int BlockRecords = 32;
    private readonly ulong[] blocks = new ulong[Contexts * BlockRecords];

    /// <summary>Records a fill for <paramref name="va"/> that came from a block of 2^<paramref name="shift"/> bytes, not a page.</summary>
    public void NoteBlock(ulong va, int shift)
    {
        ref Context k = ref contexts[current];
        ulong record = (va & ~((1UL << shift) - 1)) | (uint)shift;
        int n = Math.Min(k.Blocks, BlockRecords);
        for (int i = 0; i < n; i++)
            if (blocks[current * BlockRecords + i] == record) return;
        if (k.Blocks < BlockRecords) blocks[current * BlockRecords + k.Blocks] = record;
        if (k.Blocks <= BlockRecords) k.Blocks++;
    }

    /// <summary>
    /// log2 of the size of the block of context <paramref name="c"/> that holds <paramref name="va"/>: 12 for
    /// none; when the records overflowed, 30, the largest block of the 4 KiB granule.
    /// </summary>
    private int BlockAround(int c, ulong va)
    {
        int n = contexts[c].Blocks;
        if (n > BlockRecords) return 30;
        for (int i = 0; i < n; i++)
        {
            ulong record = blocks[c * BlockRecords + i];
            int shift = (int)(record & 0xFFF);
            if ((va & ~((1UL << shift) - 1)) == (record & ~0xFFFUL)) return shift;
        }
        return 12;
    }

    /// <summary>Records that code was fetched from the page of <paramref name="va"/> in the current context.</summary>
    public void NoteCodePage(ulong va)
    {
        uint bit = FilterBit(va);
        codeFilter[current * FilterWords + (int)(bit >> 6)] |= 1UL << (int)bit;
    }

    private static uint FilterBit(ulong va) => (uint)((((va >> 55) & 1) << 10) | (((va >> 12) * 0x9E37_79B9_7F4A_7C15UL) >> 54));

    private bool MayHoldCode(int c, ulong va)
    {
        uint bit = FilterBit(va);
        return (codeFilter[c * FilterWords + (int)(bit >> 6)] & (1UL << (int)bit)) != 0;
    }

    /// <summary>Applies <paramref name="invalidation"/> (see <see cref="Flush"/>, <see cref="FlushPage"/>, <see cref="FlushAsid"/>).</summary>
    public void Apply(TlbInvalidation invalidation)
    {
        switch (invalidation.Scope)
        {
            case TlbInvalidationScope.Page: FlushPage(invalidation.Value); break;
            case TlbInvalidationScope.Asid: FlushAsid((ushort)invalidation.Value); break;
            default: Flush(); break;
        }
    }

    /// <summary>
    /// Empties every context (TLBI VMALLE1, a vCPU reset) and forgets which registers each stood for, since a
    /// reset changes them without a system-register write: what is filled from now on waits in an unassigned
    /// context, emptied before it serves any registers.
    /// </summary>
    public void Flush()
    {
        for (int c = 0; c < Contexts; c++)
        {
            FlushContext(c);
            contexts[c].Assigned = false;
        }
        Generation = contexts[current].Stamp;
    }

    /// <summary>Empties the contexts whose ASID is <paramref name="asid"/>, and any unassigned one (TLBI ASIDE1).</summary>
    public void FlushAsid(ushort asid)
    {
        for (int c = 0; c < Contexts; c++)
        {
            ref Context k = ref contexts[c];
            // With 8-bit ASIDs in use (TCR_EL1.AS = 0) the upper byte of the operand's ASID does not count.
            ushort match = ((k.Tcr >> 36) & 1) != 0 ? asid : (ushort)(asid & 0xFF);
            if (k.Assigned ? k.MmuOn && k.Asid == match : k.FilledCount > 0) FlushContext(c);
        }
        Generation = contexts[current].Stamp;
    }

    private void FlushContext(int c)
    {
        ref Context k = ref contexts[c];
        if (k.FilledCount > LogCapacity) ClearContext(c);
        else
            for (int i = 0; i < k.FilledCount; i++) ((TlbEntry*)filled[c * LogCapacity + i])->Tag = Invalid;
        k.FilledCount = 0;
        k.Blocks = 0;
        k.Stamp = NextStamp();
        Array.Clear(codeFilter, c * FilterWords, FilterWords);
    }

    private void ClearContext(int c)
    {
        TlbEntry* r = readAll + c * TotalEntries, w = writeAll + c * TotalEntries, f = fetchAll + c * TotalEntries;
        for (int i = 0; i < TotalEntries; i++)
        {
            r[i].Tag = Invalid;
            w[i].Tag = Invalid;
            f[i].Tag = Invalid;
        }
        contexts[c].FilledCount = 0;
        contexts[c].Blocks = 0;
    }

    /// <summary>
    /// Drops the translations of the page of <paramref name="va"/> in every context, whatever their ASID (TLBI
    /// VAE1, VAAE1, VALE1, VAALE1: dropping more than asked is always allowed). A context that holds entries
    /// from block mappings drops every entry of the block around <paramref name="va"/>, since the guest's TLBI
    /// names one address of a block it changed.
    /// </summary>
    public void FlushPage(ulong va)
    {
        for (int c = 0; c < Contexts; c++)
        {
            ref Context k = ref contexts[c];
            // An unassigned context still takes fills (after a reset or a TLBI VMALLE1, until the next switch).
            int shift = k.FilledCount == 0 || k.Blocks == 0 ? 12 : BlockAround(c, va);
            if (shift > 12) FlushRange(c, va, shift);
            else if (k.FilledCount > 0) FlushEntries(c, va);
            if (shift > 12 || MayHoldCode(c, va)) k.Stamp = NextStamp();
        }
        Generation = contexts[current].Stamp;
    }

    private void FlushEntries(int c, ulong va)
    {
        ulong page = va & ~0xFFFUL;
        TlbEntry* r = readAll + c * TotalEntries, w = writeAll + c * TotalEntries, f = fetchAll + c * TotalEntries;
        for (uint el = 0; el < Regimes; el++)
        {
            int i = Index(va, el);
            if ((r[i].Tag & ~IoFlag) == page) r[i].Tag = Invalid;
            if ((w[i].Tag & ~IoFlag) == page) w[i].Tag = Invalid;
            if (f[i].Tag == page) f[i].Tag = Invalid;
        }
    }

    private void FlushRange(int c, ulong va, int shift)
    {
        ulong mask = ~((1UL << shift) - 1);
        ulong block = va & mask;
        FlushRange(readAll + c * TotalEntries, mask, block);
        FlushRange(writeAll + c * TotalEntries, mask, block);
        FlushRange(fetchAll + c * TotalEntries, mask, block);
    }

    private static void FlushRange(TlbEntry* table, ulong mask, ulong block)
    {
        for (int i = 0; i < TotalEntries; i++)
            if (table[i].Tag != Invalid && (table[i].Tag & mask) == block) table[i].Tag = Invalid;
    }

    /// <summary>Drops write entries, in every context, whose host page is <paramref name="hostPage"/> (a page that now holds code).</summary>
    public void FlushWritesToHostPage(byte* hostPage)
    {
        for (int c = 0; c < Contexts; c++)
        {
            ref Context k = ref contexts[c];
            TlbEntry* writes = writeAll + c * TotalEntries;
            if (k.FilledCount > LogCapacity)
            {
                for (int i = 0; i < TotalEntries; i++) DropIfTo(writes + i, hostPage);
                continue;
            }
            // Only logged entries can be valid: look at those of the write table.
            for (int i = 0; i < k.FilledCount; i++)
            {
                TlbEntry* e = (TlbEntry*)filled[c * LogCapacity + i];
                if (e >= writes && e < writes + TotalEntries) DropIfTo(e, hostPage);
            }
        }
    }

    private static void DropIfTo(TlbEntry* e, byte* hostPage)
    {
        if ((e->Tag & IoFlag) == 0 && (byte*)((long)e->Tag + e->Addend) == hostPage) e->Tag = Invalid;
    }

    public void Dispose()
    {
        if (readAll == null) return;
        NativeMemory.AlignedFree(readAll);
        NativeMemory.AlignedFree(writeAll);
        NativeMemory.AlignedFree(fetchAll);
        readAll = writeAll = fetchAll = null;
    }
}
