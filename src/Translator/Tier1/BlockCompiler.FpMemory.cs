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

    // 1 when CPACR_EL1.FPEN allows FP/SIMD at the region's EL (see EmitFpAllowed), computed in the prologue; null
    // until the region has an instruction that needs it.
    private LocalBuilder? fpAllowed;

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
        Label stub = FpGate(), resume = e.Label();
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
            default:
                FpAccess(i, in inst);
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
        Label stub = FpGate(), resume = e.Label();
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

    /// <summary>Branches to the returned label, the executor's stub, unless FP/SIMD is enabled at the region's EL.</summary>
    private Label FpGate()
    {
        Label stub = e.Label();
        e.Ld(fpAllowed ??= e.Local<int>()); e.Br(OpCodes.Brfalse, stub);
        return stub;
    }

    /// <summary>
    /// Sets <paramref name="into"/> to 1 when CPACR_EL1.FPEN lets the region's EL use FP/SIMD (D17.2.30: 0b11
    /// at EL0 and EL1, 0b01 at EL1 only): bit ((FPEN &lt;&lt; 1) | (EL != 0)) of 0b1100_1000. Neither CPACR_EL1
    /// nor the EL changes inside a region (the MSR and every exception leave it), so the prologue computes it once.
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
    /// The loads and stores: LDR/STR (SIMD&amp;FP) in every addressing form, LDP/STP/LDNP/STNP (SIMD&amp;FP), and
    /// LD1/ST1 (multiple structures) with one element per structure, whose registers lie one after another in a
    /// little-endian memory whatever the element size. Each is a list of register parts in memory order, moved
    /// as the interpreter moves them (a Q register as two doublewords, low first).
    /// </summary>
    private void FpAccess(int i, in Inst inst)
    {
        bool multi = inst.Op is Op.LdStMulti or Op.LdStMultiPost;
        bool pair = inst.Op is Op.LdStpFpOff or Op.LdStnpFp or Op.LdStpFpPre or Op.LdStpFpPost;
        bool post = inst.Op is Op.LdStFpPost or Op.LdStpFpPost or Op.LdStMultiPost;
        bool pre = inst.Op is Op.LdStFpPre or Op.LdStpFpPre;
        SpAlignmentCheck(i, inst.Rn);
        Ld(inst.Rn);
        if (inst.Op == Op.LdStFpReg)
        {
            Ld(inst.Rm); e.I4(inst.C); e.I4((int)inst.Imm);
            e.Call(Emitter.Method(typeof(Alu), nameof(Alu.ExtendReg), typeof(ulong), typeof(int), typeof(int)));
            e.Op(OpCodes.Add);
        }
        else if (!post && !multi) { e.U8(inst.Imm); e.Op(OpCodes.Add); }
        e.St(va);

        // A Q register is two doubleword parts; anything narrower is one part of its own size, and a load then
        // zeroes the rest of the register.
        bool q = multi ? inst.Sf != 0 : inst.A == 4;
        int size = q || multi ? 8 : 1 << inst.A;
        int bytes = multi ? (q ? 16 : 8) : 1 << inst.A;
        int count = multi ? (int)(inst.Imm2 & 0xFF) : pair ? 2 : 1;
        var parts = new List<(int Reg, int Half, int Offset)>();
        for (int r = 0; r < count; r++)
        {
            int reg = pair ? (r == 0 ? inst.Rd : inst.Ra) : (inst.Rd + r) & 31;
            parts.Add((reg, 0, r * bytes));
            if (q) parts.Add((reg, 1, r * bytes + 8));
        }
        Transfer(i, parts, size, inst.B != 0, zeroTop: !q);

        // Writeback: the address for pre-index; for post-index the immediate, plus X[Rm] for LD1/ST1's register
        // form (Rm is the zero register in its immediate form).
        if (pre) { e.Ld(va); St(inst.Rn); }
        else if (post)
        {
            e.Ld(va);
            if (multi) { Ld(inst.Rm); e.Op(OpCodes.Add); }
            e.U8(inst.Imm); e.Op(OpCodes.Add); St(inst.Rn);
        }
    }

    // Locals for a load's parts beyond the first two (val1, val2): a load reads every part before it writes any.
    private readonly List<LocalBuilder> partValues = [];

    /// <summary>
    /// Moves <paramref name="parts"/> of <paramref name="size"/> bytes each between the vector registers and
    /// <c>va</c> + offset: a store part by part, a load reading every part before writing any register, so a
    /// fault leaves the registers as they were.
    /// </summary>
    private void Transfer(int i, List<(int Reg, int Half, int Offset)> parts, int size, bool load, bool zeroTop)
    {
        var values = new LocalBuilder[parts.Count];
        for (int k = 0; k < parts.Count; k++)
        {
            var (reg, half, offset) = parts[k];
            LocalBuilder addr = va;
            if (offset != 0)
            {
                e.Ld(va); e.U8((ulong)offset); e.Op(OpCodes.Add); e.St(va2);
                addr = va2;
            }
            if (!load)
            {
                LoadV(reg, half); e.St(val1);
                Write(i, addr, size, val1, false);
                continue;
            }
            while (partValues.Count < k - 1) partValues.Add(e.Local<ulong>());
            values[k] = k == 0 ? val1 : k == 1 ? val2 : partValues[k - 2];
            Read(i, addr, size, values[k], false);
        }
        if (!load) return;
        for (int k = 0; k < parts.Count; k++)
        {
            StoreV(parts[k].Reg, parts[k].Half, values[k]);
            if (zeroTop) StoreVZero(parts[k].Reg, 1);
        }
    }
}
