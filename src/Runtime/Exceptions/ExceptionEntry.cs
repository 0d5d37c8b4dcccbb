using System.Runtime.CompilerServices;
using Jit.Runtime.Startup;

namespace Jit.Runtime.Exceptions;

/// <summary>Synchronous exception entry to EL1 and exception return (D1.10, D1.11).</summary>
[CompiledEarly]
public static unsafe class ExceptionEntry
{
    /// <summary>
    /// Called on every exception entry to EL1, synchronous or IRQ, before the vector is entered; null when nobody
    /// traces (<c>jit run --trace int</c>). Exception entry is a cold path, so the check costs nothing measurable.
    /// </summary>
    public static Action<TakenException>? Trace;

    /// <summary>
    /// Takes a synchronous exception to EL1 with the preferred return address <paramref name="returnAddress"/>.
    /// </summary>
    public static void TakeToEl1(CpuState* s, uint ec, uint iss, ulong returnAddress)
    {
        // D1.10.2: vector offset by where the exception came from: current EL with SP_EL0, current EL with SP_ELx,
        // lower EL using AArch64.
        ulong offset = s->EL == 0 ? 0x400UL : (s->SPSel == 0 ? 0x000UL : 0x200UL);
        s->SpsrEl1 = s->Pstate;
        s->ElrEl1 = returnAddress;
        s->EsrEl1 = ((ulong)ec << 26) | (1UL << 25) | (iss & 0x1FF_FFFF);
        Trace?.Invoke(new TakenException(s->Mpidr, false, s->EsrEl1, returnAddress, s->FarEl1, s->VbarEl1 + offset));
        s->SelectStack(1, 1);
        s->Daif = 0x3C0;
        s->ExclusiveValid = 0;
        s->PC = s->VbarEl1 + offset;
    }

    /// <summary>
    /// An IRQ taken to EL1 before the instruction at <see cref="CpuState.PC"/> (the preferred return address);
    /// ESR_EL1 is not written for interrupts.
    /// </summary>
    public static void TakeIrqToEl1(CpuState* s)
    {
        ulong offset = (s->EL == 0 ? 0x400UL : (s->SPSel == 0 ? 0x000UL : 0x200UL)) + 0x80;
        s->SpsrEl1 = s->Pstate;
        s->ElrEl1 = s->PC;
        Trace?.Invoke(new TakenException(s->Mpidr, true, 0, s->PC, 0, s->VbarEl1 + offset));
        s->Counters.IrqsTaken++;
        s->SelectStack(1, 1);
        s->Daif = 0x3C0;
        s->PC = s->VbarEl1 + offset;
    }

    public static void Undefined(CpuState* s) => TakeToEl1(s, ExceptionClass.Unknown, 0, s->PC);

    public static void Svc(CpuState* s, ushort imm) => TakeToEl1(s, ExceptionClass.Svc64, imm, s->PC + 4);

    public static void Brk(CpuState* s, ushort imm) => TakeToEl1(s, ExceptionClass.Brk64, imm, s->PC);

    /// <summary>A data abort at the current instruction (<see cref="CpuState.PC"/>), with FAR = <paramref name="va"/>.</summary>
    public static void DataAbort(CpuState* s, ulong va, bool write, uint dfsc)
    {
        uint ec = s->EL == 0 ? ExceptionClass.DataAbortLower : ExceptionClass.DataAbortSame;
        s->FarEl1 = va;
        TakeToEl1(s, ec, (write ? 1u << 6 : 0) | dfsc, s->PC);
    }

    public static void InstructionAbort(CpuState* s, ulong va, uint ifsc)
    {
        uint ec = s->EL == 0 ? ExceptionClass.InstructionAbortLower : ExceptionClass.InstructionAbortSame;
        s->FarEl1 = va;
        TakeToEl1(s, ec, ifsc, s->PC);
    }

    public static void SpAlignment(CpuState* s) => TakeToEl1(s, ExceptionClass.SpAlignment, 0, s->PC);

    public static void PcAlignment(CpuState* s, ulong target)
    {
        s->FarEl1 = target;
        s->PC = target;
        TakeToEl1(s, ExceptionClass.PcAlignment, 0, target);
    }

    /// <summary>ERET from EL1 (D1.11): restores PSTATE from SPSR_EL1 and branches to ELR_EL1.</summary>
    public static void Eret(CpuState* s)
    {
        ulong spsr = s->SpsrEl1;
        ulong target = s->ElrEl1;
        uint m = (uint)(spsr & 0x1F);
        s->ExclusiveValid = 0;
        // Only EL0t, EL1t and EL1h exist for this CPU; anything else (AArch32, EL2/EL3) is an illegal return:
        // PSTATE.IL is set and the next instruction takes an Illegal Execution state exception (D1.11.5).
        bool legal = m is 0b00000 or 0b00100 or 0b00101;
        s->Nzcv = spsr & 0xF000_0000;
        s->Daif = spsr & 0x3C0;
        if (!legal)
        {
            s->PC = target;
            TakeToEl1(s, ExceptionClass.IllegalState, 0, target);
            return;
        }
        s->SelectStack(m >> 2, m & 1);
        s->PC = target;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void IllegalState(CpuState* s) => TakeToEl1(s, ExceptionClass.IllegalState, 0, s->PC);
}

/// <summary>An exception as it is taken to EL1, for tracing: ESR and FAR are meaningful for synchronous ones only.</summary>
public readonly record struct TakenException(ulong Mpidr, bool Irq, ulong Esr, ulong ReturnAddress, ulong Far, ulong Vector);
