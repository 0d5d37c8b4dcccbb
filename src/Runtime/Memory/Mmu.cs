using System.Runtime.CompilerServices;
using Jit.Runtime.Exceptions;

namespace Jit.Runtime.Memory;

/// <summary>
/// One vCPU's view of memory: the soft-TLB fast path, and the slow path that translates, reaches RAM or a
/// device, and turns failures into the guest's own aborts. Every access method returns false after it has
/// taken the exception, so callers stop the instruction without any .NET exception.
/// </summary>
/// <remarks>
/// The fast-path compare masks the VA with <c>~0xFFF | (size - 1)</c>, so one compare checks the page and the
/// natural alignment: unaligned accesses always take the slow path, which applies the alignment rules and
/// splits accesses that cross a page.
/// </remarks>
public sealed unsafe class Mmu
{
    /// <summary>Physical address size: 44 bits, as ID_AA64MMFR0_EL1.PARange reports for the Cortex-A57 model.</summary>
    public const int PaBits = 44;

    private readonly CpuState* s;
    private readonly TlbEntry* readTlb, writeTlb, fetchTlb;
    private bool warnedMmuOn;

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
        readTlb = Tlb.Read;
        writeTlb = Tlb.Write;
        fetchTlb = Tlb.Fetch;
    }

    private const ulong PageMask = ~0xFFFUL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read8(ulong va, out ulong value)
    {
        TlbEntry* e = readTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & PageMask)) { value = *(byte*)((long)va + e->Addend); return true; }
        return ReadSlow(va, 1, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read16(ulong va, out ulong value)
    {
        TlbEntry* e = readTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 1))) { value = *(ushort*)((long)va + e->Addend); return true; }
        return ReadSlow(va, 2, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read32(ulong va, out ulong value)
    {
        TlbEntry* e = readTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 3))) { value = *(uint*)((long)va + e->Addend); return true; }
        return ReadSlow(va, 4, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read64(ulong va, out ulong value)
    {
        TlbEntry* e = readTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 7))) { value = *(ulong*)((long)va + e->Addend); return true; }
        return ReadSlow(va, 8, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Read(ulong va, int size, out ulong value)
    {
        switch (size)
        {
            case 1: return Read8(va, out value);
            case 2: return Read16(va, out value);
            case 4: return Read32(va, out value);
            default: return Read64(va, out value);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write8(ulong va, ulong value)
    {
        TlbEntry* e = writeTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & PageMask)) { *(byte*)((long)va + e->Addend) = (byte)value; return true; }
        return WriteSlow(va, 1, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write16(ulong va, ulong value)
    {
        TlbEntry* e = writeTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 1))) { *(ushort*)((long)va + e->Addend) = (ushort)value; return true; }
        return WriteSlow(va, 2, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write32(ulong va, ulong value)
    {
        TlbEntry* e = writeTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 3))) { *(uint*)((long)va + e->Addend) = (uint)value; return true; }
        return WriteSlow(va, 4, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write64(ulong va, ulong value)
    {
        TlbEntry* e = writeTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & (PageMask | 7))) { *(ulong*)((long)va + e->Addend) = value; return true; }
        return WriteSlow(va, 8, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Write(ulong va, int size, ulong value)
    {
        switch (size)
        {
            case 1: return Write8(va, value);
            case 2: return Write16(va, value);
            case 4: return Write32(va, value);
            default: return Write64(va, value);
        }
    }

    /// <summary>
    /// Translates an instruction fetch of the page holding <paramref name="va"/>; on success <paramref name="pa"/>
    /// and <paramref name="host"/> address the instruction. A failure has taken the Instruction Abort.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Fetch(ulong va, out ulong pa, out byte* host)
    {
        TlbEntry* e = fetchTlb + ((va >> 12) & (SoftTlb.Entries - 1));
        if (e->Tag == (va & PageMask))
        {
            host = (byte*)((long)va + e->Addend);
            pa = FetchPa(e, va);
            return true;
        }
        return FetchSlow(va, out pa, out host);
    }

    // The fetch TLB keeps the physical page in a side table so block lookup can key by physical address.
    private readonly ulong[] fetchPhysical = new ulong[SoftTlb.Entries];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong FetchPa(TlbEntry* e, ulong va) => fetchPhysical[(int)(e - fetchTlb)] | (va & 0xFFF);

    private bool FetchSlow(ulong va, out ulong pa, out byte* host)
    {
        host = null;
        if (!Translate(va, out pa, out uint fault))
        {
            ExceptionEntry.InstructionAbort(s, va, fault);
            return false;
        }
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page == null)
        {
            ExceptionEntry.InstructionAbort(s, va, FaultStatus.SynchronousExternal);
            return false;
        }
        int i = SoftTlb.Index(va);
        fetchTlb[i].Tag = va & PageMask;
        fetchTlb[i].Addend = (long)page - (long)(va & PageMask);
        fetchPhysical[i] = pa & PageMask;
        host = page + (va & 0xFFF);
        return true;
    }

    private bool StrictAlignment => (s->SctlrEl1 & 2) != 0 || ((s->SctlrEl1 & 1) == 0 && !FlatMemoryIsNormal);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReadSlow(ulong va, int size, out ulong value)
    {
        value = 0;
        if ((va & (ulong)(size - 1)) != 0)
        {
            if (StrictAlignment)
            {
                ExceptionEntry.DataAbort(s, va, false, FaultStatus.Alignment);
                return false;
            }
            if ((va & 0xFFF) + (ulong)size > 0x1000)
            {
                for (int i = 0; i < size; i++)
                {
                    if (!Read8(va + (ulong)i, out ulong b)) return false;
                    value |= b << (8 * i);
                }
                return true;
            }
        }
        if (!Translate(va, out ulong pa, out uint fault))
        {
            ExceptionEntry.DataAbort(s, va, false, fault);
            return false;
        }
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page != null)
        {
            if (!StrictAlignment) Fill(readTlb, va, page);
            value = Load(page + (va & 0xFFF), size);
            return true;
        }
        if (Bus.Read(pa, size, out value)) return true;
        ExceptionEntry.DataAbort(s, va, false, FaultStatus.SynchronousExternal);
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WriteSlow(ulong va, int size, ulong value)
    {
        if ((va & (ulong)(size - 1)) != 0)
        {
            if (StrictAlignment)
            {
                ExceptionEntry.DataAbort(s, va, true, FaultStatus.Alignment);
                return false;
            }
            if ((va & 0xFFF) + (ulong)size > 0x1000)
            {
                // Translate both pages first so a fault on the second leaves memory untouched.
                ulong last = va + (ulong)size - 1;
                if (!Translate(va, out _, out uint f1)) { ExceptionEntry.DataAbort(s, va, true, f1); return false; }
                if (!Translate(last, out _, out uint f2)) { ExceptionEntry.DataAbort(s, last & PageMask, true, f2); return false; }
                for (int i = 0; i < size; i++)
                    if (!Write8(va + (ulong)i, value >> (8 * i))) return false;
                return true;
            }
        }
        if (!Translate(va, out ulong pa, out uint fault))
        {
            ExceptionEntry.DataAbort(s, va, true, fault);
            return false;
        }
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page != null)
        {
            if (Ram.IsCodePage(pa)) Ram.NotifyCodeWrite(pa);
            else if (!StrictAlignment) Fill(writeTlb, va, page);
            Store(page + (va & 0xFFF), size, value);
            return true;
        }
        if (Bus.Write(pa, size, value)) return true;
        ExceptionEntry.DataAbort(s, va, true, FaultStatus.SynchronousExternal);
        return false;
    }

    /// <summary>
    /// The host address for an atomic or exclusive access of <paramref name="size"/> bytes, which must be
    /// naturally aligned and plain RAM; anything else takes the architectural abort and returns null.
    /// </summary>
    public byte* AtomicAddress(ulong va, int size, bool write)
    {
        if ((va & (ulong)(size - 1)) != 0)
        {
            ExceptionEntry.DataAbort(s, va, write, FaultStatus.Alignment);
            return null;
        }
        if (!Translate(va, out ulong pa, out uint fault))
        {
            ExceptionEntry.DataAbort(s, va, write, fault);
            return null;
        }
        byte* page = Ram.HostAddress(pa & PageMask);
        if (page == null)
        {
            ExceptionEntry.DataAbort(s, va, write, FaultStatus.SynchronousExternal);
            return null;
        }
        if (write && Ram.IsCodePage(pa)) Ram.NotifyCodeWrite(pa);
        return page + (va & 0xFFF);
    }

    /// <summary>
    /// Stage 1 (when enabled) and stage 2 translation of <paramref name="va"/>. The MMU-off case is the flat
    /// map of D8.2.11; the stage-1 walk arrives with the system-emulation work.
    /// </summary>
    private bool Translate(ulong va, out ulong pa, out uint fault)
    {
        if ((s->SctlrEl1 & 1) == 0)
        {
            pa = va;
            if ((va >> PaBits) != 0)
            {
                fault = FaultStatus.AddressSizeLevel0;
                return false;
            }
            fault = 0;
            return true;
        }
        if (!warnedMmuOn)
        {
            warnedMmuOn = true;
            Log.Once("mmu", $"stage-1 translation is not implemented yet: VA 0x{va:x} faults");
        }
        pa = 0;
        fault = FaultStatus.TranslationLevel0;
        return false;
    }

    private static void Fill(TlbEntry* table, ulong va, byte* page)
    {
        TlbEntry* e = table + SoftTlb.Index(va);
        e->Tag = va & PageMask;
        e->Addend = (long)page - (long)(va & PageMask);
    }

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
