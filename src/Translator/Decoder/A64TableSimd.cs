namespace Jit.Translator.Decoder;

/// <summary>
/// Rows of the AdvSIMD vector and scalar instructions (Op values from SimdFirst), C4.1.95. A scalar form shares
/// its vector form's Op; the two differ in bit 28. Forms without a row here (FP vector, Crypto, FP16, the v8.1+
/// additions) reach the SimdFp catch-all.
/// </summary>
public static class A64TableSimd
{
    // "size:Q" combinations the arrangement table leaves reserved: 1D for most integer forms.
    private static bool NotD1(Encoding e, uint w) => e.Get("size", w) != 3 || e.Get("Q", w) == 1;
    private static bool NotD(Encoding e, uint w) => e.Get("size", w) != 3;
    private static bool HOrS(Encoding e, uint w) => e.Get("size", w) is 1 or 2;
    private static bool BelowS(Encoding e, uint w) => e.Get("size", w) < 2;
    // Across-lanes forms have no 2S arrangement (and no D).
    private static bool AcrossValid(Encoding e, uint w) => e.Get("size", w) < 2 || (e.Get("size", w) == 2 && e.Get("Q", w) == 1);
    private static bool ImmhNonZero(Encoding e, uint w) => e.Get("immh", w) != 0;
    private static bool ImmhVector(Encoding e, uint w) => e.Get("immh", w) != 0 && (e.Get("immh", w) < 8 || e.Get("Q", w) == 1);
    private static bool ImmhNarrow(Encoding e, uint w) => e.Get("immh", w) is > 0 and < 8;
    private static bool ImmhD(Encoding e, uint w) => e.Get("immh", w) >= 8;
    private static bool Imm5Valid(Encoding e, uint w) => (e.Get("imm5", w) & 0xF) != 0;
    private static bool DupValid(Encoding e, uint w) => (e.Get("imm5", w) & 0xF) != 0 && ((e.Get("imm5", w) & 7) != 0 || e.Get("Q", w) == 1);
    // SMOV to W takes bytes and halfwords, to X also words; UMOV to W takes B/H/S, to X only D.
    private static bool SmovValid(Encoding e, uint w)
    {
        uint imm5 = e.Get("imm5", w);
        return (imm5 & 3) != 0 || ((imm5 & 7) == 4 && e.Get("Q", w) == 1);
    }
    private static bool UmovValid(Encoding e, uint w)
    {
        uint imm5 = e.Get("imm5", w);
        return e.Get("Q", w) == 0 ? (imm5 & 7) != 0 : (imm5 & 0xF) == 8;
    }
    private static bool ExtValid(Encoding e, uint w) => e.Get("Q", w) == 1 || e.Get("imm4", w) < 8;
    private static bool IndexedHOrS(Encoding e, uint w) => e.Get("size", w) is 1 or 2;

    // C4.1.95 "Advanced SIMD modified immediate": op:cmode chooses MOVI, MVNI, ORR, BIC or FMOV.
    private static bool IsOrrImm(Encoding e, uint w) => e.Get("op", w) == 0 && IsShiftedOrCmode(e.Get("cmode", w));
    private static bool IsBicImm(Encoding e, uint w) => e.Get("op", w) == 1 && IsShiftedOrCmode(e.Get("cmode", w));
    private static bool IsShiftedOrCmode(uint cmode) => (cmode & 1) == 1 && cmode < 12;
    // MOVI and MVNI are what ORR/BIC leave, except cmode 1111 (FMOV, not implemented here).
    private static bool IsMovi(Encoding e, uint w) => !IsShiftedOrCmode(e.Get("cmode", w)) && e.Get("cmode", w) != 15;

    private static bool FpNotD1(Encoding e, uint w) => e.Get("sz", w) == 0 || e.Get("Q", w) == 1;
    private static bool SzIsD(Encoding e, uint w) => e.Get("sz", w) == 1;
    private static bool FpIndexedValid(Encoding e, uint w) =>
        e.Get("sz", w) == 0 || (e.Get("L", w) == 0 && (!e.Has("Q") || e.Get("Q", w) == 1));
    private static bool FpFixedVector(Encoding e, uint w) => e.Get("immh", w) >= 4 && (e.Get("immh", w) < 8 || e.Get("Q", w) == 1);
    private static bool FpFixedScalar(Encoding e, uint w) => e.Get("immh", w) >= 4;

    public static readonly Encoding[] Rows =
    [
        // Three same (integer)
        new(Op.VShadd,   "0 Q:1 0 01110 size:2 1 Rm:5 00000 1 Rn:5 Rd:5", NotD),
        new(Op.VUhadd,   "0 Q:1 1 01110 size:2 1 Rm:5 00000 1 Rn:5 Rd:5", NotD),
        new(Op.VSqadd,   "0 Q:1 0 01110 size:2 1 Rm:5 00001 1 Rn:5 Rd:5", NotD1),
        new(Op.VUqadd,   "0 Q:1 1 01110 size:2 1 Rm:5 00001 1 Rn:5 Rd:5", NotD1),
        new(Op.VSrhadd,  "0 Q:1 0 01110 size:2 1 Rm:5 00010 1 Rn:5 Rd:5", NotD),
        new(Op.VUrhadd,  "0 Q:1 1 01110 size:2 1 Rm:5 00010 1 Rn:5 Rd:5", NotD),
        new(Op.VAnd,     "0 Q:1 0 01110 00 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VBic,     "0 Q:1 0 01110 01 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VOrr,     "0 Q:1 0 01110 10 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VOrn,     "0 Q:1 0 01110 11 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VEor,     "0 Q:1 1 01110 00 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VBsl,     "0 Q:1 1 01110 01 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VBit,     "0 Q:1 1 01110 10 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VBif,     "0 Q:1 1 01110 11 1 Rm:5 00011 1 Rn:5 Rd:5"),
        new(Op.VShsub,   "0 Q:1 0 01110 size:2 1 Rm:5 00100 1 Rn:5 Rd:5", NotD),
        new(Op.VUhsub,   "0 Q:1 1 01110 size:2 1 Rm:5 00100 1 Rn:5 Rd:5", NotD),
        new(Op.VSqsub,   "0 Q:1 0 01110 size:2 1 Rm:5 00101 1 Rn:5 Rd:5", NotD1),
        new(Op.VUqsub,   "0 Q:1 1 01110 size:2 1 Rm:5 00101 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmgt,    "0 Q:1 0 01110 size:2 1 Rm:5 00110 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmhi,    "0 Q:1 1 01110 size:2 1 Rm:5 00110 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmge,    "0 Q:1 0 01110 size:2 1 Rm:5 00111 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmhs,    "0 Q:1 1 01110 size:2 1 Rm:5 00111 1 Rn:5 Rd:5", NotD1),
        new(Op.VSshl,    "0 Q:1 0 01110 size:2 1 Rm:5 01000 1 Rn:5 Rd:5", NotD1),
        new(Op.VUshl,    "0 Q:1 1 01110 size:2 1 Rm:5 01000 1 Rn:5 Rd:5", NotD1),
        new(Op.VSqshl,   "0 Q:1 0 01110 size:2 1 Rm:5 01001 1 Rn:5 Rd:5", NotD1),
        new(Op.VUqshl,   "0 Q:1 1 01110 size:2 1 Rm:5 01001 1 Rn:5 Rd:5", NotD1),
        new(Op.VSrshl,   "0 Q:1 0 01110 size:2 1 Rm:5 01010 1 Rn:5 Rd:5", NotD1),
        new(Op.VUrshl,   "0 Q:1 1 01110 size:2 1 Rm:5 01010 1 Rn:5 Rd:5", NotD1),
        new(Op.VSqrshl,  "0 Q:1 0 01110 size:2 1 Rm:5 01011 1 Rn:5 Rd:5", NotD1),
        new(Op.VUqrshl,  "0 Q:1 1 01110 size:2 1 Rm:5 01011 1 Rn:5 Rd:5", NotD1),
        new(Op.VSmax,    "0 Q:1 0 01110 size:2 1 Rm:5 01100 1 Rn:5 Rd:5", NotD),
        new(Op.VUmax,    "0 Q:1 1 01110 size:2 1 Rm:5 01100 1 Rn:5 Rd:5", NotD),
        new(Op.VSmin,    "0 Q:1 0 01110 size:2 1 Rm:5 01101 1 Rn:5 Rd:5", NotD),
        new(Op.VUmin,    "0 Q:1 1 01110 size:2 1 Rm:5 01101 1 Rn:5 Rd:5", NotD),
        new(Op.VSabd,    "0 Q:1 0 01110 size:2 1 Rm:5 01110 1 Rn:5 Rd:5", NotD),
        new(Op.VUabd,    "0 Q:1 1 01110 size:2 1 Rm:5 01110 1 Rn:5 Rd:5", NotD),
        new(Op.VSaba,    "0 Q:1 0 01110 size:2 1 Rm:5 01111 1 Rn:5 Rd:5", NotD),
        new(Op.VUaba,    "0 Q:1 1 01110 size:2 1 Rm:5 01111 1 Rn:5 Rd:5", NotD),
        new(Op.VAdd,     "0 Q:1 0 01110 size:2 1 Rm:5 10000 1 Rn:5 Rd:5", NotD1),
        new(Op.VSub,     "0 Q:1 1 01110 size:2 1 Rm:5 10000 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmtst,   "0 Q:1 0 01110 size:2 1 Rm:5 10001 1 Rn:5 Rd:5", NotD1),
        new(Op.VCmeq,    "0 Q:1 1 01110 size:2 1 Rm:5 10001 1 Rn:5 Rd:5", NotD1),
        new(Op.VMla,     "0 Q:1 0 01110 size:2 1 Rm:5 10010 1 Rn:5 Rd:5", NotD),
        new(Op.VMls,     "0 Q:1 1 01110 size:2 1 Rm:5 10010 1 Rn:5 Rd:5", NotD),
        new(Op.VMul,     "0 Q:1 0 01110 size:2 1 Rm:5 10011 1 Rn:5 Rd:5", NotD),
        new(Op.VPmul,    "0 Q:1 1 01110 00 1 Rm:5 10011 1 Rn:5 Rd:5"),
        new(Op.VSmaxp,   "0 Q:1 0 01110 size:2 1 Rm:5 10100 1 Rn:5 Rd:5", NotD),
        new(Op.VUmaxp,   "0 Q:1 1 01110 size:2 1 Rm:5 10100 1 Rn:5 Rd:5", NotD),
        new(Op.VSminp,   "0 Q:1 0 01110 size:2 1 Rm:5 10101 1 Rn:5 Rd:5", NotD),
        new(Op.VUminp,   "0 Q:1 1 01110 size:2 1 Rm:5 10101 1 Rn:5 Rd:5", NotD),
        new(Op.VSqdmulh, "0 Q:1 0 01110 size:2 1 Rm:5 10110 1 Rn:5 Rd:5", HOrS),
        new(Op.VSqrdmulh, "0 Q:1 1 01110 size:2 1 Rm:5 10110 1 Rn:5 Rd:5", HOrS),
        new(Op.VAddp,    "0 Q:1 0 01110 size:2 1 Rm:5 10111 1 Rn:5 Rd:5", NotD1),

        // Scalar three same: the non-saturating forms exist only for D
        new(Op.VSqadd,   "01 0 11110 size:2 1 Rm:5 00001 1 Rn:5 Rd:5"),
        new(Op.VUqadd,   "01 1 11110 size:2 1 Rm:5 00001 1 Rn:5 Rd:5"),
        new(Op.VSqsub,   "01 0 11110 size:2 1 Rm:5 00101 1 Rn:5 Rd:5"),
        new(Op.VUqsub,   "01 1 11110 size:2 1 Rm:5 00101 1 Rn:5 Rd:5"),
        new(Op.VCmgt,    "01 0 11110 11 1 Rm:5 00110 1 Rn:5 Rd:5"),
        new(Op.VCmhi,    "01 1 11110 11 1 Rm:5 00110 1 Rn:5 Rd:5"),
        new(Op.VCmge,    "01 0 11110 11 1 Rm:5 00111 1 Rn:5 Rd:5"),
        new(Op.VCmhs,    "01 1 11110 11 1 Rm:5 00111 1 Rn:5 Rd:5"),
        new(Op.VSshl,    "01 0 11110 11 1 Rm:5 01000 1 Rn:5 Rd:5"),
        new(Op.VUshl,    "01 1 11110 11 1 Rm:5 01000 1 Rn:5 Rd:5"),
        new(Op.VSqshl,   "01 0 11110 size:2 1 Rm:5 01001 1 Rn:5 Rd:5"),
        new(Op.VUqshl,   "01 1 11110 size:2 1 Rm:5 01001 1 Rn:5 Rd:5"),
        new(Op.VSrshl,   "01 0 11110 11 1 Rm:5 01010 1 Rn:5 Rd:5"),
        new(Op.VUrshl,   "01 1 11110 11 1 Rm:5 01010 1 Rn:5 Rd:5"),
        new(Op.VSqrshl,  "01 0 11110 size:2 1 Rm:5 01011 1 Rn:5 Rd:5"),
        new(Op.VUqrshl,  "01 1 11110 size:2 1 Rm:5 01011 1 Rn:5 Rd:5"),
        new(Op.VAdd,     "01 0 11110 11 1 Rm:5 10000 1 Rn:5 Rd:5"),
        new(Op.VSub,     "01 1 11110 11 1 Rm:5 10000 1 Rn:5 Rd:5"),
        new(Op.VCmtst,   "01 0 11110 11 1 Rm:5 10001 1 Rn:5 Rd:5"),
        new(Op.VCmeq,    "01 1 11110 11 1 Rm:5 10001 1 Rn:5 Rd:5"),
        new(Op.VSqdmulh, "01 0 11110 size:2 1 Rm:5 10110 1 Rn:5 Rd:5", HOrS),
        new(Op.VSqrdmulh, "01 1 11110 size:2 1 Rm:5 10110 1 Rn:5 Rd:5", HOrS),

        // Three different
        new(Op.VSaddl,   "0 Q:1 0 01110 size:2 1 Rm:5 0000 00 Rn:5 Rd:5", NotD),
        new(Op.VUaddl,   "0 Q:1 1 01110 size:2 1 Rm:5 0000 00 Rn:5 Rd:5", NotD),
        new(Op.VSaddw,   "0 Q:1 0 01110 size:2 1 Rm:5 0001 00 Rn:5 Rd:5", NotD),
        new(Op.VUaddw,   "0 Q:1 1 01110 size:2 1 Rm:5 0001 00 Rn:5 Rd:5", NotD),
        new(Op.VSsubl,   "0 Q:1 0 01110 size:2 1 Rm:5 0010 00 Rn:5 Rd:5", NotD),
        new(Op.VUsubl,   "0 Q:1 1 01110 size:2 1 Rm:5 0010 00 Rn:5 Rd:5", NotD),
        new(Op.VSsubw,   "0 Q:1 0 01110 size:2 1 Rm:5 0011 00 Rn:5 Rd:5", NotD),
        new(Op.VUsubw,   "0 Q:1 1 01110 size:2 1 Rm:5 0011 00 Rn:5 Rd:5", NotD),
        new(Op.VAddhn,   "0 Q:1 0 01110 size:2 1 Rm:5 0100 00 Rn:5 Rd:5", NotD),
        new(Op.VRaddhn,  "0 Q:1 1 01110 size:2 1 Rm:5 0100 00 Rn:5 Rd:5", NotD),
        new(Op.VSabal,   "0 Q:1 0 01110 size:2 1 Rm:5 0101 00 Rn:5 Rd:5", NotD),
        new(Op.VUabal,   "0 Q:1 1 01110 size:2 1 Rm:5 0101 00 Rn:5 Rd:5", NotD),
        new(Op.VSubhn,   "0 Q:1 0 01110 size:2 1 Rm:5 0110 00 Rn:5 Rd:5", NotD),
        new(Op.VRsubhn,  "0 Q:1 1 01110 size:2 1 Rm:5 0110 00 Rn:5 Rd:5", NotD),
        new(Op.VSabdl,   "0 Q:1 0 01110 size:2 1 Rm:5 0111 00 Rn:5 Rd:5", NotD),
        new(Op.VUabdl,   "0 Q:1 1 01110 size:2 1 Rm:5 0111 00 Rn:5 Rd:5", NotD),
        new(Op.VSmlal,   "0 Q:1 0 01110 size:2 1 Rm:5 1000 00 Rn:5 Rd:5", NotD),
        new(Op.VUmlal,   "0 Q:1 1 01110 size:2 1 Rm:5 1000 00 Rn:5 Rd:5", NotD),
        new(Op.VSqdmlal, "0 Q:1 0 01110 size:2 1 Rm:5 1001 00 Rn:5 Rd:5", HOrS),
        new(Op.VSmlsl,   "0 Q:1 0 01110 size:2 1 Rm:5 1010 00 Rn:5 Rd:5", NotD),
        new(Op.VUmlsl,   "0 Q:1 1 01110 size:2 1 Rm:5 1010 00 Rn:5 Rd:5", NotD),
        new(Op.VSqdmlsl, "0 Q:1 0 01110 size:2 1 Rm:5 1011 00 Rn:5 Rd:5", HOrS),
        new(Op.VSmull,   "0 Q:1 0 01110 size:2 1 Rm:5 1100 00 Rn:5 Rd:5", NotD),
        new(Op.VUmull,   "0 Q:1 1 01110 size:2 1 Rm:5 1100 00 Rn:5 Rd:5", NotD),
        new(Op.VSqdmull, "0 Q:1 0 01110 size:2 1 Rm:5 1101 00 Rn:5 Rd:5", HOrS),
        // PMULL of D lanes (size 11) is the Crypto extension's, which this CPU does not have.
        new(Op.VPmull,   "0 Q:1 0 01110 00 1 Rm:5 1110 00 Rn:5 Rd:5"),
        new(Op.VSqdmlal, "01 0 11110 size:2 1 Rm:5 1001 00 Rn:5 Rd:5", HOrS),
        new(Op.VSqdmlsl, "01 0 11110 size:2 1 Rm:5 1011 00 Rn:5 Rd:5", HOrS),
        new(Op.VSqdmull, "01 0 11110 size:2 1 Rm:5 1101 00 Rn:5 Rd:5", HOrS),

        // Two-register miscellaneous
        new(Op.VRev64,   "0 Q:1 0 01110 size:2 10000 00000 10 Rn:5 Rd:5", NotD),
        new(Op.VRev32,   "0 Q:1 1 01110 size:2 10000 00000 10 Rn:5 Rd:5", BelowS),
        new(Op.VRev16,   "0 Q:1 0 01110 00 10000 00001 10 Rn:5 Rd:5"),
        new(Op.VSaddlp,  "0 Q:1 0 01110 size:2 10000 00010 10 Rn:5 Rd:5", NotD),
        new(Op.VUaddlp,  "0 Q:1 1 01110 size:2 10000 00010 10 Rn:5 Rd:5", NotD),
        new(Op.VSuqadd,  "0 Q:1 0 01110 size:2 10000 00011 10 Rn:5 Rd:5", NotD1),
        new(Op.VUsqadd,  "0 Q:1 1 01110 size:2 10000 00011 10 Rn:5 Rd:5", NotD1),
        new(Op.VCls,     "0 Q:1 0 01110 size:2 10000 00100 10 Rn:5 Rd:5", NotD),
        new(Op.VClz,     "0 Q:1 1 01110 size:2 10000 00100 10 Rn:5 Rd:5", NotD),
        new(Op.VCnt,     "0 Q:1 0 01110 00 10000 00101 10 Rn:5 Rd:5"),
        new(Op.VNot,     "0 Q:1 1 01110 00 10000 00101 10 Rn:5 Rd:5"),
        new(Op.VRbit,    "0 Q:1 1 01110 01 10000 00101 10 Rn:5 Rd:5"),
        new(Op.VSadalp,  "0 Q:1 0 01110 size:2 10000 00110 10 Rn:5 Rd:5", NotD),
        new(Op.VUadalp,  "0 Q:1 1 01110 size:2 10000 00110 10 Rn:5 Rd:5", NotD),
        new(Op.VSqabs,   "0 Q:1 0 01110 size:2 10000 00111 10 Rn:5 Rd:5", NotD1),
        new(Op.VSqneg,   "0 Q:1 1 01110 size:2 10000 00111 10 Rn:5 Rd:5", NotD1),
        new(Op.VCmgtZ,   "0 Q:1 0 01110 size:2 10000 01000 10 Rn:5 Rd:5", NotD1),
        new(Op.VCmgeZ,   "0 Q:1 1 01110 size:2 10000 01000 10 Rn:5 Rd:5", NotD1),
        new(Op.VCmeqZ,   "0 Q:1 0 01110 size:2 10000 01001 10 Rn:5 Rd:5", NotD1),
        new(Op.VCmleZ,   "0 Q:1 1 01110 size:2 10000 01001 10 Rn:5 Rd:5", NotD1),
        new(Op.VCmltZ,   "0 Q:1 0 01110 size:2 10000 01010 10 Rn:5 Rd:5", NotD1),
        new(Op.VAbs,     "0 Q:1 0 01110 size:2 10000 01011 10 Rn:5 Rd:5", NotD1),
        new(Op.VNeg,     "0 Q:1 1 01110 size:2 10000 01011 10 Rn:5 Rd:5", NotD1),
        new(Op.VXtn,     "0 Q:1 0 01110 size:2 10000 10010 10 Rn:5 Rd:5", NotD),
        new(Op.VSqxtun,  "0 Q:1 1 01110 size:2 10000 10010 10 Rn:5 Rd:5", NotD),
        new(Op.VShll,    "0 Q:1 1 01110 size:2 10000 10011 10 Rn:5 Rd:5", NotD),
        new(Op.VSqxtn,   "0 Q:1 0 01110 size:2 10000 10100 10 Rn:5 Rd:5", NotD),
        new(Op.VUqxtn,   "0 Q:1 1 01110 size:2 10000 10100 10 Rn:5 Rd:5", NotD),

        // Scalar two-register miscellaneous
        new(Op.VSuqadd,  "01 0 11110 size:2 10000 00011 10 Rn:5 Rd:5"),
        new(Op.VUsqadd,  "01 1 11110 size:2 10000 00011 10 Rn:5 Rd:5"),
        new(Op.VSqabs,   "01 0 11110 size:2 10000 00111 10 Rn:5 Rd:5"),
        new(Op.VSqneg,   "01 1 11110 size:2 10000 00111 10 Rn:5 Rd:5"),
        new(Op.VCmgtZ,   "01 0 11110 11 10000 01000 10 Rn:5 Rd:5"),
        new(Op.VCmgeZ,   "01 1 11110 11 10000 01000 10 Rn:5 Rd:5"),
        new(Op.VCmeqZ,   "01 0 11110 11 10000 01001 10 Rn:5 Rd:5"),
        new(Op.VCmleZ,   "01 1 11110 11 10000 01001 10 Rn:5 Rd:5"),
        new(Op.VCmltZ,   "01 0 11110 11 10000 01010 10 Rn:5 Rd:5"),
        new(Op.VAbs,     "01 0 11110 11 10000 01011 10 Rn:5 Rd:5"),
        new(Op.VNeg,     "01 1 11110 11 10000 01011 10 Rn:5 Rd:5"),
        new(Op.VSqxtun,  "01 1 11110 size:2 10000 10010 10 Rn:5 Rd:5", NotD),
        new(Op.VSqxtn,   "01 0 11110 size:2 10000 10100 10 Rn:5 Rd:5", NotD),
        new(Op.VUqxtn,   "01 1 11110 size:2 10000 10100 10 Rn:5 Rd:5", NotD),

        // Across lanes, and the scalar pairwise ADDP
        new(Op.VSaddlv,  "0 Q:1 0 01110 size:2 11000 00011 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VUaddlv,  "0 Q:1 1 01110 size:2 11000 00011 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VSmaxv,   "0 Q:1 0 01110 size:2 11000 01010 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VUmaxv,   "0 Q:1 1 01110 size:2 11000 01010 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VSminv,   "0 Q:1 0 01110 size:2 11000 11010 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VUminv,   "0 Q:1 1 01110 size:2 11000 11010 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VAddv,    "0 Q:1 0 01110 size:2 11000 11011 10 Rn:5 Rd:5", AcrossValid),
        new(Op.VAddp,    "01 0 11110 11 11000 11011 10 Rn:5 Rd:5"),

        // Copy
        new(Op.VDupElement, "0 Q:1 0 01110000 imm5:5 0 0000 1 Rn:5 Rd:5", DupValid),
        new(Op.VDupGeneral, "0 Q:1 0 01110000 imm5:5 0 0001 1 Rn:5 Rd:5", DupValid),
        new(Op.VSmov,    "0 Q:1 0 01110000 imm5:5 0 0101 1 Rn:5 Rd:5", SmovValid),
        new(Op.VUmov,    "0 Q:1 0 01110000 imm5:5 0 0111 1 Rn:5 Rd:5", UmovValid),
        new(Op.VIns,     "0 1 0 01110000 imm5:5 0 0011 1 Rn:5 Rd:5", Imm5Valid),
        new(Op.VInsElement, "0 1 1 01110000 imm5:5 0 imm4:4 1 Rn:5 Rd:5", Imm5Valid),
        new(Op.VDupElement, "01 0 11110000 imm5:5 0 0000 1 Rn:5 Rd:5", Imm5Valid),

        // Modified immediate (o2 = 1 is FP16's FMOV)
        new(Op.VOrrImm,  "0 Q:1 op:1 0111100000 a:1 b:1 c:1 cmode:4 0 1 d:1 e:1 f:1 g:1 h:1 Rd:5", IsOrrImm),
        new(Op.VBicImm,  "0 Q:1 op:1 0111100000 a:1 b:1 c:1 cmode:4 0 1 d:1 e:1 f:1 g:1 h:1 Rd:5", IsBicImm),
        new(Op.VMovi,    "0 Q:1 op:1 0111100000 a:1 b:1 c:1 cmode:4 0 1 d:1 e:1 f:1 g:1 h:1 Rd:5", IsMovi),

        // Permute, extract, table lookup
        new(Op.VUzp1,    "0 Q:1 001110 size:2 0 Rm:5 0 001 10 Rn:5 Rd:5", NotD1),
        new(Op.VTrn1,    "0 Q:1 001110 size:2 0 Rm:5 0 010 10 Rn:5 Rd:5", NotD1),
        new(Op.VZip1,    "0 Q:1 001110 size:2 0 Rm:5 0 011 10 Rn:5 Rd:5", NotD1),
        new(Op.VUzp2,    "0 Q:1 001110 size:2 0 Rm:5 0 101 10 Rn:5 Rd:5", NotD1),
        new(Op.VTrn2,    "0 Q:1 001110 size:2 0 Rm:5 0 110 10 Rn:5 Rd:5", NotD1),
        new(Op.VZip2,    "0 Q:1 001110 size:2 0 Rm:5 0 111 10 Rn:5 Rd:5", NotD1),
        new(Op.VExt,     "0 Q:1 101110 00 0 Rm:5 0 imm4:4 0 Rn:5 Rd:5", ExtValid),
        new(Op.VTbl,     "0 Q:1 001110 00 0 Rm:5 0 len:2 0 00 Rn:5 Rd:5"),
        new(Op.VTbx,     "0 Q:1 001110 00 0 Rm:5 0 len:2 1 00 Rn:5 Rd:5"),

        // Shift by immediate (immh = 0000 is the modified-immediate class above)
        new(Op.VSshr,    "0 Q:1 0 011110 immh:4 immb:3 00000 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VUshr,    "0 Q:1 1 011110 immh:4 immb:3 00000 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSsra,    "0 Q:1 0 011110 immh:4 immb:3 00010 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VUsra,    "0 Q:1 1 011110 immh:4 immb:3 00010 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSrshr,   "0 Q:1 0 011110 immh:4 immb:3 00100 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VUrshr,   "0 Q:1 1 011110 immh:4 immb:3 00100 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSrsra,   "0 Q:1 0 011110 immh:4 immb:3 00110 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VUrsra,   "0 Q:1 1 011110 immh:4 immb:3 00110 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSri,     "0 Q:1 1 011110 immh:4 immb:3 01000 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VShl,     "0 Q:1 0 011110 immh:4 immb:3 01010 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSli,     "0 Q:1 1 011110 immh:4 immb:3 01010 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSqshlu,  "0 Q:1 1 011110 immh:4 immb:3 01100 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VSqshlImm, "0 Q:1 0 011110 immh:4 immb:3 01110 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VUqshlImm, "0 Q:1 1 011110 immh:4 immb:3 01110 1 Rn:5 Rd:5", ImmhVector),
        new(Op.VShrn,    "0 Q:1 0 011110 immh:4 immb:3 10000 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqshrun, "0 Q:1 1 011110 immh:4 immb:3 10000 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VRshrn,   "0 Q:1 0 011110 immh:4 immb:3 10001 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqrshrun, "0 Q:1 1 011110 immh:4 immb:3 10001 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqshrn,  "0 Q:1 0 011110 immh:4 immb:3 10010 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VUqshrn,  "0 Q:1 1 011110 immh:4 immb:3 10010 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqrshrn, "0 Q:1 0 011110 immh:4 immb:3 10011 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VUqrshrn, "0 Q:1 1 011110 immh:4 immb:3 10011 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSshll,   "0 Q:1 0 011110 immh:4 immb:3 10100 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VUshll,   "0 Q:1 1 011110 immh:4 immb:3 10100 1 Rn:5 Rd:5", ImmhNarrow),

        // Scalar shift by immediate: the plain shifts only for D
        new(Op.VSshr,    "01 0 111110 immh:4 immb:3 00000 1 Rn:5 Rd:5", ImmhD),
        new(Op.VUshr,    "01 1 111110 immh:4 immb:3 00000 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSsra,    "01 0 111110 immh:4 immb:3 00010 1 Rn:5 Rd:5", ImmhD),
        new(Op.VUsra,    "01 1 111110 immh:4 immb:3 00010 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSrshr,   "01 0 111110 immh:4 immb:3 00100 1 Rn:5 Rd:5", ImmhD),
        new(Op.VUrshr,   "01 1 111110 immh:4 immb:3 00100 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSrsra,   "01 0 111110 immh:4 immb:3 00110 1 Rn:5 Rd:5", ImmhD),
        new(Op.VUrsra,   "01 1 111110 immh:4 immb:3 00110 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSri,     "01 1 111110 immh:4 immb:3 01000 1 Rn:5 Rd:5", ImmhD),
        new(Op.VShl,     "01 0 111110 immh:4 immb:3 01010 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSli,     "01 1 111110 immh:4 immb:3 01010 1 Rn:5 Rd:5", ImmhD),
        new(Op.VSqshlu,  "01 1 111110 immh:4 immb:3 01100 1 Rn:5 Rd:5", ImmhNonZero),
        new(Op.VSqshlImm, "01 0 111110 immh:4 immb:3 01110 1 Rn:5 Rd:5", ImmhNonZero),
        new(Op.VUqshlImm, "01 1 111110 immh:4 immb:3 01110 1 Rn:5 Rd:5", ImmhNonZero),
        new(Op.VSqshrun, "01 1 111110 immh:4 immb:3 10000 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqrshrun, "01 1 111110 immh:4 immb:3 10001 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqshrn,  "01 0 111110 immh:4 immb:3 10010 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VUqshrn,  "01 1 111110 immh:4 immb:3 10010 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VSqrshrn, "01 0 111110 immh:4 immb:3 10011 1 Rn:5 Rd:5", ImmhNarrow),
        new(Op.VUqrshrn, "01 1 111110 immh:4 immb:3 10011 1 Rn:5 Rd:5", ImmhNarrow),

        // Vector x indexed element (integer forms take H and S elements)
        new(Op.VMlaElem,  "0 Q:1 1 01111 size:2 L:1 M:1 Rm:4 0000 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSmlalElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 0010 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VUmlalElem, "0 Q:1 1 01111 size:2 L:1 M:1 Rm:4 0010 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmlalElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 0011 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VMlsElem,  "0 Q:1 1 01111 size:2 L:1 M:1 Rm:4 0100 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSmlslElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 0110 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VUmlslElem, "0 Q:1 1 01111 size:2 L:1 M:1 Rm:4 0110 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmlslElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 0111 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VMulElem,  "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 1000 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSmullElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 1010 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VUmullElem, "0 Q:1 1 01111 size:2 L:1 M:1 Rm:4 1010 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmullElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 1011 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmulhElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 1100 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqrdmulhElem, "0 Q:1 0 01111 size:2 L:1 M:1 Rm:4 1101 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmlalElem, "01 0 11111 size:2 L:1 M:1 Rm:4 0011 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmlslElem, "01 0 11111 size:2 L:1 M:1 Rm:4 0111 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmullElem, "01 0 11111 size:2 L:1 M:1 Rm:4 1011 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqdmulhElem, "01 0 11111 size:2 L:1 M:1 Rm:4 1100 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        new(Op.VSqrdmulhElem, "01 0 11111 size:2 L:1 M:1 Rm:4 1101 H:1 0 Rn:5 Rd:5", IndexedHOrS),
        // Three same, floating point: bit 23 (a) modifies the opcode, sz chooses S or D lanes
        new(Op.VFmaxnm, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11000 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmla, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11001 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFadd, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11010 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmulx, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11011 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmeq, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmax, "0 Q:1 0 01110 0 sz:1 1 Rm:5 11110 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFminnm, "0 Q:1 0 01110 1 sz:1 1 Rm:5 11000 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmls, "0 Q:1 0 01110 1 sz:1 1 Rm:5 11001 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFsub, "0 Q:1 0 01110 1 sz:1 1 Rm:5 11010 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmin, "0 Q:1 0 01110 1 sz:1 1 Rm:5 11110 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmaxnmp, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11000 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFaddp, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11010 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmul, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11011 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmge, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFacge, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11101 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFmaxp, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11110 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFdiv, "0 Q:1 1 01110 0 sz:1 1 Rm:5 11111 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFminnmp, "0 Q:1 1 01110 1 sz:1 1 Rm:5 11000 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFabd, "0 Q:1 1 01110 1 sz:1 1 Rm:5 11010 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmgt, "0 Q:1 1 01110 1 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFacgt, "0 Q:1 1 01110 1 sz:1 1 Rm:5 11101 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFminp, "0 Q:1 1 01110 1 sz:1 1 Rm:5 11110 1 Rn:5 Rd:5", FpNotD1),
        // Scalar three same, floating point
        new(Op.VFmulx, "01 0 11110 0 sz:1 1 Rm:5 11011 1 Rn:5 Rd:5"),
        new(Op.VFcmeq, "01 0 11110 0 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5"),
        new(Op.VFcmge, "01 1 11110 0 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5"),
        new(Op.VFacge, "01 1 11110 0 sz:1 1 Rm:5 11101 1 Rn:5 Rd:5"),
        new(Op.VFabd, "01 1 11110 1 sz:1 1 Rm:5 11010 1 Rn:5 Rd:5"),
        new(Op.VFcmgt, "01 1 11110 1 sz:1 1 Rm:5 11100 1 Rn:5 Rd:5"),
        new(Op.VFacgt, "01 1 11110 1 sz:1 1 Rm:5 11101 1 Rn:5 Rd:5"),
        // Two-register miscellaneous, floating point
        new(Op.VFcvtn, "0 Q:1 0 01110 0 sz:1 10000 10110 10 Rn:5 Rd:5"),
        new(Op.VFcvtl, "0 Q:1 0 01110 0 sz:1 10000 10111 10 Rn:5 Rd:5"),
        new(Op.VFrintn, "0 Q:1 0 01110 0 sz:1 10000 11000 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrintm, "0 Q:1 0 01110 0 sz:1 10000 11001 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtns, "0 Q:1 0 01110 0 sz:1 10000 11010 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtms, "0 Q:1 0 01110 0 sz:1 10000 11011 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtas, "0 Q:1 0 01110 0 sz:1 10000 11100 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VScvtf, "0 Q:1 0 01110 0 sz:1 10000 11101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmgtZ, "0 Q:1 0 01110 1 sz:1 10000 01100 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmeqZ, "0 Q:1 0 01110 1 sz:1 10000 01101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmltZ, "0 Q:1 0 01110 1 sz:1 10000 01110 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFabs, "0 Q:1 0 01110 1 sz:1 10000 01111 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrintp, "0 Q:1 0 01110 1 sz:1 10000 11000 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrintz, "0 Q:1 0 01110 1 sz:1 10000 11001 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtps, "0 Q:1 0 01110 1 sz:1 10000 11010 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtzs, "0 Q:1 0 01110 1 sz:1 10000 11011 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtxn, "0 Q:1 1 01110 0 sz:1 10000 10110 10 Rn:5 Rd:5", SzIsD),
        new(Op.VFrinta, "0 Q:1 1 01110 0 sz:1 10000 11000 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrintx, "0 Q:1 1 01110 0 sz:1 10000 11001 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtnu, "0 Q:1 1 01110 0 sz:1 10000 11010 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtmu, "0 Q:1 1 01110 0 sz:1 10000 11011 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtau, "0 Q:1 1 01110 0 sz:1 10000 11100 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VUcvtf, "0 Q:1 1 01110 0 sz:1 10000 11101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmgeZ, "0 Q:1 1 01110 1 sz:1 10000 01100 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcmleZ, "0 Q:1 1 01110 1 sz:1 10000 01101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFneg, "0 Q:1 1 01110 1 sz:1 10000 01111 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrinti, "0 Q:1 1 01110 1 sz:1 10000 11001 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtpu, "0 Q:1 1 01110 1 sz:1 10000 11010 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFcvtzu, "0 Q:1 1 01110 1 sz:1 10000 11011 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFsqrt, "0 Q:1 1 01110 1 sz:1 10000 11111 10 Rn:5 Rd:5", FpNotD1),
        // Scalar two-register miscellaneous, floating point
        new(Op.VFcvtns, "01 0 11110 0 sz:1 10000 11010 10 Rn:5 Rd:5"),
        new(Op.VFcvtms, "01 0 11110 0 sz:1 10000 11011 10 Rn:5 Rd:5"),
        new(Op.VFcvtas, "01 0 11110 0 sz:1 10000 11100 10 Rn:5 Rd:5"),
        new(Op.VScvtf, "01 0 11110 0 sz:1 10000 11101 10 Rn:5 Rd:5"),
        new(Op.VFcmgtZ, "01 0 11110 1 sz:1 10000 01100 10 Rn:5 Rd:5"),
        new(Op.VFcmeqZ, "01 0 11110 1 sz:1 10000 01101 10 Rn:5 Rd:5"),
        new(Op.VFcmltZ, "01 0 11110 1 sz:1 10000 01110 10 Rn:5 Rd:5"),
        new(Op.VFcvtps, "01 0 11110 1 sz:1 10000 11010 10 Rn:5 Rd:5"),
        new(Op.VFcvtzs, "01 0 11110 1 sz:1 10000 11011 10 Rn:5 Rd:5"),
        new(Op.VFcvtnu, "01 1 11110 0 sz:1 10000 11010 10 Rn:5 Rd:5"),
        new(Op.VFcvtmu, "01 1 11110 0 sz:1 10000 11011 10 Rn:5 Rd:5"),
        new(Op.VFcvtau, "01 1 11110 0 sz:1 10000 11100 10 Rn:5 Rd:5"),
        new(Op.VUcvtf, "01 1 11110 0 sz:1 10000 11101 10 Rn:5 Rd:5"),
        new(Op.VFcmgeZ, "01 1 11110 1 sz:1 10000 01100 10 Rn:5 Rd:5"),
        new(Op.VFcmleZ, "01 1 11110 1 sz:1 10000 01101 10 Rn:5 Rd:5"),
        new(Op.VFcvtpu, "01 1 11110 1 sz:1 10000 11010 10 Rn:5 Rd:5"),
        new(Op.VFcvtzu, "01 1 11110 1 sz:1 10000 11011 10 Rn:5 Rd:5"),
        new(Op.VFcvtxn, "01 1 11110 0 sz:1 10000 10110 10 Rn:5 Rd:5", SzIsD),
        // Across lanes and scalar pairwise, floating point (v8.0 has only the 4S across-lanes forms)
        new(Op.VFmaxnmv, "0 1 1 01110 0 0 11000 01100 10 Rn:5 Rd:5"),
        new(Op.VFmaxv,   "0 1 1 01110 0 0 11000 01111 10 Rn:5 Rd:5"),
        new(Op.VFminnmv, "0 1 1 01110 1 0 11000 01100 10 Rn:5 Rd:5"),
        new(Op.VFminv,   "0 1 1 01110 1 0 11000 01111 10 Rn:5 Rd:5"),
        new(Op.VFmaxnmp, "01 1 11110 0 sz:1 11000 01100 10 Rn:5 Rd:5"),
        new(Op.VFaddp,   "01 1 11110 0 sz:1 11000 01101 10 Rn:5 Rd:5"),
        new(Op.VFmaxp,   "01 1 11110 0 sz:1 11000 01111 10 Rn:5 Rd:5"),
        new(Op.VFminnmp, "01 1 11110 1 sz:1 11000 01100 10 Rn:5 Rd:5"),
        new(Op.VFminp,   "01 1 11110 1 sz:1 11000 01111 10 Rn:5 Rd:5"),
        // By element, floating point: S lanes index H:L with M extending Rm, D lanes index H (L = 0)
        new(Op.VFmlaElem, "0 Q:1 0 01111 1 sz:1 L:1 M:1 Rm:4 0001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmlaElem, "01 0 11111 1 sz:1 L:1 M:1 Rm:4 0001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmlsElem, "0 Q:1 0 01111 1 sz:1 L:1 M:1 Rm:4 0101 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmlsElem, "01 0 11111 1 sz:1 L:1 M:1 Rm:4 0101 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmulElem, "0 Q:1 0 01111 1 sz:1 L:1 M:1 Rm:4 1001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmulElem, "01 0 11111 1 sz:1 L:1 M:1 Rm:4 1001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmulxElem, "0 Q:1 1 01111 1 sz:1 L:1 M:1 Rm:4 1001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        new(Op.VFmulxElem, "01 1 11111 1 sz:1 L:1 M:1 Rm:4 1001 H:1 0 Rn:5 Rd:5", FpIndexedValid),
        // Fixed-point conversions (shift by immediate class; immh 001x and 0001 would be FP16)
        new(Op.VScvtfFixed, "0 Q:1 0 011110 immh:4 immb:3 11100 1 Rn:5 Rd:5", FpFixedVector),
        new(Op.VScvtfFixed, "01 0 111110 immh:4 immb:3 11100 1 Rn:5 Rd:5", FpFixedScalar),
        new(Op.VUcvtfFixed, "0 Q:1 1 011110 immh:4 immb:3 11100 1 Rn:5 Rd:5", FpFixedVector),
        new(Op.VUcvtfFixed, "01 1 111110 immh:4 immb:3 11100 1 Rn:5 Rd:5", FpFixedScalar),
        new(Op.VFcvtzsFixed, "0 Q:1 0 011110 immh:4 immb:3 11111 1 Rn:5 Rd:5", FpFixedVector),
        new(Op.VFcvtzsFixed, "01 0 111110 immh:4 immb:3 11111 1 Rn:5 Rd:5", FpFixedScalar),
        new(Op.VFcvtzuFixed, "0 Q:1 1 011110 immh:4 immb:3 11111 1 Rn:5 Rd:5", FpFixedVector),
        new(Op.VFcvtzuFixed, "01 1 111110 immh:4 immb:3 11111 1 Rn:5 Rd:5", FpFixedScalar),
        // Reciprocal and reciprocal square root estimates and Newton-Raphson steps
        new(Op.VFrecps,  "0 Q:1 0 01110 0 sz:1 1 Rm:5 11111 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrsqrts, "0 Q:1 0 01110 1 sz:1 1 Rm:5 11111 1 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrecps,  "01 0 11110 0 sz:1 1 Rm:5 11111 1 Rn:5 Rd:5"),
        new(Op.VFrsqrts, "01 0 11110 1 sz:1 1 Rm:5 11111 1 Rn:5 Rd:5"),
        new(Op.VUrecpe,  "0 Q:1 0 01110 1 0 10000 11100 10 Rn:5 Rd:5"),
        new(Op.VUrsqrte, "0 Q:1 1 01110 1 0 10000 11100 10 Rn:5 Rd:5"),
        new(Op.VFrecpe,  "0 Q:1 0 01110 1 sz:1 10000 11101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrsqrte, "0 Q:1 1 01110 1 sz:1 10000 11101 10 Rn:5 Rd:5", FpNotD1),
        new(Op.VFrecpe,  "01 0 11110 1 sz:1 10000 11101 10 Rn:5 Rd:5"),
        new(Op.VFrsqrte, "01 1 11110 1 sz:1 10000 11101 10 Rn:5 Rd:5"),
        new(Op.VFrecpx,  "01 0 11110 1 sz:1 10000 11111 10 Rn:5 Rd:5"),
        // FMOV (vector, immediate): S lanes with op 0, D lanes with op 1 and Q 1
        new(Op.VFmovImm, "0 Q:1 op:1 0111100000 a:1 b:1 c:1 1111 0 1 d:1 e:1 f:1 g:1 h:1 Rd:5", (e, w) => e.Get("op", w) == 0 || e.Get("Q", w) == 1),
    ];
}
