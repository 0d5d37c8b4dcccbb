using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Jit.Runtime;

/// <summary>
/// The architectural state of one vCPU, in native memory with a fixed layout so that the interpreter, the IL
/// tier and helpers all address the same bytes through a <c>CpuState*</c>.
/// </summary>
/// <remarks>
/// X[31] holds the stack pointer currently selected by PSTATE (SP_EL0 or SP_EL1), so an instruction that reads
/// register 31 as SP indexes it like any other register. X[32] always reads as zero and X[33] swallows writes:
/// the pre-decoder maps register 31 to them where the encoding means XZR, so executing an instruction never
/// tests for register 31. The stack pointer that is not selected lives in <see cref="SpEl0"/> or <see cref="SpEl1"/>.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct CpuState
{
    public fixed ulong X[34];

    public const int ZeroRegister = 32;
    public const int DiscardRegister = 33;
    public ulong PC;

    /// <summary>N, Z, C, V in bits 31..28, as the NZCV system register holds them.</summary>
    public ulong Nzcv;
    /// <summary>D, A, I, F in bits 9..6, as the DAIF system register holds them.</summary>
    public ulong Daif;
    public uint EL;
    /// <summary>PSTATE.SP: 0 selects SP_EL0, 1 selects SP_ELx.</summary>
    public uint SPSel;
    public ulong SpEl0;
    public ulong SpEl1;

    /// <summary>V0–V31, two 64-bit halves each (low half first).</summary>
    public fixed ulong V[64];
    public ulong Fpcr;
    public ulong Fpsr;

    public ulong SctlrEl1;
    public ulong CpacrEl1;
    public ulong VbarEl1;
    public ulong ElrEl1;
    public ulong SpsrEl1;
    public ulong EsrEl1;
    public ulong FarEl1;
    public ulong TpidrEl0;
    public ulong TpidrroEl0;
    public ulong TpidrEl1;
    public ulong ContextidrEl1;
    public ulong MdscrEl1;
    public ulong Mpidr;
    public ulong CntkctlEl1;
    public ulong TcrEl1;
    public ulong Ttbr0El1;
    public ulong Ttbr1El1;
    public ulong MairEl1;
    public ulong AmairEl1;
    public ulong ParEl1;

    /// <summary>Local exclusive monitor: the address and size LDXR marked, and the value(s) it saw.</summary>
    public ulong ExclusiveAddress;
    public ulong ExclusiveValue;
    public ulong ExclusiveValue2;
    public uint ExclusiveSize;
    public uint ExclusiveValid;

    /// <summary>The IRQ input from the interrupt controller: non-zero while an interrupt is signalled to this CPU.</summary>
    public int IrqPending;
    public int FiqPending;

    /// <summary>Set by other threads or by helpers to make the engine leave at the next check (see <see cref="ExitRequests"/>).</summary>
    public int ExitRequest;
    public int Pad0;

    /// <summary>Guest instructions retired by this vCPU.</summary>
    public ulong Retired;

    /// <summary>What the core counts besides retired instructions (TLB misses, IRQs taken).</summary>
    public CpuCounters Counters;

    /// <summary>PSTATE packed as SPSR holds it: NZCV, DAIF, M[3:0] (EL and SP selection).</summary>
    public readonly ulong Pstate => Nzcv | Daif | (EL << 2) | SPSel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong GetX(int r) => r == 31 ? 0 : X[r];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetX(int r, ulong value)
    {
        if (r != 31) X[r] = value;
    }

    /// <summary>Moves the current stack pointer to its bank and loads the one selected by <paramref name="el"/> and <paramref name="spsel"/>.</summary>
    public void SelectStack(uint el, uint spsel)
    {
        if (SPSel == 0 || EL == 0) SpEl0 = X[31]; else SpEl1 = X[31];
        EL = el;
        SPSel = spsel;
        X[31] = (spsel == 0 || el == 0) ? SpEl0 : SpEl1;
    }

    /// <summary>The value SP_EL0 has now, wherever it is banked.</summary>
    public readonly ulong CurrentSpEl0 => (SPSel == 0 || EL == 0) ? X[31] : SpEl0;
    public readonly ulong CurrentSpEl1 => (SPSel == 1 && EL == 1) ? X[31] : SpEl1;

    public void WriteSpEl0(ulong value)
    {
        if (SPSel == 0 || EL == 0) X[31] = value; else SpEl0 = value;
    }

    public void WriteSpEl1(ulong value)
    {
        if (SPSel == 1 && EL == 1) X[31] = value; else SpEl1 = value;
    }

    public static CpuState* Allocate()
    {
        var p = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        NativeMemory.Clear(p, (nuint)sizeof(CpuState));
        return p;
    }

    public static void Free(CpuState* p) => NativeMemory.AlignedFree(p);
}

/// <summary>Bits of <see cref="CpuState.ExitRequest"/>.</summary>
public static class ExitRequests
{
    public const int Halt = 1;
    public const int Interrupt = 2;
    public const int Stop = 4;
    /// <summary>
    /// Another vCPU ran a broadcast TLB maintenance instruction (TLBI …IS): apply what it queued in
    /// Processor.RemoteTlbInvalidations.
    /// </summary>
    public const int FlushTlb = 8;
    /// <summary>
    /// Another vCPU wrote code this vCPU may have decoded, or made a page code that this vCPU may still write
    /// through its write TLB: apply the queued block invalidations and write-TLB drops.
    /// </summary>
    public const int InvalidateCode = 16;
    /// <summary>
    /// Leave at the next block boundary so the run loop can plan again: in instruction-count time, the guest
    /// armed a timer earlier than the instruction budget the engine is running on.
    /// </summary>
    public const int Yield = 32;
    /// <summary>
    /// Work was posted to this vCPU's thread (a live inspection, <c>jit disasm --pid</c>): leave at the next
    /// block boundary, or stop waiting in WFI, so the run loop runs it where the engine's caches hold still.
    /// </summary>
    public const int Service = 64;
    /// <summary>
    /// A timer's host alarm expired: the vCPU's own thread re-evaluates its timers at the next block boundary
    /// (or in WFI), so the alarm's thread does no more than set this bit.
    /// </summary>
    public const int TimerCheck = 128;
}
