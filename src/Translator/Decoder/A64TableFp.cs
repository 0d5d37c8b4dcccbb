namespace Jit.Translator.Decoder;

/// <summary>Rows of the scalar floating-point instructions and the SIMD&amp;FP loads and stores (Op values from FpFirst).</summary>
public static class A64TableFp
{
    // ARMv8.0 has single and double precision arithmetic; ftype 11 (half) is FEAT_FP16 and stays unallocated.
    private static bool SingleOrDouble(Encoding e, uint w) => e.Get("ftype", w) < 2;

    // FCVT: half, single or double to another of them (ftype/opc 10 is unallocated).
    private static bool FcvtValid(Encoding e, uint w)
    {
        uint from = e.Get("ftype", w), to = e.Get("opc", w);
        return from != 2 && to != 2 && from != to;
    }

    // FMOV (general): W with S, X with D.
    private static bool FmovGeneralValid(Encoding e, uint w) => e.Get("sf", w) == e.Get("ftype", w);

    // A 32-bit fixed-point conversion has at most 32 fraction bits: scale = 64 − fbits must be 32 or more.
    private static bool FixedValid(Encoding e, uint w) => e.Get("ftype", w) < 2 && (e.Get("sf", w) == 1 || e.Get("scale", w) >= 32);

    // size:opc of the SIMD&FP single-register forms: B, H, S, D with opc 0x; Q is size 00 with opc 1x.
    private static bool FpSingleValid(Encoding e, uint w) => e.Get("opc", w) < 2 || e.Get("size", w) == 0;
    private static bool FpRegisterOffsetValid(Encoding e, uint w) => FpSingleValid(e, w) && (e.Get("option", w) & 2) != 0;
    private static bool PairOpcValid(Encoding e, uint w) => e.Get("opc", w) != 3;

    // C4.1.88: LD/ST multiple structures; the 1D arrangement exists only for LD1/ST1.
    private static bool MultiValid(Encoding e, uint w)
    {
        uint opcode = e.Get("opcode", w);
        if (opcode is not (0b0000 or 0b0010 or 0b0100 or 0b0110 or 0b0111 or 0b1000 or 0b1010)) return false;
        bool oneElement = opcode is 0b0000 or 0b0100 or 0b1000;
        return !(oneElement && e.Get("size", w) == 3 && e.Get("Q", w) == 0);
    }

    // C4.1.88: LD/ST single structure; opcode<2:1> picks B, H, S or D (S with size 01 and S = 0).
    private static bool SingleStructureValid(Encoding e, uint w)
    {
        uint scale = e.Get("opcode", w) >> 1, size = e.Get("size", w);
        return scale switch
        {
            0 => true,
            1 => (size & 1) == 0,
            2 => size == 0 || (size == 1 && e.Get("S", w) == 0),
            _ => false,
        };
    }

    public static readonly Encoding[] Rows =
    [
        // Loads and stores, SIMD&FP registers
        new(Op.LdrLitFp,       "opc:2 011 1 00 imm19:19 Rt:5", (e, w) => e.Get("opc", w) != 3),
        new(Op.LdStnpFp,       "opc:2 101 1 000 L:1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpcValid),
        new(Op.LdStpFpPost,    "opc:2 101 1 001 L:1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpcValid),
        new(Op.LdStpFpOff,     "opc:2 101 1 010 L:1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpcValid),
        new(Op.LdStpFpPre,     "opc:2 101 1 011 L:1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpcValid),
        new(Op.LdStFpUimm,     "size:2 111 1 01 opc:2 imm12:12 Rn:5 Rt:5", FpSingleValid),
        new(Op.LdStFpReg,      "size:2 111 1 00 opc:2 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5", FpRegisterOffsetValid),
        new(Op.LdStFpUnscaled, "size:2 111 1 00 opc:2 0 imm9:9 00 Rn:5 Rt:5", FpSingleValid),
        new(Op.LdStFpPost,     "size:2 111 1 00 opc:2 0 imm9:9 01 Rn:5 Rt:5", FpSingleValid),
        new(Op.LdStFpPre,      "size:2 111 1 00 opc:2 0 imm9:9 11 Rn:5 Rt:5", FpSingleValid),
        new(Op.LdStMulti,      "0 Q:1 0011000 L:1 000000 opcode:4 size:2 Rn:5 Rt:5", MultiValid),
        new(Op.LdStMultiPost,  "0 Q:1 0011001 L:1 0 Rm:5 opcode:4 size:2 Rn:5 Rt:5", MultiValid),
        new(Op.LdRep,          "0 Q:1 0011010 1 R:1 00000 11 o:1 0 size:2 Rn:5 Rt:5"),
        new(Op.LdRepPost,      "0 Q:1 0011011 1 R:1 Rm:5 11 o:1 0 size:2 Rn:5 Rt:5"),
        new(Op.LdStSingle,     "0 Q:1 0011010 L:1 R:1 00000 opcode:3 S:1 size:2 Rn:5 Rt:5", SingleStructureValid),
        new(Op.LdStSinglePost, "0 Q:1 0011011 L:1 R:1 Rm:5 opcode:3 S:1 size:2 Rn:5 Rt:5", SingleStructureValid),

        // C4.1.96 Floating-point data-processing (1 source)
        new(Op.FmovReg,  "0 0 0 11110 ftype:2 1 0000 00 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fabs,     "0 0 0 11110 ftype:2 1 0000 01 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fneg,     "0 0 0 11110 ftype:2 1 0000 10 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fsqrt,    "0 0 0 11110 ftype:2 1 0000 11 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fcvt,     "0 0 0 11110 ftype:2 1 0001 opc:2 10000 Rn:5 Rd:5", FcvtValid),
        new(Op.Frintn,   "0 0 0 11110 ftype:2 1 001 000 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frintp,   "0 0 0 11110 ftype:2 1 001 001 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frintm,   "0 0 0 11110 ftype:2 1 001 010 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frintz,   "0 0 0 11110 ftype:2 1 001 011 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frinta,   "0 0 0 11110 ftype:2 1 001 100 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frintx,   "0 0 0 11110 ftype:2 1 001 110 10000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Frinti,   "0 0 0 11110 ftype:2 1 001 111 10000 Rn:5 Rd:5", SingleOrDouble),
        // Compare, conditional compare, conditional select, immediate
        new(Op.Fcmp,     "0 0 0 11110 ftype:2 1 Rm:5 00 1000 Rn:5 E:1 Z:1 000", SingleOrDouble),
        new(Op.Fccmp,    "0 0 0 11110 ftype:2 1 Rm:5 cond:4 01 Rn:5 E:1 nzcv:4", SingleOrDouble),
        new(Op.Fcsel,    "0 0 0 11110 ftype:2 1 Rm:5 cond:4 11 Rn:5 Rd:5", SingleOrDouble),
        new(Op.FmovImm,  "0 0 0 11110 ftype:2 1 imm8:8 100 00000 Rd:5", SingleOrDouble),
        // Data-processing (2 source)
        new(Op.Fmul,     "0 0 0 11110 ftype:2 1 Rm:5 0000 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fdiv,     "0 0 0 11110 ftype:2 1 Rm:5 0001 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fadd,     "0 0 0 11110 ftype:2 1 Rm:5 0010 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fsub,     "0 0 0 11110 ftype:2 1 Rm:5 0011 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fmax,     "0 0 0 11110 ftype:2 1 Rm:5 0100 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fmin,     "0 0 0 11110 ftype:2 1 Rm:5 0101 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fmaxnm,   "0 0 0 11110 ftype:2 1 Rm:5 0110 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fminnm,   "0 0 0 11110 ftype:2 1 Rm:5 0111 10 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fnmul,    "0 0 0 11110 ftype:2 1 Rm:5 1000 10 Rn:5 Rd:5", SingleOrDouble),
        // Data-processing (3 source)
        new(Op.Fmadd,    "0 0 0 11111 ftype:2 0 Rm:5 0 Ra:5 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fmsub,    "0 0 0 11111 ftype:2 0 Rm:5 1 Ra:5 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fnmadd,   "0 0 0 11111 ftype:2 1 Rm:5 0 Ra:5 Rn:5 Rd:5", SingleOrDouble),
        new(Op.Fnmsub,   "0 0 0 11111 ftype:2 1 Rm:5 1 Ra:5 Rn:5 Rd:5", SingleOrDouble),
        // Conversion between floating point and integer; rmode N, P, M, Z for FCVT[NPMZ][SU], then FCVTA[SU]
        new(Op.FcvtInt,  "sf:1 0 0 11110 ftype:2 1 rmode:2 00 U:1 000000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.FcvtaInt, "sf:1 0 0 11110 ftype:2 1 00 10 U:1 000000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.ScvtfInt, "sf:1 0 0 11110 ftype:2 1 00 010 000000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.UcvtfInt, "sf:1 0 0 11110 ftype:2 1 00 011 000000 Rn:5 Rd:5", SingleOrDouble),
        new(Op.FmovToGp, "sf:1 0 0 11110 ftype:2 1 00 110 000000 Rn:5 Rd:5", FmovGeneralValid),
        new(Op.FmovFromGp, "sf:1 0 0 11110 ftype:2 1 00 111 000000 Rn:5 Rd:5", FmovGeneralValid),
        new(Op.FmovToGpTop, "1 0 0 11110 10 1 01 110 000000 Rn:5 Rd:5"),
        new(Op.FmovFromGpTop, "1 0 0 11110 10 1 01 111 000000 Rn:5 Rd:5"),
        // Conversion between floating point and fixed point
        new(Op.FcvtzsFixed, "sf:1 0 0 11110 ftype:2 0 11 000 scale:6 Rn:5 Rd:5", FixedValid),
        new(Op.FcvtzuFixed, "sf:1 0 0 11110 ftype:2 0 11 001 scale:6 Rn:5 Rd:5", FixedValid),
        new(Op.ScvtfFixed,  "sf:1 0 0 11110 ftype:2 0 00 010 scale:6 Rn:5 Rd:5", FixedValid),
        new(Op.UcvtfFixed,  "sf:1 0 0 11110 ftype:2 0 00 011 scale:6 Rn:5 Rd:5", FixedValid),
    ];
}
