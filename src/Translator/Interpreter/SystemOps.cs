using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Memory;
using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>Exception-generating instructions, hints, barriers, PSTATE and system-register access, SYS operations.</summary>
public sealed unsafe partial class BlockInterpreter
{
    /// <summary>Executes the instructions the main switch leaves to the cold path; returns −1, Redirect, Faulted or an exit.</summary>
    private int System(in Inst I, ulong pc)
    {
        ulong* x = s->X;
        switch (I.Op)
        {
            case Op.Hint:
                return Hint(in I, pc);
            case Op.Clrex:
                s->ExclusiveValid = 0;
                return -1;
            case Op.Dmb: case Op.Dsb:
                Interlocked.MemoryBarrier();
                return -1;
            case Op.Isb:
                s->PC = pc + 4;
                return Redirect;

            case Op.Svc:
                ExceptionEntry.Svc(s, (ushort)I.Imm);
                return Redirect;
            case Op.Brk:
                ExceptionEntry.Brk(s, (ushort)I.Imm);
                return Faulted;
            case Op.Hvc: case Op.Smc:
                // HVC and SMC are UNDEFINED at EL0, and without a hypervisor (as with HCR_EL2.HCD set).
                if (s->EL == 0 || hypervisor is null) return Undefined(in I);
                return CallHypervisor(in I, pc);
            case Op.Eret:
                if (s->EL == 0) return Undefined(in I);
                ExceptionEntry.Eret(s);
                return Redirect;

            case Op.MsrImm:
                return MsrImmediate(in I, pc);
            case Op.Mrs when I.Imm is SystemRegisterFile.FPCR or SystemRegisterFile.FPSR && !FpEnabled():
            case Op.MsrReg when I.Imm is SystemRegisterFile.FPCR or SystemRegisterFile.FPSR && !FpEnabled():
                return FpAccessTrap();
            case Op.Mrs:
            {
                var result = SystemRegisterFile.Read(processor, (int)I.Imm, out ulong value);
                if (result != SysRegResult.Ok) return SystemRegisterFault(result, (int)I.Imm, I.Rd, read: true);
                x[I.Rd] = value;
                return -1;
            }
            case Op.MsrReg:
            {
                var result = SystemRegisterFile.Write(processor, (int)I.Imm, x[I.Rd]);
                if (result != SysRegResult.Ok) return SystemRegisterFault(result, (int)I.Imm, I.Rd, read: false);
                s->PC = pc + 4;
                return Redirect;
            }
            case Op.Sys:
                return SystemInstruction(in I, pc);

            case Op.SimdFp: case Op.SimdFpLoadStore:
                Log.Once("simdfp", $"FP/AdvSIMD instruction of an extension this CPU does not have (FP16, dot product, Crypto, ...): 0x{I.Word:x8} at 0x{pc:x}; the guest gets Undefined");
                return Undefined(in I);
            case Op.Sve:
                Log.Once("sve", $"SVE is not part of this CPU (0x{I.Word:x8} at 0x{pc:x}); the guest gets Undefined");
                return Undefined(in I);
            default:
                // Unallocated encodings, UDF, HLT (no external debug), DCPS/DRPS outside Debug state, SYSL,
                // and later extensions this CPU does not have.
                return Undefined(in I);
        }
    }

    private int Undefined(in Inst I)
    {
        ExceptionEntry.Undefined(s);
        return Faulted;
    }

    private int Hint(in Inst I, ulong pc)
    {
        switch (I.A)
        {
            case 3: // WFI
                if (s->EL == 0 && (s->SctlrEl1 & (1UL << 16)) == 0) return TrapWfx(isWfe: false);
                s->PC = pc + 4;
                return (int)ExitReason.Wfi;
            case 2: // WFE: no event model yet, so it completes at once (a spurious wake-up is architecturally allowed).
                if (s->EL == 0 && (s->SctlrEl1 & (1UL << 18)) == 0) return TrapWfx(isWfe: true);
                s->PC = pc + 4;
                return Redirect;
            default:
                // NOP, YIELD, SEV, SEVL and the hint space later extensions use (BTI, PAuth, …) execute as NOP.
                return -1;
        }
    }

    private int TrapWfx(bool isWfe)
    {
        // ISS: CV = 1, COND = 0b1110, TI = 0 for WFI / 1 for WFE.
        ExceptionEntry.TakeToEl1(s, ExceptionClass.Wfx, (1u << 24) | (0xEu << 20) | (isWfe ? 1u : 0u), s->PC);
        return Faulted;
    }

    private int MsrImmediate(in Inst I, ulong pc)
    {
        int op1 = I.A, op2 = I.B, crm = I.C;
        if (op1 == 0 && op2 == 5) // SPSel
        {
            if (s->EL == 0) return Undefined(in I);
            s->SelectStack(s->EL, (uint)(crm & 1));
        }
        else if (op1 == 3 && op2 is 6 or 7) // DAIFSet, DAIFClr
        {
            if (s->EL == 0 && (s->SctlrEl1 & (1UL << 9)) == 0)
                return SystemRegisterFault(SysRegResult.Trapped, SystemRegisterFile.Key(0, op1, 4, crm, op2), 31, read: false);
            ulong bits = (ulong)crm << 6;
            s->Daif = op2 == 6 ? s->Daif | bits : s->Daif & ~bits;
        }
        else
        {
            // UAO, PAN, SSBS, DIT, … belong to extensions this CPU does not implement.
            Log.Once($"msrimm:{op1}:{op2}", $"MSR (immediate) to PSTATE field op1={op1} op2={op2} is not implemented (UNDEFINED to the guest)");
            return Undefined(in I);
        }
        s->PC = pc + 4;
        return Redirect;
    }

    private int SystemRegisterFault(SysRegResult result, int key, int rd, bool read)
    {
        if (result == SysRegResult.Undefined)
        {
            ExceptionEntry.Undefined(s);
            return Faulted;
        }
        // D17.2.37 ISS for EC 0x18: Op0, Op2, Op1, CRn, Rt, CRm, Direction (1 = read).
        uint rt = rd >= 31 ? 31u : (uint)rd;
        uint iss = ((uint)(key >> 14) << 20) | ((uint)(key & 7) << 17) | ((uint)((key >> 11) & 7) << 14) |
                   ((uint)((key >> 7) & 15) << 10) | (rt << 5) | ((uint)((key >> 3) & 15) << 1) | (read ? 1u : 0u);
        ExceptionEntry.TakeToEl1(s, ExceptionClass.SysReg, iss, s->PC);
        return Faulted;
    }

    /// <summary>SYS: cache maintenance (DC, IC), address translation (AT) and TLB maintenance (TLBI).</summary>
    private int SystemInstruction(in Inst I, ulong pc)
    {
        int key = (int)I.Imm;
        int op1 = (key >> 11) & 7, crn = (key >> 7) & 15, crm = (key >> 3) & 15, op2 = key & 7;
        bool el0 = s->EL == 0;
        ulong operand = s->X[I.Rd];
        bool uci = (s->SctlrEl1 & (1UL << 26)) != 0;

        if (crn == 7)
        {
            switch (op1, crm, op2)
            {
                case (3, 4, 1): // DC ZVA
                    if (el0 && (s->SctlrEl1 & (1UL << 14)) == 0) return SystemRegisterFault(SysRegResult.Trapped, key, I.Rd, false);
                    return ZeroBlock(operand & ~63UL) ? Next(pc) : Faulted;
                case (0, 1, 0): case (0, 5, 0): // IC IALLUIS, IC IALLU
                    if (el0) return Undefined(in I);
                    cache.Clear();
                    return Next(pc);
                case (3, 5, 1): // IC IVAU
                    if (el0 && !uci) return SystemRegisterFault(SysRegResult.Trapped, key, I.Rd, false);
                    // Writes already drop the blocks they touch; this only has to forget the page's blocks here.
                    // Linux issues it for every newly mapped executable page, so it must not empty the cache.
                    if (mmu.Translate(operand, AccessKind.Read, s->EL, out ulong icPa, out _)) cache.InvalidatePage(icPa & ~0xFFFUL);
                    return Next(pc);
                case (3, 10, 1): case (3, 11, 1): case (3, 14, 1): // DC CVAC, CVAU, CIVAC
                    if (el0 && !uci) return SystemRegisterFault(SysRegResult.Trapped, key, I.Rd, false);
                    return Next(pc);
                case (0, 6, 1): case (0, 6, 2): case (0, 10, 2): case (0, 14, 2): // DC IVAC, ISW, CSW, CISW
                    if (el0) return Undefined(in I);
                    return Next(pc);
                case (0, 8, 0): case (0, 8, 1): case (0, 8, 2): case (0, 8, 3): // AT S1E1R, S1E1W, S1E0R, S1E0W
                    if (el0) return Undefined(in I);
                    s->ParEl1 = mmu.AddressTranslate(operand, (op2 & 1) != 0 ? AccessKind.Write : AccessKind.Read, op2 >= 2 ? 0u : 1u);
                    return Next(pc);
            }
        }
        else if (crn == 8 && op1 == 0 && !el0) // TLBI …E1, …E1IS
        {
            var invalidation = Tlbi(crm, op2, I.Rd == 31 ? 0 : operand);
            mmu.Tlb.Apply(invalidation);
            // CRm 3 is the Inner Shareable group: the other vCPUs apply it before they run another block.
            if (crm == 3) processor.BroadcastTlbInvalidation?.Invoke(invalidation);
            return Next(pc);
        }
        Log.Once($"sys:{key}", $"unimplemented SYS operation op1={op1} C{crn} C{crm} op2={op2} at 0x{pc:x} (UNDEFINED to the guest)");
        return Undefined(in I);
    }

    /// <summary>
    /// What a TLBI for the EL1&amp;0 regime invalidates (C5.5): by VA (VAE1, VAAE1, VALE1, VAALE1: that page, in
    /// every ASID, since dropping more is always allowed), by ASID (ASIDE1), or all (VMALLE1 and anything else).
    /// </summary>
    private static TlbInvalidation Tlbi(int crm, int op2, ulong operand)
    {
        if (crm is 3 or 7)
        {
            switch (op2)
            {
                case 1: case 3: case 5: case 7:
                    // Xt[43:0] is VA[55:12]; bit 55 says which half, so it extends into the top byte.
                    return new(TlbInvalidationScope.Page, (ulong)((long)((operand & 0xFFF_FFFF_FFFF) << 20) >> 8));
                case 2:
                    return new(TlbInvalidationScope.Asid, operand >> 48);
            }
        }
        return new(TlbInvalidationScope.All, 0);
    }

    private int Next(ulong pc)
    {
        s->PC = pc + 4;
        return Redirect;
    }

    private bool ZeroBlock(ulong address)
    {
        for (ulong offset = 0; offset < 64; offset += 8)
            if (!mmu.Write64(address + offset, 0)) return false;
        return true;
    }
}
