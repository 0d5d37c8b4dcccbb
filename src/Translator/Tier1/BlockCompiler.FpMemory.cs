using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Jit.Runtime;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// SIMD&amp;FP loads and stores (LDR/STR, LDP/STP, LD1/ST1 of whole registers) and FMOV between general and
/// vector registers, following the interpreter's FpOps: what glibc's memcpy, memset, strlen and strchr run on
/// every call (on the busybox shell loop, LDP/STP of Q registers alone were 6 M trips through the executor in
/// 20,000 iterations, each a write-back, a call into the interpreter and a reload of the flags).
/// </summary>
internal sealed unsafe partial class BlockCompiler
{
    private static readonly int VOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.V));
    private static readonly int CpacrOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.CpacrEl1));

    // CPACR_EL1.FPEN allows the access at the region's EL (see FpAllowed), computed in the prologue; null until
    // the region has an instruction that needs it.
    private LocalBuilder? fpAllowed;
    private LocalBuilder? val3, val4;

    /// <summary>
    /// The instructions this file covers, in IL: a region whose EL may not use FP/SIMD (CPACR_EL1.FPEN) sends
    /// them to the executor, which takes the access trap. False for any other instruction.
    /// </summary>
    private bool TryFpMemory(int i, Block member, in Inst inst)
    {
        if (inst.Op is not (Op.LdStFpUimm or Op.LdStFpUnscaled or Op.LdStFpReg or Op.LdStFpPre or Op.LdStFpPost
                or Op.LdStpFpOff or Op.LdStnpFp or Op.LdStpFpPre or Op.LdStpFpPost
                or Op.FmovToGp or Op.FmovToGpTop or Op.FmovFromGp or Op.FmovFromGpTop)
            && !(inst.Op is Op.LdStMulti or Op.LdStMultiPost && inst.Imm2 >> 8 == 1)) return false;
        Label stub = e.Label(), resume = e.Label();
        e.Ld(fpAllowed ??= e.Local<int>()); e.Br(OpCodes.Brfalse, stub);
        switch (inst.Op)
        {
            case Op.FmovToGp:
                LoadV(inst.Rn, 0);
                if (inst.Sf == 0) { e.Op(OpCodes.Conv_U4); e.Op(OpCodes.Conv_U8); }
                St(inst.Rd);
                break;
            case Op.FmovToGpTop:
                LoadV(inst.Rn, 1); St(inst.Rd);
                break;
            case Op.FmovFromGp:
                Ld(inst.Rn); e.Width(inst.Sf); e.St(val1);
                StoreV(inst.Rd, 0, val1);
                StoreVZero(inst.Rd, 1);
                break;
            case Op.FmovFromGpTop:
                // Writes only the top half: the low doubleword keeps its value.
                Ld(inst.Rn); e.St(val1);
                StoreV(inst.Rd, 1, val1);
                break;
            case Op.LdStFpUimm: case Op.LdStFpUnscaled:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.U8(inst.Imm); e.Op(OpCodes.Add); e.St(va);
                FpSingle(i, inst.Rd, inst.A, inst.B != 0);
                break;
            case Op.LdStFpReg:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn);
                Ld(inst.Rm); e.I4(inst.C); e.I4((int)inst.Imm);
                e.Call(Emitter.Method(typeof(Alu), nameof(Alu.ExtendReg), typeof(ulong), typeof(int), typeof(int)));
                e.Op(OpCodes.Add); e.St(va);
                FpSingle(i, inst.Rd, inst.A, inst.B != 0);
                break;
            case Op.LdStFpPre:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.U8(inst.Imm); e.Op(OpCodes.Add); e.St(va);
                FpSingle(i, inst.Rd, inst.A, inst.B != 0);
                e.Ld(va); St(inst.Rn);
                break;
            case Op.LdStFpPost:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.St(va);
                FpSingle(i, inst.Rd, inst.A, inst.B != 0);
                e.Ld(va); e.U8(inst.Imm); e.Op(OpCodes.Add); St(inst.Rn);
                break;
            case Op.LdStpFpOff: case Op.LdStnpFp:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.U8(inst.Imm); e.Op(OpCodes.Add); e.St(va);
                FpPair(i, in inst);
                break;
            case Op.LdStpFpPre:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.U8(inst.Imm); e.Op(OpCodes.Add); e.St(va);
                FpPair(i, in inst);
                e.Ld(va); St(inst.Rn);
                break;
            case Op.LdStpFpPost:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.St(va);
                FpPair(i, in inst);
                e.Ld(va); e.U8(inst.Imm); e.Op(OpCodes.Add); St(inst.Rn);
                break;
            case Op.LdStMulti: case Op.LdStMultiPost:
                SpAlignmentCheck(i, inst.Rn);
                Ld(inst.Rn); e.St(va);
                ContiguousRegisters(i, in inst);
                if (inst.C != 0) { e.Ld(va); Ld(inst.Rm); e.Op(OpCodes.Add); e.U8(inst.Imm); e.Op(OpCodes.Add); St(inst.Rn); }
                break;
        }
        e.Mark(resume);
        // None of these changes NZCV, so the executor's path (the access trap) keeps the flags' form.
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// AdvSIMD data processing (the compares, MOVI, SHRN, UMAXP and friends of glibc's string functions): DUP from
    /// a general register in IL, and every form that touches only vector registers and FPSR through the
    /// executor's vector entry, which needs none of the region's locals stored or reloaded. FPEN clear, or an
    /// opcode the executor does not implement, goes the executor's whole way. False for any other instruction.
    /// </summary>
    private bool TryVector(int i, Block member, in Inst inst)
    {
        if (inst.Op <= Op.SimdFirst || inst.Op >= Op.OpsEnd || inst.Op is Op.VIns or Op.VUmov or Op.VSmov) return false;
        Label stub = e.Label(), resume = e.Label();
        e.Ld(fpAllowed ??= e.Local<int>()); e.Br(OpCodes.Brfalse, stub);
        if (inst.Op == Op.VDupGeneral)
        {
            // The element replicated across 64 bits, in both halves for a 128-bit arrangement (B = 16 bytes).
            int bits = 8 << inst.A;
            Ld(inst.Rn);
            if (bits < 64) { e.U8((1UL << bits) - 1); e.Op(OpCodes.And); }
            switch (inst.A)
            {
                case 0: e.U8(0x0101_0101_0101_0101UL); e.Op(OpCodes.Mul); break;
                case 1: e.U8(0x0001_0001_0001_0001UL); e.Op(OpCodes.Mul); break;
                case 2: e.U8(0x0000_0001_0000_0001UL); e.Op(OpCodes.Mul); break;
            }
            e.St(val1);
            StoreV(inst.Rd, 0, val1);
            if (inst.B == 16) StoreV(inst.Rd, 1, val1);
            else StoreVZero(inst.Rd, 1);
        }
        else
        {
            e.Arg(ArgClosure); e.I4(singles.Count);
            e.Call(Emitter.Method(typeof(RegionClosure), nameof(RegionClosure.Vector), typeof(int)));
            e.Br(OpCodes.Brfalse, stub);
        }
        e.Mark(resume);
        // Same single (index singles.Count) for the executor's whole way.
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// Pushes 1 when CPACR_EL1.FPEN lets the region's EL use FP/SIMD (D17.2.30: 0b11 at EL0 and EL1, 0b01 at EL1
    /// only): bit ((FPEN &lt;&lt; 1) | (EL != 0)) of 0b1100_1000. Neither CPACR_EL1 nor the EL changes inside a
    /// region (the MSR and every exception leave it), so the prologue computes it once.
    /// </summary>
    private void EmitFpAllowed(LocalBuilder into)
    {
        e.I4(0xC8);
        e.LoadState(CpacrOffset, OpCodes.Ldind_I8); e.I4(19); e.Op(OpCodes.Shr_Un); e.Op(OpCodes.Conv_I4); e.I4(6); e.Op(OpCodes.And);
        e.Ld(el); e.I4(0); e.Op(OpCodes.Cgt_Un); e.Op(OpCodes.Or);
        e.Op(OpCodes.Shr);
        e.I4(1); e.Op(OpCodes.And);
        e.St(into);
    }

    /// <summary>Pushes doubleword <paramref name="half"/> (0 low, 1 high) of V[<paramref name="reg"/>].</summary>
    private void LoadV(int reg, int half) => e.LoadState(VOffset + 16 * reg + 8 * half, OpCodes.Ldind_I8);

    private void StoreV(int reg, int half, LocalBuilder value) => e.StoreState(VOffset + 16 * reg + 8 * half, value, OpCodes.Stind_I8);

    private void StoreVZero(int reg, int half)
    {
        e.Arg(ArgState); e.I4(VOffset + 16 * reg + 8 * half); e.Op(OpCodes.Add); e.U8(0); e.Op(OpCodes.Stind_I8);
    }

    /// <summary>
    /// LDR/STR (SIMD&amp;FP) of 1 &lt;&lt; <paramref name="sizeLog2"/> bytes at <c>va</c>: a Q register as two
    /// doublewords, low first, as the interpreter accesses it; a load zeroes the rest of the register and
    /// writes nothing unless every read succeeded.
    /// </summary>
    private void FpSingle(int i, int rt, int sizeLog2, bool load)
    {
        bool q = sizeLog2 == 4;
        int size = q ? 8 : 1 << sizeLog2;
        if (!load)
        {
            LoadV(rt, 0); e.St(val1);
            Write(i, va, size, val1, false);
            if (!q) return;
            e.Ld(va); e.U8(8); e.Op(OpCodes.Add); e.St(va2);
            LoadV(rt, 1); e.St(val2);
            Write(i, va2, 8, val2, false);
            return;
        }
        Read(i, va, size, val1, false);
        if (q)
        {
            e.Ld(va); e.U8(8); e.Op(OpCodes.Add); e.St(va2);
            Read(i, va2, 8, val2, false);
        }
        StoreV(rt, 0, val1);
        if (q) StoreV(rt, 1, val2);
        else StoreVZero(rt, 1);
    }

    /// <summary>
    /// LD1/ST1 (multiple structures) of one to four registers, one element per structure: in a little-endian
    /// memory the registers lie one after another whatever the element size, so this moves them as the
    /// interpreter's byte buffer does, a doubleword at a time in memory order; a load writes no register
    /// unless every read succeeded, and a 64-bit arrangement zeroes the top halves.
    /// </summary>
    private void ContiguousRegisters(int i, in Inst inst)
    {
        int rpt = (int)(inst.Imm2 & 0xFF);
        bool q = inst.Sf != 0;
        var parts = new List<(int Reg, int Half, int Offset)>();
        for (int r = 0; r < rpt; r++)
        {
            parts.Add(((inst.Rd + r) & 31, 0, r * (q ? 16 : 8)));
            if (q) parts.Add(((inst.Rd + r) & 31, 1, r * 16 + 8));
        }
        if (inst.B == 0)
        {
            foreach (var (reg, half, offset) in parts)
            {
                LocalBuilder addr = offset == 0 ? va : va2;
                if (offset != 0) { e.Ld(va); e.U8((ulong)offset); e.Op(OpCodes.Add); e.St(va2); }
                LoadV(reg, half); e.St(val1);
                Write(i, addr, 8, val1, false);
            }
            return;
        }
        var values = new LocalBuilder[parts.Count];
        for (int k = 0; k < parts.Count; k++)
        {
            values[k] = k switch { 0 => val1, 1 => val2, 2 => val3 ??= e.Local<ulong>(), 3 => val4 ??= e.Local<ulong>(), _ => e.Local<ulong>() };
            int offset = parts[k].Offset;
            LocalBuilder addr = offset == 0 ? va : va2;
            if (offset != 0) { e.Ld(va); e.U8((ulong)offset); e.Op(OpCodes.Add); e.St(va2); }
            Read(i, addr, 8, values[k], false);
        }
        for (int k = 0; k < parts.Count; k++)
        {
            StoreV(parts[k].Reg, parts[k].Half, values[k]);
            if (!q) StoreVZero(parts[k].Reg, 1);
        }
    }

    /// <summary>LDP/STP/LDNP/STNP (SIMD&amp;FP) at <c>va</c>; a load writes neither register unless every read succeeded.</summary>
    private void FpPair(int i, in Inst inst)
    {
        bool q = inst.A == 4;
        int size = q ? 8 : 1 << inst.A;
        int stride = 1 << inst.A;
        // The doublewords (or smaller elements) in memory order: Rt's low, Rt's high, Rt2's low, Rt2's high.
        var parts = q
            ? new (int Reg, int Half, int Offset)[] { (inst.Rd, 0, 0), (inst.Rd, 1, 8), (inst.Ra, 0, 16), (inst.Ra, 1, 24) }
            : [(inst.Rd, 0, 0), (inst.Ra, 0, stride)];
        if (inst.B == 0)
        {
            foreach (var (reg, half, offset) in parts)
            {
                LocalBuilder addr = offset == 0 ? va : va2;
                if (offset != 0) { e.Ld(va); e.U8((ulong)offset); e.Op(OpCodes.Add); e.St(va2); }
                LoadV(reg, half); e.St(val1);
                Write(i, addr, size, val1, false);
            }
            return;
        }
        LocalBuilder[] values = q ? [val1, val2, val3 ??= e.Local<ulong>(), val4 ??= e.Local<ulong>()] : [val1, val2];
        for (int k = 0; k < parts.Length; k++)
        {
            int offset = parts[k].Offset;
            LocalBuilder addr = offset == 0 ? va : va2;
            if (offset != 0) { e.Ld(va); e.U8((ulong)offset); e.Op(OpCodes.Add); e.St(va2); }
            Read(i, addr, size, values[k], false);
        }
        for (int k = 0; k < parts.Length; k++)
        {
            StoreV(parts[k].Reg, parts[k].Half, values[k]);
            if (!q) StoreVZero(parts[k].Reg, 1);
        }
    }
}
