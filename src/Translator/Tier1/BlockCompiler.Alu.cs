using System.Reflection.Emit;
using Jit.Runtime;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>Integer data processing (C6.2), following the interpreter's cases in BlockInterpreter.Execute.</summary>
internal sealed unsafe partial class BlockCompiler
{
    private static bool Supported(in Inst i) => i.Op switch
    {
        // WFI and WFE leave for the hypervisor or trap; every other hint executes as NOP (see SystemOps.Hint).
        Op.Hint => i.A is not (2 or 3),
        Op.Dmb or Op.Dsb or Op.Clrex => true,
        Op.Adr or Op.Adrp or Op.AddImm or Op.SubImm or Op.AddsImm or Op.SubsImm => true,
        Op.AndImm or Op.OrrImm or Op.EorImm or Op.AndsImm or Op.Movz or Op.Movn or Op.Movk => true,
        Op.Ubfm or Op.Sbfm or Op.Bfm or Op.Extr => true,
        Op.AndReg or Op.BicReg or Op.OrrReg or Op.OrnReg or Op.EorReg or Op.EonReg or Op.AndsReg or Op.BicsReg => true,
        Op.AddReg or Op.SubReg or Op.AddsReg or Op.SubsReg or Op.AddExt or Op.SubExt or Op.AddsExt or Op.SubsExt => true,
        Op.Adc or Op.Sbc or Op.Adcs or Op.Sbcs or Op.CcmnReg or Op.CcmpReg or Op.CcmnImm or Op.CcmpImm => true,
        Op.Csel or Op.Csinc or Op.Csinv or Op.Csneg => true,
        Op.Madd or Op.Msub or Op.Smaddl or Op.Smsubl or Op.Umaddl or Op.Umsubl or Op.Smulh or Op.Umulh => true,
        Op.Udiv or Op.Sdiv or Op.Lslv or Op.Lsrv or Op.Asrv or Op.Rorv => true,
        Op.Crc32 or Op.Crc32c or Op.Rbit or Op.Rev16 or Op.Rev32 or Op.Rev or Op.Clz or Op.Cls => true,
        Op.B or Op.Bl or Op.BCond or Op.Cbz or Op.Cbnz or Op.Tbz or Op.Tbnz or Op.Br or Op.Ret or Op.Blr => true,
        Op.LdStUimm or Op.LdStUnscaled or Op.LdStUnpriv or Op.LdStPre or Op.LdStPost or Op.LdStReg => true,
        Op.LdrLit or Op.LdrswLit or Op.PrfmImm or Op.PrfmReg or Op.Prfum or Op.PrfmLit => true,
        Op.StpOff or Op.LdpOff or Op.LdpswOff or Op.Stnp or Op.Ldnp => true,
        Op.StpPre or Op.LdpPre or Op.LdpswPre or Op.StpPost or Op.LdpPost or Op.LdpswPost => true,
        _ => false,
    };

    /// <summary>Emits instruction <paramref name="i"/>; returns true when it ended the block (a branch).</summary>
    private bool EmitInstruction(int i, in Inst I)
    {
        switch (I.Op)
        {
            // ---- Data processing: immediate ----
            case Op.Adr: PcPlus(Here(i) + (long)I.Imm); St(I.Rd); break;
            case Op.Adrp:
                PcPlus(Here(i)); e.U8(~0xFFFUL); e.Op(OpCodes.And); e.U8(I.Imm); e.Op(OpCodes.Add); St(I.Rd);
                break;
            case Op.AddImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Add); e.Width(I.Sf); St(I.Rd); break;
            case Op.SubImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Sub); e.Width(I.Sf); St(I.Rd); break;
            case Op.AddsImm: { Inst c = I; AddSub(I, FlagKind.Add, () => Ld(c.Rn), () => e.U8(c.Imm)); break; }
            case Op.SubsImm: { Inst c = I; AddSub(I, FlagKind.Sub, () => Ld(c.Rn), () => e.U8(c.Imm)); break; }
            case Op.AndImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.And); St(I.Rd); break;
            case Op.OrrImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Or); e.Width(I.Sf); St(I.Rd); break;
            case Op.EorImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Xor); e.Width(I.Sf); St(I.Rd); break;
            case Op.AndsImm: Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.And); LogicalFlags(I.Sf); St(I.Rd); break;
            case Op.Movz: e.U8(I.Imm); St(I.Rd); break;
            case Op.Movn: e.U8(~I.Imm); e.Width(I.Sf); St(I.Rd); break;
            case Op.Movk:
                Ld(I.Rd); e.U8(~(0xFFFFUL << I.A)); e.Op(OpCodes.And); e.U8(I.Imm); e.Op(OpCodes.Or); e.Width(I.Sf); St(I.Rd);
                break;
            case Op.Ubfm: case Op.Sbfm:
                Ld(I.Rn); BitfieldMove(I.Op == Op.Sbfm, I.A, I.B, I.Sf); St(I.Rd);
                break;
            case Op.Bfm:
                Ld(I.Ra); Ld(I.Rn); e.I4(I.A); e.U8(I.Imm); e.U8(I.Imm2); e.I4(Width(I));
                e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.Bfm), typeof(ulong), typeof(ulong), typeof(int), typeof(ulong), typeof(ulong), typeof(int)));
                St(I.Rd);
                break;
            case Op.Extr:
                Ld(I.Rn); Ld(I.Rm); e.I4(I.A); e.I4(I.Sf);
                e.Call(Emitter.Method(typeof(Alu), nameof(Alu.Extr), typeof(ulong), typeof(ulong), typeof(int), typeof(byte)));
                St(I.Rd);
                break;

            // ---- Data processing: register ----
            case Op.AndReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.And); e.Width(I.Sf); St(I.Rd); break;
            case Op.BicReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Not); e.Op(OpCodes.And); e.Width(I.Sf); St(I.Rd); break;
            case Op.OrrReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Or); e.Width(I.Sf); St(I.Rd); break;
            case Op.OrnReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Not); e.Op(OpCodes.Or); e.Width(I.Sf); St(I.Rd); break;
            case Op.EorReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Xor); e.Width(I.Sf); St(I.Rd); break;
            case Op.EonReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Not); e.Op(OpCodes.Xor); e.Width(I.Sf); St(I.Rd); break;
            case Op.AndsReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.And); LogicalFlags(I.Sf); St(I.Rd); break;
            case Op.BicsReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Not); e.Op(OpCodes.And); LogicalFlags(I.Sf); St(I.Rd); break;
            case Op.AddReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Add); e.Width(I.Sf); St(I.Rd); break;
            case Op.SubReg: Ld(I.Rn); ShiftedRm(I); e.Op(OpCodes.Sub); e.Width(I.Sf); St(I.Rd); break;
            case Op.AddsReg: { Inst c = I; AddSub(I, FlagKind.Add, () => Ld(c.Rn), () => ShiftedRm(c)); break; }
            case Op.SubsReg: { Inst c = I; AddSub(I, FlagKind.Sub, () => Ld(c.Rn), () => ShiftedRm(c)); break; }
            case Op.AddExt: Ld(I.Rn); ExtendedRm(I); e.Op(OpCodes.Add); e.Width(I.Sf); St(I.Rd); break;
            case Op.SubExt: Ld(I.Rn); ExtendedRm(I); e.Op(OpCodes.Sub); e.Width(I.Sf); St(I.Rd); break;
            case Op.AddsExt: { Inst c = I; AddSub(I, FlagKind.Add, () => Ld(c.Rn), () => ExtendedRm(c)); break; }
            case Op.SubsExt: { Inst c = I; AddSub(I, FlagKind.Sub, () => Ld(c.Rn), () => ExtendedRm(c)); break; }
            case Op.Adc: case Op.Sbc:
                Ld(I.Rn); Ld(I.Rm);
                if (I.Op == Op.Sbc) e.Op(OpCodes.Not);
                e.Op(OpCodes.Add); Carry(); e.Op(OpCodes.Add); e.Width(I.Sf); St(I.Rd);
                break;
            case Op.Adcs: case Op.Sbcs:
                Ld(I.Rn); Ld(I.Rm);
                if (I.Op == Op.Sbcs) e.Op(OpCodes.Not);
                Carry(); e.I4(I.Sf); e.Addr(nzcv);
                e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.AddWithCarry), typeof(ulong), typeof(ulong), typeof(ulong), typeof(int), typeof(ulong).MakeByRefType()));
                flags = new FlagState(FlagKind.InLocal, 0, true);
                St(I.Rd);
                break;
            case Op.CcmnReg: case Op.CcmpReg: case Op.CcmnImm: case Op.CcmpImm:
                CondCompare(I);
                break;
            case Op.Csel: case Op.Csinc: case Op.Csinv: case Op.Csneg:
            {
                Label other = e.Label(), done = e.Label();
                Condition(I.C);
                e.Br(OpCodes.Brfalse, other);
                Ld(I.Rn);
                e.Br(OpCodes.Br, done);
                e.Mark(other);
                Ld(I.Rm);
                switch (I.Op)
                {
                    case Op.Csinc: e.U8(1); e.Op(OpCodes.Add); break;
                    case Op.Csinv: e.Op(OpCodes.Not); break;
                    case Op.Csneg: e.Op(OpCodes.Neg); break;
                }
                e.Mark(done);
                e.Width(I.Sf);
                St(I.Rd);
                break;
            }
            case Op.Madd: case Op.Msub:
                Ld(I.Ra); Ld(I.Rn); Ld(I.Rm); e.Op(OpCodes.Mul);
                e.Op(I.Op == Op.Madd ? OpCodes.Add : OpCodes.Sub); e.Width(I.Sf); St(I.Rd);
                break;
            case Op.Smaddl: case Op.Smsubl: case Op.Umaddl: case Op.Umsubl:
            {
                bool signed = I.Op is Op.Smaddl or Op.Smsubl;
                Ld(I.Ra);
                Ld(I.Rn); Narrow32(signed);
                Ld(I.Rm); Narrow32(signed);
                e.Op(OpCodes.Mul);
                e.Op(I.Op is Op.Smaddl or Op.Umaddl ? OpCodes.Add : OpCodes.Sub);
                St(I.Rd);
                break;
            }
            case Op.Smulh: case Op.Umulh:
                Ld(I.Rn); Ld(I.Rm);
                e.Call(Emitter.Method(typeof(Tier1Ops), I.Op == Op.Smulh ? nameof(Tier1Ops.Smulh) : nameof(Tier1Ops.Umulh), typeof(ulong), typeof(ulong)));
                St(I.Rd);
                break;
            case Op.Udiv: case Op.Sdiv:
                Ld(I.Rn); Ld(I.Rm); e.I4(I.Sf);
                e.Call(Emitter.Method(typeof(Alu), I.Op == Op.Udiv ? nameof(Alu.Udiv) : nameof(Alu.Sdiv), typeof(ulong), typeof(ulong), typeof(byte)));
                St(I.Rd);
                break;
            case Op.Lslv: case Op.Lsrv: case Op.Asrv: case Op.Rorv:
                Ld(I.Rn); e.I4(I.Op - Op.Lslv); Ld(I.Rm); e.Op(OpCodes.Conv_I4); e.I4(I.Sf != 0 ? 63 : 31); e.Op(OpCodes.And); e.I4(I.Sf);
                e.Call(Emitter.Method(typeof(Alu), nameof(Alu.Shift), typeof(ulong), typeof(int), typeof(int), typeof(byte)));
                St(I.Rd);
                break;
            case Op.Crc32: case Op.Crc32c:
                Ld(I.Rn); e.Op(OpCodes.Conv_U4); Ld(I.Rm); e.I4(I.A);
                e.Call(Emitter.Method(typeof(Crc), I.Op == Op.Crc32 ? nameof(Crc.Crc32) : nameof(Crc.Crc32c), typeof(uint), typeof(ulong), typeof(int)));
                St(I.Rd);
                break;
            case Op.Rev32:
                Ld(I.Rn); e.Call(Emitter.Method(typeof(Alu), nameof(Alu.Rev32), typeof(ulong))); St(I.Rd);
                break;
            case Op.Rbit: case Op.Rev16: case Op.Rev: case Op.Clz: case Op.Cls:
                Ld(I.Rn); e.I4(I.Sf);
                e.Call(Emitter.Method(typeof(Alu), I.Op.ToString(), typeof(ulong), typeof(byte)));
                St(I.Rd);
                break;

            // ---- Hints and barriers ----
            case Op.Hint: break;
            case Op.Dmb: case Op.Dsb:
                e.Call(Emitter.Method(typeof(Interlocked), nameof(Interlocked.MemoryBarrier)));
                break;
            case Op.Clrex:
                e.Arg(ArgState); e.I4(ExclusiveValidOffset); e.Op(OpCodes.Add); e.I4(0); e.Op(OpCodes.Stind_I4);
                break;

            default:
                return EmitBranchOrMemory(i, in I);
        }
        return false;
    }

    private static int Width(in Inst I) => I.Sf != 0 ? 64 : 32;

    private void Narrow32(bool signed)
    {
        e.Op(signed ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
        e.Op(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
    }

    /// <summary>ShiftReg(Rm, shift, amount) at the operation's width.</summary>
    private void ShiftedRm(in Inst I)
    {
        Ld(I.Rm);
        if (I.B == 0)
        {
            // Any shift by zero is the identity, once a 32-bit operand is truncated.
            e.Width(I.Sf);
            return;
        }
        ConstantShift(I.A, I.B, I.Sf);
    }

    /// <summary>
    /// Shifts the ulong on the stack by a constant (type LSL, LSR, ASR, ROR) at the operation's width, as IL
    /// shift opcodes RyuJIT turns into one instruction; a 32-bit result comes back zero-extended.
    /// </summary>
    private void ConstantShift(int type, int amount, byte sf)
    {
        if (sf == 0) e.Op(OpCodes.Conv_U4);
        e.I4(amount);
        switch (type)
        {
            case 0: e.Op(OpCodes.Shl); break;
            case 1: e.Op(OpCodes.Shr_Un); break;
            case 2: e.Op(OpCodes.Shr); break;
            default:
                e.Call(Emitter.Method(typeof(System.Numerics.BitOperations), nameof(System.Numerics.BitOperations.RotateRight), sf != 0 ? typeof(ulong) : typeof(uint), typeof(int)));
                break;
        }
        if (sf != 0) return;
        e.Op(OpCodes.Conv_U4);
        e.Op(OpCodes.Conv_U8);
    }

    /// <summary>
    /// UBFM/SBFM (C6.2.333, C6.2.266) on the ulong on the stack, as two or three constant shifts: with
    /// imms &gt;= immr the field [imms:immr] moves down to bit 0 (UBFX, LSR, SBFX, ASR, the extends); otherwise
    /// field [imms:0] moves up to bit width − immr (LSL, UBFIZ, SBFIZ). The signed form shifts arithmetically.
    /// </summary>
    private void BitfieldMove(bool signed, int r, int s, byte sf)
    {
        int top = (sf != 0 ? 63 : 31) - s;
        OpCode down = signed ? OpCodes.Shr : OpCodes.Shr_Un;
        if (sf == 0) e.Op(OpCodes.Conv_U4);
        e.I4(top); e.Op(OpCodes.Shl);
        if (s >= r)
        {
            e.I4(top + r); e.Op(down);
        }
        else
        {
            e.I4(top); e.Op(down);
            e.I4((sf != 0 ? 64 : 32) - r); e.Op(OpCodes.Shl);
        }
        if (sf == 0) { e.Op(OpCodes.Conv_U4); e.Op(OpCodes.Conv_U8); }
    }

    private void ExtendedRm(in Inst I)
    {
        Ld(I.Rm); e.I4(I.A); e.I4(I.B);
        e.Call(Emitter.Method(typeof(Alu), nameof(Alu.ExtendReg), typeof(ulong), typeof(int), typeof(int)));
    }

    /// <summary>ADDS/SUBS: operands to fa/fb at the operation's width, result to fres and Rd, flags left pending.</summary>
    private void AddSub(in Inst I, FlagKind kind, Action pushA, Action pushB)
    {
        pushA(); e.Width(I.Sf); e.St(fa);
        pushB(); e.Width(I.Sf); e.St(fb);
        e.Ld(fa); e.Ld(fb);
        e.Op(kind == FlagKind.Add ? OpCodes.Add : OpCodes.Sub);
        e.Width(I.Sf);
        e.St(fres);
        SetPendingFlags(kind, I.Sf);
        e.Ld(fres);
        St(I.Rd);
    }

    /// <summary>The result on the stack goes to fres (truncated) and stays on the stack; flags pending as logical.</summary>
    private void LogicalFlags(byte sf)
    {
        e.Width(sf);
        e.St(fres);
        SetPendingFlags(FlagKind.Logical, sf);
        e.Ld(fres);
    }

    /// <summary>Pushes PSTATE.C as 0 or 1 (ulong).</summary>
    private void Carry()
    {
        MaterializeFlags();
        e.Ld(nzcv); e.I4(29); e.Op(OpCodes.Shr_Un); e.U8(1); e.Op(OpCodes.And);
    }

    /// <summary>CCMP/CCMN: the flags of the comparison if the condition holds, else the immediate NZCV.</summary>
    private void CondCompare(in Inst I)
    {
        Label otherwise = e.Label(), done = e.Label();
        Condition(I.C);
        // Condition may have materialised the flags; either way the result goes to the nzcv local.
        e.Br(OpCodes.Brfalse, otherwise);
        Ld(I.Rn); e.Width(I.Sf);
        if (I.Op is Op.CcmnImm or Op.CcmpImm) e.U8(I.Imm); else Ld(I.Rm);
        e.Width(I.Sf);
        bool add = I.Op is Op.CcmnReg or Op.CcmnImm;
        e.Call(Emitter.Method(typeof(Tier1Ops), (add ? "NzcvAdd" : "NzcvSub") + (I.Sf != 0 ? "64" : "32"), typeof(ulong), typeof(ulong)));
        e.St(nzcv);
        e.Br(OpCodes.Br, done);
        e.Mark(otherwise);
        e.U8((ulong)I.B << 28);
        e.St(nzcv);
        e.Mark(done);
        flags = new FlagState(FlagKind.InLocal, 0, true);
    }
}
