using Jit.Translator;
using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    /// <summary>Noise in every V register (stores show it, loads must replace or keep exactly the right bytes).</summary>
    private static void NoiseV(CaseBuilder b)
    {
        for (int i = 0; i < 64; i++) b.Case.V[i] = b.R.Chance(80) ? b.R.Next() : Values.Next(b.R);
    }

    /// <summary>A literal load alone, or one or two LDR/STR/LDUR/STUR/LDP/STP/LDNP/STNP of SIMD&amp;FP registers.</summary>
    private static TestCase FpLoadStore(CaseBuilder b)
    {
        NoiseV(b);
        if (b.R.Chance(12)) return FpLiteral(b);
        int n = b.R.Chance(35) ? 2 : 1;
        for (int i = 0; i < n; i++)
        {
            if (b.R.Chance(35)) FpPairAccess(b);
            else FpSingleAccess(b);
        }
        return b.Finish();
    }

    private static void FpSingleAccess(CaseBuilder b)
    {
        var r = b.R;
        // size:opc; log2 of the access: B 0, H 1, S 2, D 3, Q 4.
        int log2 = r.Below(5);
        uint size = log2 == 4 ? 0u : (uint)log2, opc = (log2 == 4 ? 2u : 0u) | r.Bits(1);
        int bytes = 1 << log2;
        uint rt = r.Bits(5), rn = b.AddressReg();
        switch (r.Below(8))
        {
            case 0: case 1:
            {
                uint imm12 = r.Below(3) switch { 0 => 0, 1 => (uint)r.Below(16), _ => r.Bits(12) };
                ulong ea = b.SetBase(rn, (ulong)imm12 << log2, bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, Math.Min(bytes, 8));
                b.Emit(Op.LdStFpUimm, ("size", size), ("opc", opc), ("imm12", imm12), ("Rn", rn), ("Rt", rt));
                break;
            }
            case 2: case 3:
            {
                var (option, s, rm) = RegisterOffset(b, rn, (uint)log2, bytes);
                b.Emit(Op.LdStFpReg, ("size", size), ("opc", opc), ("Rm", rm), ("option", option), ("S", s), ("Rn", rn), ("Rt", rt));
                break;
            }
            case 4: case 5:
            {
                uint imm9 = Imm9(r);
                ulong ea = b.SetBase(rn, (ulong)Bits.SignExtend(imm9, 9), bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, Math.Min(bytes, 8));
                b.Emit(Op.LdStFpUnscaled, ("size", size), ("opc", opc), ("imm9", imm9), ("Rn", rn), ("Rt", rt));
                break;
            }
            default:
            {
                uint imm9 = Imm9(r);
                bool pre = r.Coin();
                ulong ea = b.SetBase(rn, pre ? (ulong)Bits.SignExtend(imm9, 9) : 0, bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, Math.Min(bytes, 8));
                b.Emit(pre ? Op.LdStFpPre : Op.LdStFpPost, ("size", size), ("opc", opc), ("imm9", imm9), ("Rn", rn), ("Rt", rt));
                break;
            }
        }
        b.Reserve(rn);
    }

    private static void FpPairAccess(CaseBuilder b)
    {
        var r = b.R;
        int mode = r.Below(4); // 0 no-allocate, 1 post-index, 2 signed offset, 3 pre-index
        uint opc = (uint)r.Below(3), l = r.Bits(1);
        int esize = 4 << (int)opc;
        uint rt = r.Bits(5), rt2 = r.Bits(5), rn = b.AddressReg();
        // A load into one register twice is CONSTRAINED UNPREDICTABLE.
        while (l == 1 && rt2 == rt) rt2 = r.Bits(5);
        uint imm7 = r.Below(3) switch { 0 => 0, 1 => (uint)r.Range(-4, 4) & 0x7F, _ => r.Bits(7) };
        long offset = Bits.SignExtend(imm7, 7) * esize;
        ulong ea = b.SetBase(rn, mode == 1 ? 0 : (ulong)offset, 2 * esize, b.MaybeAligned(esize));
        b.MaybePoke(ea, Math.Min(esize, 8));
        Op op = mode switch { 0 => Op.LdStnpFp, 1 => Op.LdStpFpPost, 2 => Op.LdStpFpOff, _ => Op.LdStpFpPre };
        b.Emit(op, ("opc", opc), ("L", l), ("imm7", imm7), ("Rt2", rt2), ("Rn", rn), ("Rt", rt));
        b.Reserve(rn);
    }

    /// <summary>LDR (literal, SIMD&amp;FP) of S, D or Q, placed before or after the scratch pages.</summary>
    private static TestCase FpLiteral(CaseBuilder b)
    {
        var r = b.R;
        uint p = r.Below(3) switch
        {
            0 => 0,
            1 => (uint)r.Range(1, (int)(Protocol.ScratchPages / 4) - 2) * 4,
            _ => (uint)r.Range((int)((Protocol.ScratchPages + Protocol.ScratchPagesSize) / 4), (int)(Protocol.CodeLimit / 4) - 2) * 4,
        };
        uint opc = (uint)r.Below(3);
        int bytes = 4 << (int)opc;
        ulong ea = b.PickEa(bytes, 4);
        b.MaybePoke(ea, Math.Min(bytes, 8));
        uint imm19 = (uint)((long)(ea - Protocol.RegionBase - p) >> 2) & 0x7FFFF;
        uint word = b.Track(Op.LdrLitFp, ("opc", opc), ("imm19", imm19), ("Rt", r.Bits(5)));
        if (p == 0)
        {
            b.EmitRaw(word);
            return b.Finish();
        }
        b.EmitRaw(Encoder.Branch(0, p));
        b.AddChunk(p, word, Protocol.EndWord);
        return b.Finish(appendEnd: false);
    }

    private static readonly uint[] multiOpcodes = [0b0000, 0b0010, 0b0100, 0b0110, 0b0111, 0b1000, 0b1010];

    /// <summary>LD1–LD4/ST1–ST4: multiple structures, one lane, and replicate; with and without post-index.</summary>
    private static void FpStructures(CaseBuilder b)
    {
        NoiseV(b);
        var r = b.R;
        int n = r.Chance(30) ? 2 : 1;
        for (int i = 0; i < n; i++)
        {
            uint rn = b.AddressReg(), rt = r.Bits(5), q = r.Bits(1);
            bool post = r.Coin();
            uint rm = 31;
            int kind = r.Below(3);
            int bytes;
            Op op;
            var fields = new List<(string, uint)>();
            switch (kind)
            {
                case 0:
                {
                    uint opcode = r.Pick(multiOpcodes), size = r.Bits(2);
                    bool oneElement = opcode is 0b0000 or 0b0100 or 0b1000;
                    if (oneElement && size == 3) q = 1;
                    int regs = opcode switch { 0b0000 or 0b0010 => 4, 0b0100 or 0b0110 => 3, 0b0111 => 1, _ => 2 };
                    bytes = regs * (q == 1 ? 16 : 8);
                    op = post ? Op.LdStMultiPost : Op.LdStMulti;
                    fields.AddRange([("Q", q), ("L", r.Bits(1)), ("opcode", opcode), ("size", size)]);
                    break;
                }
                case 1:
                {
                    uint scale = (uint)r.Below(4), selem = (uint)r.Range(1, 4);
                    uint opcode = (scale == 3 ? 2 : scale) << 1 | (selem - 1) >> 1, rbit = (selem - 1) & 1;
                    uint s = r.Bits(1), size = r.Bits(2);
                    if (scale == 1) size &= 2;
                    if (scale == 2) size = 0;
                    if (scale == 3) { size = 1; s = 0; }
                    bytes = (int)(selem << (int)scale);
                    op = post ? Op.LdStSinglePost : Op.LdStSingle;
                    fields.AddRange([("Q", q), ("L", r.Bits(1)), ("R", rbit), ("opcode", opcode), ("S", s), ("size", size)]);
                    break;
                }
                default:
                {
                    uint selem = (uint)r.Range(1, 4), size = r.Bits(2);
                    bytes = (int)(selem << (int)size);
                    op = post ? Op.LdRepPost : Op.LdRep;
                    fields.AddRange([("Q", q), ("R", (selem - 1) & 1), ("o", (selem - 1) >> 1), ("size", size)]);
                    break;
                }
            }
            int align = 1;
            while (align * 2 <= Math.Min(bytes, 8)) align *= 2;
            ulong ea = b.SetBase(rn, 0, bytes, b.R.Chance(70) ? align : 1);
            b.MaybePoke(ea, Math.Min(bytes, 8));
            if (post)
            {
                if (r.Coin())
                {
                    do rm = b.AddressReg(); while (rm == rn || rm == 31);
                    b.Case.X[rm] = r.Chance(70) ? (ulong)(long)r.Range(-64, 64) : Values.Next(r);
                    b.Reserve(rm);
                }
                fields.Add(("Rm", rm));
            }
            fields.AddRange([("Rn", rn), ("Rt", rt)]);
            b.Emit(op, [.. fields]);
            b.Reserve(rn);
        }
    }
}
