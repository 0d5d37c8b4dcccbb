using System.Runtime.CompilerServices;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

public enum AccessKind { Read, Write, Fetch }

/// <summary>
/// One vCPU's view of memory: the soft-TLB fast path, and the slow path that translates (stage 1, then the
/// domain's guest-physical map as stage 2), reaches RAM or a device, and turns failures into the guest's own
/// aborts. Every access method returns false after it has taken the exception, so callers stop the
/// instruction without any .NET exception.
/// </summary>
/// <remarks>
/// The fast-path compare masks the VA with <c>~0xFFF | (size - 1)</c>, so one compare checks the page and the
/// natural alignment: unaligned accesses always take the slow path, which applies the alignment rules and
/// splits accesses that cross a page. The TLB table is chosen by the EL whose permissions apply: the current
/// EL, or EL0 for the unprivileged LDTR/STTR.
/// </remarks>
[CompiledEarly]
public sealed unsafe class Mmu
{
    /// <summary>Physical address size: 44 bits, as ID_AA64MMFR0_EL1.PARange reports for the Cortex-A57 model.</summary>
    public const int PaBits = 44;

    private const ulong PageMask = ~0xFFFUL;

    private readonly CpuState* s;
    // The fetch TLB keeps the physical page in a side table (every context's) so block lookup can key by
    // physical address.
    private readonly ulong[] fetchPhysical = new ulong[SoftTlb.Contexts * SoftTlb.TotalEntries];

    public PhysicalMemory Ram { get; }
    public IMmioBus Bus { get; set; }
    public SoftTlb Tlb { get; }

    /// <summary>
    /// With the MMU off every data access is Device-nGnRnE and must be aligned (B2.7.2). A user-mode view
    /// (the differential tests, which compare against a Linux process) treats flat memory as Normal instead.
    /// </summary>
    public bool FlatMemoryIsNormal { get; set; }

    public Mmu(CpuState* state, PhysicalMemory ram, IMmioBus bus)
    {
        s = state;
        Ram = ram;
        Bus = bus;
        Tlb = new SoftTlb();
    }

    /// <summary>
    /// Selects the soft TLB's context for the current translation registers: after a write to TTBR0_EL1,
    /// TTBR1_EL1, TCR_EL1 or SCTLR_EL1, instead of a flush (see <see cref="SoftTlb"/>).
    /// </summary>
    public void TranslationRegistersChanged() => Tlb.SelectContext(s->Ttbr0El1, s->Ttbr1El1, s->TcrEl1, s->SctlrEl1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TlbEntry* Entry(TlbEntry* table, ulong va, uint el) =>
        table + (((va >> 12) & (SoftTlb.Entries - 1)) | ((ulong)el << SoftTlb.IndexBits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read(ulong va, int size, out ulong value) => ReadAs(va, size, s->EL, out value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write(ulong va, int size, ulong value) => WriteAs(va, size, s->EL, value);

    public bool Read8(ulong va, out ulong value) => ReadAs(va, 1, s->EL, out value);
    public bool Read64(ulong va, out ulong value) => ReadAs(va, 8, s->EL, out value);
    public bool Write64(ulong va, ulong value) => WriteAs(va, 8, s->EL, value);

    /// <summary>A read with the permissions of <paramref name="el"/> (EL0 for LDTR at EL1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadAs(ulong va, int size, uint el, out ulong value)
    {
        TlbEntry* e = Entry(Tlb.Read, va, el);
        if (e->Tag == (va & (PageMask | (ulong)(size - 1))))
        {
            byte* p = (byte*)((long)va + e->Addend);
            value = size switch { 1 => *p, 2 => *(ushort*)p, 4 => *(uint*)p, _ => *(ulong*)p };
            return true;
        }
        return ReadSlow(va, size, el, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool WriteAs(ulong va, int size, uint el, ulong value)
    {
        TlbEntry* e = Entry(Tlb.Write, va, el);
        if (e->Tag == (va & (PageMask | (ulong)(size - 1))))
        {
            byte* p = (byte*)((long)va + e->Addend);
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: *(ushort*)p = (ushort)value; break;
                case 4: *(uint*)p = (uint)value; break;
                default: *(ulong*)p = value; break;
            }
            return true;
        }
        return WriteSlow(va, size, el, value);
    }

    /// <summary>
    /// Translates an instruction fetch of the page holding <paramref name="va"/>; on success <paramref name="pa"/>
    /// and <paramref name="host"/> address the instruction. A failure has taken the Instruction Abort.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Fetch(ulong va, out ulong pa, out byte* host)
    {
        TlbEntry* e = Entry(Tlb.Fetch, va, s->EL);
        if (e->Tag == (va & PageMask))
        {
            host = (byte*)((long)va + e->Addend);
            pa = fetchPhysical[(int)(e - Tlb.FetchBase)] | (va & 0xFFF);
            return true;
        }
        return FetchSlow(va, out pa, out host);
    }

    /// <summary>
    /// Whether the current context's fetch TLB maps the page of <paramref name="va"/> at <paramref name="el"/> to
    /// the physical page of <paramref name="pa"/>: a remembered step from a VA to a block is still the guest's
    /// translation when it does, whatever switches and flushes came between.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool FetchMaps(ulong va, uint el, ulong pa)
    {
        TlbEntry* e = Entry(Tlb.Fetch, va, el);
        return e->Tag == (va & PageMask) && fetchPhysical[(int)(e - Tlb.FetchBase)] == (pa & PageMask);
    }

    private bool FetchSlow(ulong va, out ulong pa, out byte* host)
    {
        host = null;
        s->Counters.TlbMisses++;
        uint el = s->EL;
        if (!Translate(va, AccessKind.Fetch, el, out pa, out uint fault, out int blockShift))
        {
            ExceptionEntry.InstructionAbort(s, va, fault);
            return false;
        }
        if (blockShift > 12) Tlb.NoteBlock(va, blockShift);
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page == null)
        {
            ExceptionEntry.InstructionAbort(s, va, FaultStatus.SynchronousExternal);
            return false;
        }
        host = page + (va & 0xFFF);
        Tlb.NoteCodePage(va);
        if (!Cacheable(va)) return true;
        TlbEntry* e = Entry(Tlb.Fetch, va, el);
        e->Tag = va & PageMask;
        e->Addend = (long)page - (long)(va & PageMask);
        Tlb.NoteFill(e);
        fetchPhysical[(int)(e - Tlb.FetchBase)] = pa & PageMask;
        return true;
    }

    private bool MmuEnabled => (s->SctlrEl1 & 1) != 0;

    private bool StrictAlignment => (s->SctlrEl1 & 2) != 0 || (!MmuEnabled && !FlatMemoryIsNormal);

    // Set while a deferred access runs: its abort is recorded instead of taken (see ReadDeferred).
    private bool deferAborts;
    private ulong abortVa;
    private bool abortWrite;
    private uint abortStatus;

    private void Abort(ulong va, bool write, uint status)
    {
        if (!deferAborts)
        {
            ExceptionEntry.DataAbort(s, va, write, status);
            return;
        }
        abortVa = va;
        abortWrite = write;
        abortStatus = status;
    }

    /// <summary>
    /// <see cref="ReadAs"/>'s slow path for compiled code, which keeps guest registers in locals: on failure the
    /// Data Abort is only recorded, so the caller can store its registers first and then
    /// <see cref="TakeDeferredAbort"/>. Nothing on the success path reads the registers. <paramref name="pc"/> is
    /// the access's, stored here for the abort and for diagnostics of a failing device. The value read goes to
    /// <see cref="Loaded"/>, not to an out parameter: the caller's local would otherwise have its address taken,
    /// which keeps RyuJIT from holding it in a register anywhere in the region.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // cold: keep the compiled region small
    public bool ReadDeferred(ulong va, int size, uint el, ulong pc)
    {
        s->PC = pc;
        deferAborts = true;
        try { bool ok = ReadAs(va, size, el, out ulong value); Loaded = value; return ok; }
        finally { deferAborts = false; }
    }

    /// <summary>What the last <see cref="ReadDeferred"/> read (zero-extended); meaningless after a fault.</summary>
    public ulong Loaded;

    /// <summary><see cref="WriteAs"/> with the abort deferred, as for <see cref="ReadDeferred"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public bool WriteDeferred(ulong va, int size, uint el, ulong pc, ulong value)
    {
        s->PC = pc;
        deferAborts = true;
        try { return WriteAs(va, size, el, value); }
        finally { deferAborts = false; }
    }

    /// <summary>
    /// DC ZVA's zeroing of the 64-byte block at <paramref name="va"/> (aligned) as eight 8-byte writes, with the
    /// abort of the first that fails deferred, as for <see cref="ReadDeferred"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public bool ZeroBlockDeferred(ulong va, uint el, ulong pc)
    {
        s->PC = pc;
        deferAborts = true;
        try
        {
            for (ulong offset = 0; offset < 64; offset += 8)
                if (!WriteAs(va + offset, 8, el, 0)) return false;
            return true;
        }
        finally { deferAborts = false; }
    }

    /// <summary>Takes the Data Abort the last failed deferred access recorded, now that the state is complete.</summary>
    public void TakeDeferredAbort() => ExceptionEntry.DataAbort(s, abortVa, abortWrite, abortStatus);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReadSlow(ulong va, int size, uint el, out ulong value)
    {
        value = 0;
        TlbEntry* io = Entry(Tlb.Read, va, el);
        if ((va & (ulong)(size - 1)) != 0)
        {
            if (StrictAlignment)
            {
                Abort(va, false, FaultStatus.Alignment);
                return false;
            }
            if ((va & 0xFFF) + (ulong)size > 0x1000)
            {
                for (int i = 0; i < size; i++)
                {
                    if (!ReadAs(va + (ulong)i, 1, el, out ulong b)) return false;
                    value |= b << (8 * i);
                }
                return true;
            }
            // A misaligned access never matches the fast path's compare (that is how strict alignment costs
            // nothing there), but within one page the entry's translation is as good as for an aligned one:
            // without this, each took a table walk (the busybox shell loop: 35 per iteration).
            if (io->Tag == (va & PageMask))
            {
                value = Load((byte*)((long)va + io->Addend), size);
                return true;
            }
        }
        s->Counters.TlbMisses++;
        if (io->Tag == ((va & PageMask) | SoftTlb.IoFlag))
            return Bus.Read((ulong)((long)va + io->Addend), size, out value) || BusError(va, false);
        if (!Translate(va, AccessKind.Read, el, out ulong pa, out uint fault, out int blockShift))
        {
            Abort(va, false, fault);
            return false;
        }
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page != null)
        {
            // Strict alignment needs no exception here: a misaligned address never matches a tag (see ReadAs).
            Fill(Tlb.Read, va, el, page, blockShift);
            value = Load(page + (va & 0xFFF), size);
            return true;
        }
        FillIo(Tlb.Read, va, el, pa, blockShift);
        if (Bus.Read(pa, size, out value)) return true;
        Abort(va, false, FaultStatus.SynchronousExternal);
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WriteSlow(ulong va, int size, uint el, ulong value)
    {
        TlbEntry* io = Entry(Tlb.Write, va, el);
        if ((va & (ulong)(size - 1)) != 0)
        {
            if (StrictAlignment)
            {
                Abort(va, true, FaultStatus.Alignment);
                return false;
            }
            if ((va & 0xFFF) + (ulong)size > 0x1000)
            {
                s->Counters.TlbMisses++;
                // Translate both pages first so a fault on the second leaves memory untouched.
                ulong last = va + (ulong)size - 1;
                if (!Translate(va, AccessKind.Write, el, out _, out uint f1)) { Abort(va, true, f1); return false; }
                if (!Translate(last, AccessKind.Write, el, out _, out uint f2)) { Abort(last & PageMask, true, f2); return false; }
                for (int i = 0; i < size; i++)
                    if (!WriteAs(va + (ulong)i, 1, el, value >> (8 * i))) return false;
                return true;
            }
            // As in ReadSlow; a write entry never maps a page that holds code, so nothing is to be dropped.
            if (io->Tag == (va & PageMask))
            {
                Store((byte*)((long)va + io->Addend), size, value);
                return true;
            }
        }
        s->Counters.TlbMisses++;
        if (io->Tag == ((va & PageMask) | SoftTlb.IoFlag))
            return Bus.Write((ulong)((long)va + io->Addend), size, value) || BusError(va, true);
        if (!Translate(va, AccessKind.Write, el, out ulong pa, out uint fault, out int blockShift))
        {
            Abort(va, true, fault);
            return false;
        }
        byte* page = Ram.WritableHostAddress(pa & PageMask);
        if (page != null)
        {
            if (Ram.IsCodePage(pa)) Ram.NotifyCodeWrite(pa, size);
            else Fill(Tlb.Write, va, el, page, blockShift);
            Store(page + (va & 0xFFF), size, value);
            return true;
        }
        FillIo(Tlb.Write, va, el, pa, blockShift);
        if (Bus.Write(pa, size, value)) return true;
        Abort(va, true, FaultStatus.SynchronousExternal);
        return false;
    }

    /// <summary>
    /// The host address for an atomic or exclusive access of <paramref name="size"/> bytes, which must be
    /// naturally aligned and plain RAM; anything else takes the architectural abort and returns null.
    /// </summary>
    public byte* AtomicAddress(ulong va, int size, bool write)
    {
        // The kernel's locks and reference counts are atomics: a TLB hit (which also proves the alignment, as
        // for plain accesses) must not cost a table walk. A write entry never maps a page holding code.
        uint el = s->EL;
        TlbEntry* table = write ? Tlb.Write : Tlb.Read;
        TlbEntry* e = Entry(table, va, el);
        if (e->Tag == (va & (PageMask | (ulong)(size - 1)))) return (byte*)((long)va + e->Addend);
        s->Counters.TlbMisses++;
        if ((va & (ulong)(size - 1)) != 0)
        {
            ExceptionEntry.DataAbort(s, va, write, FaultStatus.Alignment);
            return null;
        }
        if (!Translate(va, write ? AccessKind.Write : AccessKind.Read, el, out ulong pa, out uint fault, out int blockShift))
        {
            ExceptionEntry.DataAbort(s, va, write, fault);
            return null;
        }
        byte* page = write ? Ram.WritableHostAddress(pa & PageMask) : Ram.HostAddress(pa & PageMask);
        if (page == null)
        {
            ExceptionEntry.DataAbort(s, va, write, FaultStatus.SynchronousExternal);
            return null;
        }
        if (write && Ram.IsCodePage(pa)) Ram.NotifyCodeWrite(pa, size);
        else Fill(table, va, el, page, blockShift);
        return page + (va & 0xFFF);
    }

    /// <summary>
    /// Stage 1 (when SCTLR_EL1.M is set) with the permission check for <paramref name="kind"/> at
    /// <paramref name="el"/>. With the MMU off the map is flat (D8.2.11) and only the PA size is checked.
    /// </summary>
    public bool Translate(ulong va, AccessKind kind, uint el, out ulong pa, out uint fault) =>
        Translate(va, kind, el, out pa, out fault, out _);

    /// <summary><see cref="Translate(ulong, AccessKind, uint, out ulong, out uint)"/>, also giving log2 of the size of the page or block that maps it.</summary>
    private bool Translate(ulong va, AccessKind kind, uint el, out ulong pa, out uint fault, out int blockShift)
    {
        blockShift = 12;
        if (!MmuEnabled)
        {
            pa = va;
            fault = (va >> PaBits) != 0 ? FaultStatus.AddressSizeLevel0 : 0;
            return fault == 0;
        }
        var w = TranslationTableWalk.Walk(s, Ram, va, kind != AccessKind.Fetch);
        pa = w.Pa;
        fault = w.Fault;
        if (fault != 0) return false;
        blockShift = 12 + 9 * (3 - w.Level);
        bool allowed = kind switch
        {
            AccessKind.Read => el != 0 || w.El0Read,
            AccessKind.Write => el == 0 ? w.El0Write : w.El1Write,
            _ => el == 0 ? w.El0Exec : w.El1Exec,
        };
        if (!allowed) fault = FaultStatus.PermissionLevel0 + (uint)w.Level;
        return allowed;
    }

    /// <summary>AT S1E{0,1}{R,W}: the PAR_EL1 value for translating <paramref name="va"/> (D17.2.113).</summary>
    public ulong AddressTranslate(ulong va, AccessKind kind, uint el)
    {
        if (!Translate(va, kind, el, out ulong pa, out uint fault))
            return (1UL << 11) | ((ulong)fault << 1) | 1;
        if (!MmuEnabled) return (pa & 0x0000_FFFF_FFFF_F000) | (2UL << 7) | (1UL << 11);
        var w = TranslationTableWalk.Walk(s, Ram, va, true);
        ulong attr = (s->MairEl1 >> (int)(8 * w.AttrIndex)) & 0xFF;
        return (attr << 56) | (pa & 0x0000_FFFF_FFFF_F000) | ((ulong)w.NonSecure << 9) | ((ulong)w.Shareability << 7) | (1UL << 11);
    }

    private void Fill(TlbEntry* table, ulong va, uint el, byte* page, int blockShift)
    {
        if (!Cacheable(va)) return;
        if (blockShift > 12) Tlb.NoteBlock(va, blockShift);
        TlbEntry* e = Entry(table, va, el);
        e->Tag = va & PageMask;
        e->Addend = (long)page - (long)(va & PageMask);
        Tlb.NoteFill(e);
    }

    /// <summary>
    /// Caches the translation of a device page as an I/O entry (see <see cref="SoftTlb.IoFlag"/>): the access
    /// still goes to the bus, but the next one skips the table walk and the search of RAM for the address.
    /// </summary>
    private void FillIo(TlbEntry* table, ulong va, uint el, ulong pa, int blockShift)
    {
        if (!Cacheable(va)) return;
        if (blockShift > 12) Tlb.NoteBlock(va, blockShift);
        TlbEntry* e = Entry(table, va, el);
        e->Tag = (va & PageMask) | SoftTlb.IoFlag;
        e->Addend = (long)(pa & PageMask) - (long)(va & PageMask);
        Tlb.NoteFill(e);
    }

    private bool BusError(ulong va, bool write)
    {
        Abort(va, write, FaultStatus.SynchronousExternal);
        return false;
    }

    /// <summary>
    /// A VA whose top byte is not the sign extension of bit 55 (a tagged pointer, with TBI) is never cached: a
    /// TLBI names VA[55:12] only, and could not find the entry.
    /// </summary>
    private static bool Cacheable(ulong va) => (ulong)((long)(va << 8) >> 8) == va;

    private static ulong Load(byte* p, int size) => size switch
    {
        1 => *p,
        2 => *(ushort*)p,
        4 => *(uint*)p,
        _ => *(ulong*)p,
    };

    private static void Store(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: *(ushort*)p = (ushort)value; break;
            case 4: *(uint*)p = (uint)value; break;
            default: *(ulong*)p = value; break;
        }
    }
}
