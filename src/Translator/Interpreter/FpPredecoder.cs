using Jit.Runtime;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter.FloatingPoint;

namespace Jit.Translator.Interpreter;

/// <summary>
/// Pre-decoding of the scalar FP and SIMD&amp;FP load/store rows (<see cref="A64TableFp"/>). FP register numbers
/// stay 0–31; general registers follow the interpreter's convention (31 is SP for a base, ZR elsewhere).
/// For data processing <see cref="Inst.A"/> is the lane width in bits; for loads and stores it is log2 of the
/// access (element) size in bytes and <see cref="Inst.B"/> is 1 for a load.
/// </summary>
public static class FpPredecoder
{
    private static byte ZrRead(uint r) => r == 31 ? (byte)CpuState.ZeroRegister : (byte)r;
    private static byte ZrWrite(uint r) => r == 31 ? (byte)CpuState.DiscardRegister : (byte)r;

    private static byte Width(uint ftype) => ftype switch { 0 => 32, 1 => 64, 3 => 16, _ => 0 };

    /// <summary>Values of <see cref="Inst.B"/> for FRINT*: a rounding mode, or this one for FPCR's.</summary>
    public const byte FpcrRounding = 0xFF;

    public static void Predecode(ref Inst i, Encoding e, uint word)
    {
        uint F(string name) => e.Get(name, word);
        switch (e.Op)
        {
            case Op.LdrLitFp:
                i.Rd = (byte)F("Rt");
                i.A = (byte)(F("opc") + 2);
                i.B = 1;
                i.Imm = (ulong)(Bits.SignExtend(F("imm19"), 19) << 2);
                break;
            case Op.LdStnpFp: case Op.LdStpFpPost: case Op.LdStpFpOff: case Op.LdStpFpPre:
                i.Rd = (byte)F("Rt"); i.Ra = (byte)F("Rt2"); i.Rn = (byte)F("Rn");
                i.A = (byte)(F("opc") + 2);
                i.B = (byte)F("L");
                i.Imm = (ulong)(Bits.SignExtend(F("imm7"), 7) << i.A);
                break;
            case Op.LdStFpUimm: case Op.LdStFpReg: case Op.LdStFpUnscaled: case Op.LdStFpPost: case Op.LdStFpPre:
            {
                uint opc = F("opc");
                i.Rd = (byte)F("Rt"); i.Rn = (byte)F("Rn");
                i.A = (byte)(opc >= 2 ? 4 : F("size"));
                i.B = (byte)(opc & 1);
                if (e.Op == Op.LdStFpUimm) i.Imm = (ulong)F("imm12") << i.A;
                else if (e.Op == Op.LdStFpReg)
                {
                    i.Rm = ZrRead(F("Rm"));
                    i.C = (byte)F("option");
                    i.Imm = F("S") == 1 ? i.A : 0u;
                }
                else i.Imm = (ulong)Bits.SignExtend(F("imm9"), 9);
                break;
            }
            case Op.LdStMulti: case Op.LdStMultiPost:
            {
                // Imm2: the registers (rpt) and the elements per structure (selem) of each opcode.
                (uint rpt, uint selem) = F("opcode") switch
                {
                    0b0000 => (1u, 4u), 0b0010 => (4u, 1u), 0b0100 => (1u, 3u), 0b0110 => (3u, 1u),
                    0b0111 => (1u, 1u), 0b1000 => (1u, 2u), _ => (2u, 1u),
                };
                i.Rd = (byte)F("Rt"); i.Rn = (byte)F("Rn");
                i.A = (byte)F("size"); i.B = (byte)F("L"); i.Sf = (byte)F("Q");
                i.Imm2 = rpt | selem << 8;
                PostIndex(ref i, e, word, rpt * selem * (i.Sf == 1 ? 16u : 8u));
                break;
            }
            case Op.LdStSingle: case Op.LdStSinglePost:
            {
                uint scale = F("opcode") >> 1, selem = ((F("opcode") & 1) << 1 | F("R")) + 1;
                uint size = F("size"), q = F("Q"), s = F("S");
                uint index = scale switch
                {
                    0 => q << 3 | s << 2 | size,
                    1 => q << 2 | s << 1 | size >> 1,
                    _ => size == 0 ? q << 1 | s : q,
                };
                if (scale == 2 && size == 1) scale = 3;
                i.Rd = (byte)F("Rt"); i.Rn = (byte)F("Rn");
                i.A = (byte)scale; i.B = (byte)F("L");
                i.Imm2 = index | selem << 8;
                PostIndex(ref i, e, word, selem << (int)scale);
                break;
            }
            case Op.LdRep: case Op.LdRepPost:
            {
                uint selem = (F("o") << 1 | F("R")) + 1;
                i.Rd = (byte)F("Rt"); i.Rn = (byte)F("Rn");
                i.A = (byte)F("size"); i.B = 1; i.Sf = (byte)F("Q");
                i.Imm2 = selem << 8;
                PostIndex(ref i, e, word, selem << i.A);
                break;
            }

            case Op.FmovReg: case Op.Fabs: case Op.Fneg: case Op.Fsqrt:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.A = Width(F("ftype"));
                break;
            case Op.Fcvt:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.A = Width(F("ftype")); i.B = Width(F("opc"));
                break;
            case Op.Frintn: case Op.Frintp: case Op.Frintm: case Op.Frintz: case Op.Frinta: case Op.Frintx: case Op.Frinti:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.A = Width(F("ftype"));
                i.B = e.Op switch
                {
                    Op.Frintn => (byte)FpRounding.TieEven, Op.Frintp => (byte)FpRounding.PosInf,
                    Op.Frintm => (byte)FpRounding.NegInf, Op.Frintz => (byte)FpRounding.Zero,
                    Op.Frinta => (byte)FpRounding.TieAway, _ => FpcrRounding,
                };
                i.C = (byte)(e.Op == Op.Frintx ? 1 : 0);
                break;
            case Op.Fcmp:
                i.Rn = (byte)F("Rn"); i.Rm = (byte)F("Rm"); i.A = Width(F("ftype"));
                i.B = (byte)F("E"); i.C = (byte)F("Z");
                break;
            case Op.Fccmp:
                i.Rn = (byte)F("Rn"); i.Rm = (byte)F("Rm"); i.A = Width(F("ftype"));
                i.B = (byte)F("nzcv"); i.C = (byte)F("cond"); i.Imm = F("E");
                break;
            case Op.Fcsel:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.Rm = (byte)F("Rm"); i.A = Width(F("ftype"));
                i.C = (byte)F("cond");
                break;
            case Op.FmovImm:
                i.Rd = (byte)F("Rd"); i.A = Width(F("ftype"));
                i.Imm = FpCore.ExpandImm(F("imm8"), i.A);
                break;
            case Op.Fmul: case Op.Fdiv: case Op.Fadd: case Op.Fsub: case Op.Fmax: case Op.Fmin:
            case Op.Fmaxnm: case Op.Fminnm: case Op.Fnmul:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.Rm = (byte)F("Rm"); i.A = Width(F("ftype"));
                break;
            case Op.Fmadd: case Op.Fmsub: case Op.Fnmadd: case Op.Fnmsub:
                i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.Rm = (byte)F("Rm"); i.Ra = (byte)F("Ra");
                i.A = Width(F("ftype"));
                break;
            case Op.FcvtInt: case Op.FcvtaInt: case Op.FcvtzsFixed: case Op.FcvtzuFixed:
                i.Rd = ZrWrite(F("Rd")); i.Rn = (byte)F("Rn"); i.A = Width(F("ftype")); i.Sf = (byte)F("sf");
                i.B = e.Op switch
                {
                    Op.FcvtInt => F("rmode") switch
                    {
                        0 => (byte)FpRounding.TieEven, 1 => (byte)FpRounding.PosInf,
                        2 => (byte)FpRounding.NegInf, _ => (byte)FpRounding.Zero,
                    },
                    Op.FcvtaInt => (byte)FpRounding.TieAway,
                    _ => (byte)FpRounding.Zero,
                };
                i.C = (byte)(e.Op switch { Op.FcvtInt or Op.FcvtaInt => F("U"), Op.FcvtzuFixed => 1u, _ => 0u });
                i.Imm = e.Has("scale") ? 64 - F("scale") : 0;
                break;
            case Op.ScvtfInt: case Op.UcvtfInt: case Op.ScvtfFixed: case Op.UcvtfFixed:
                i.Rd = (byte)F("Rd"); i.Rn = ZrRead(F("Rn")); i.A = Width(F("ftype")); i.Sf = (byte)F("sf");
                i.C = (byte)(e.Op is Op.UcvtfInt or Op.UcvtfFixed ? 1 : 0);
                i.Imm = e.Has("scale") ? 64 - F("scale") : 0;
                break;
            case Op.FmovToGp: case Op.FmovToGpTop:
                i.Rd = ZrWrite(F("Rd")); i.Rn = (byte)F("Rn");
                i.Sf = (byte)(e.Op == Op.FmovToGpTop ? 1 : F("sf"));
                break;
            case Op.FmovFromGp: case Op.FmovFromGpTop:
                i.Rd = (byte)F("Rd"); i.Rn = ZrRead(F("Rn"));
                i.Sf = (byte)(e.Op == Op.FmovFromGpTop ? 1 : F("sf"));
                break;
        }
    }

    /// <summary>
    /// Writeback of the structure loads and stores: Rm = 31 adds the bytes transferred (<see cref="Inst.Imm"/>),
    /// any other Rm adds X[Rm]; <see cref="Inst.C"/> says whether there is writeback at all.
    /// </summary>
    private static void PostIndex(ref Inst i, Encoding e, uint word, uint bytes)
    {
        if (!e.Has("Rm")) return;
        i.C = 1;
        uint rm = e.Get("Rm", word);
        i.Rm = rm == 31 ? (byte)CpuState.ZeroRegister : (byte)rm;
        i.Imm = rm == 31 ? bytes : 0;
    }
}
