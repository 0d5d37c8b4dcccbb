using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>
/// AdvSIMD cases: forms drawn from the rows of <see cref="A64TableSimd"/> (vector and scalar rows alike), fields
/// filled at random and kept when the decoder gives back the form meant; V0–V31 hold lane-wise edge values of
/// a random lane size (0, ±1, the signed and unsigned extremes and their neighbours, small shift counts).
/// </summary>
public static partial class Generator
{
    private static readonly Dictionary<InstructionClass, Op[]> simdClasses = new()
    {
        [InstructionClass.SimdArithmetic] =
        [
            Op.VAdd, Op.VSub, Op.VNeg, Op.VAbs, Op.VShadd, Op.VUhadd, Op.VSrhadd, Op.VUrhadd, Op.VShsub, Op.VUhsub,
            Op.VSabd, Op.VUabd, Op.VSaba, Op.VUaba, Op.VSmax, Op.VUmax, Op.VSmin, Op.VUmin, Op.VCnt, Op.VClz, Op.VCls,
            Op.VRbit,
        ],
        [InstructionClass.SimdCompare] =
        [
            Op.VCmeq, Op.VCmtst, Op.VCmgt, Op.VCmge, Op.VCmhi, Op.VCmhs, Op.VCmgtZ, Op.VCmgeZ, Op.VCmeqZ, Op.VCmleZ, Op.VCmltZ,
        ],
        [InstructionClass.SimdLogicImmediate] =
        [
            Op.VAnd, Op.VBic, Op.VOrr, Op.VOrn, Op.VEor, Op.VBsl, Op.VBit, Op.VBif, Op.VNot, Op.VMovi, Op.VOrrImm, Op.VBicImm,
        ],
        [InstructionClass.SimdPermute] =
        [
            Op.VDupElement, Op.VDupGeneral, Op.VIns, Op.VInsElement, Op.VUmov, Op.VSmov, Op.VExt, Op.VTbl, Op.VTbx,
            Op.VUzp1, Op.VUzp2, Op.VZip1, Op.VZip2, Op.VTrn1, Op.VTrn2, Op.VRev64, Op.VRev32, Op.VRev16,
        ],
        [InstructionClass.SimdShift] =
        [
            Op.VSshr, Op.VUshr, Op.VSsra, Op.VUsra, Op.VSrshr, Op.VUrshr, Op.VSrsra, Op.VUrsra, Op.VShl, Op.VSli, Op.VSri,
            Op.VSshl, Op.VUshl, Op.VSrshl, Op.VUrshl,
        ],
        [InstructionClass.SimdAcrossPairwise] =
        [
            Op.VAddv, Op.VSaddlv, Op.VUaddlv, Op.VSmaxv, Op.VUmaxv, Op.VSminv, Op.VUminv, Op.VAddp, Op.VSmaxp, Op.VUmaxp,
            Op.VSminp, Op.VUminp, Op.VSaddlp, Op.VUaddlp, Op.VSadalp, Op.VUadalp,
        ],
        [InstructionClass.SimdWidenNarrow] =
        [
            Op.VXtn, Op.VShll, Op.VSshll, Op.VUshll, Op.VShrn, Op.VRshrn, Op.VSaddl, Op.VUaddl, Op.VSsubl, Op.VUsubl,
            Op.VSaddw, Op.VUaddw, Op.VSsubw, Op.VUsubw, Op.VAddhn, Op.VRaddhn, Op.VSubhn, Op.VRsubhn, Op.VSabal, Op.VUabal,
            Op.VSabdl, Op.VUabdl,
        ],
        [InstructionClass.SimdSaturating] =
        [
            Op.VSqadd, Op.VUqadd, Op.VSqsub, Op.VUqsub, Op.VSqshl, Op.VUqshl, Op.VSqrshl, Op.VUqrshl, Op.VSqabs, Op.VSqneg,
            Op.VSuqadd, Op.VUsqadd, Op.VSqxtn, Op.VUqxtn, Op.VSqxtun, Op.VSqshlImm, Op.VUqshlImm, Op.VSqshlu,
            Op.VSqshrn, Op.VUqshrn, Op.VSqrshrn, Op.VUqrshrn, Op.VSqshrun, Op.VSqrshrun,
        ],
        [InstructionClass.SimdMultiply] =
        [
            Op.VMul, Op.VMla, Op.VMls, Op.VPmul, Op.VSqdmulh, Op.VSqrdmulh, Op.VSmlal, Op.VUmlal, Op.VSmlsl, Op.VUmlsl,
            Op.VSmull, Op.VUmull, Op.VPmull, Op.VSqdmlal, Op.VSqdmlsl, Op.VSqdmull,
            Op.VMulElem, Op.VMlaElem, Op.VMlsElem, Op.VSmullElem, Op.VUmullElem, Op.VSmlalElem, Op.VUmlalElem,
            Op.VSmlslElem, Op.VUmlslElem, Op.VSqdmulhElem, Op.VSqrdmulhElem, Op.VSqdmullElem, Op.VSqdmlalElem, Op.VSqdmlslElem,
        ],
        [InstructionClass.SimdFloatArithmetic] =
        [
            Op.VFadd, Op.VFsub, Op.VFmul, Op.VFdiv, Op.VFmla, Op.VFmls, Op.VFmulx, Op.VFmax, Op.VFmin, Op.VFmaxnm, Op.VFminnm,
            Op.VFabd, Op.VFabs, Op.VFneg, Op.VFsqrt, Op.VFaddp, Op.VFmaxp, Op.VFminp, Op.VFmaxnmp, Op.VFminnmp,
            Op.VFmaxv, Op.VFminv, Op.VFmaxnmv, Op.VFminnmv, Op.VFmlaElem, Op.VFmlsElem, Op.VFmulElem, Op.VFmulxElem,
        ],
        [InstructionClass.SimdFloatCompareConvert] =
        [
            Op.VFcmeq, Op.VFcmge, Op.VFcmgt, Op.VFacge, Op.VFacgt, Op.VFcmeqZ, Op.VFcmgeZ, Op.VFcmgtZ, Op.VFcmleZ, Op.VFcmltZ,
            Op.VFrintn, Op.VFrintp, Op.VFrintm, Op.VFrintz, Op.VFrinta, Op.VFrintx, Op.VFrinti,
            Op.VFcvtns, Op.VFcvtnu, Op.VFcvtps, Op.VFcvtpu, Op.VFcvtms, Op.VFcvtmu, Op.VFcvtzs, Op.VFcvtzu, Op.VFcvtas,
            Op.VFcvtau, Op.VScvtf, Op.VUcvtf, Op.VScvtfFixed, Op.VUcvtfFixed, Op.VFcvtzsFixed, Op.VFcvtzuFixed,
            Op.VFcvtl, Op.VFcvtn, Op.VFcvtxn, Op.VFmovImm,
            Op.VFrecps, Op.VFrsqrts, Op.VFrecpe, Op.VFrsqrte, Op.VUrecpe, Op.VUrsqrte, Op.VFrecpx,
        ],
    };

    private static readonly Dictionary<Op, Encoding[]> simdRows =
        A64TableSimd.Rows.GroupBy(r => r.Op).ToDictionary(g => g.Key, g => g.ToArray());

    public static bool IsSimd(InstructionClass cls) => simdClasses.ContainsKey(cls);

    /// <summary>One to three forms of the class, sometimes chained through the same registers.</summary>
    private static void Simd(CaseBuilder b)
    {
        var r = b.R;
        var c = b.Case;
        bool fp = c.Class is InstructionClass.SimdFloatArithmetic or InstructionClass.SimdFloatCompareConvert;
        for (int v = 0; v < 32; v++)
            if (fp && r.Chance(85)) FloatValue(r, out c.V[2 * v], out c.V[2 * v + 1]);
            else SimdValue(r, out c.V[2 * v], out c.V[2 * v + 1]);
        // QC and the cumulative exception flags are sticky: start with some set now and then.
        c.Fpsr = r.Chance(20) ? 1UL << 27 : 0;
        if (fp)
        {
            if (r.Chance(20)) c.Fpsr |= r.Bits(5) | (r.Bits(1) << 7);
            // RMode (23:22), FZ (24) and DN (25) in every combination; AHP only now and then.
            c.Fpcr = (ulong)r.Bits(4) << 22 | (r.Chance(5) ? 1UL << 26 : 0);
        }
        var ops = simdClasses[c.Class];
        int n = r.Below(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < n; i++) EmitSimd(b, r.Pick(ops));
    }

    private static void EmitSimd(CaseBuilder b, Op op)
    {
        var r = b.R;
        var rows = simdRows[op];
        for (int tries = 0; ; tries++)
        {
            var row = rows[r.Below(rows.Length)];
            uint word = row.Value;
            foreach (var f in row.Fields)
            {
                // Registers mostly from a few, so that sources and destinations overlap and results chain.
                uint value = f.Name is "Rd" or "Rn" or "Rm" && f.Width == 5 && r.Chance(60) ? (uint)r.Below(4) : r.Bits(f.Width);
                word |= value << f.Shift;
            }
            if (A64Decoder.Decode(word).Op != op)
            {
                if (tries > 1000) throw new InvalidOperationException($"no valid word for {op}");
                continue;
            }
            b.Case.Intended.Add((word, op));
            b.EmitRaw(word);
            return;
        }
    }

    /// <summary>A 128-bit value of S or D lanes: zeros, infinities, NaNs with payloads, denormals, ties and conversion limits.</summary>
    private static void FloatValue(Rng r, out ulong lo, out ulong hi)
    {
        bool dbl = r.Coin();
        int bits = dbl ? 64 : 32, fbits = dbl ? 52 : 23;
        ulong sign = 1UL << (bits - 1), expMask = (dbl ? 0x7FFUL : 0xFFUL) << fbits, quiet = 1UL << (fbits - 1);
        ulong fracMask = (1UL << fbits) - 1;
        ulong F(double x) => dbl ? BitConverter.DoubleToUInt64Bits(x) : BitConverter.SingleToUInt32Bits((float)x);
        lo = hi = 0;
        for (int k = 0; k < 128 / bits; k++)
        {
            ulong x = r.Below(22) switch
            {
                0 => 0,
                1 => expMask,                                  // infinity
                2 => expMask | quiet,                          // default NaN
                3 => expMask | quiet | (r.Next() & (quiet - 1)),  // quiet NaN with payload
                4 => expMask | ((r.Next() & (quiet - 1)) | 1),    // signalling NaN
                5 => r.Next() & fracMask,                      // denormal
                6 => 1,                                        // smallest denormal
                7 => 1UL << fbits,                             // smallest normal
                8 => expMask - 1,                              // largest normal
                9 => F(1.0),
                10 => F(r.Range(-8, 8) + 0.5),                 // ties
                11 => F(r.Range(-100, 100)),
                12 => F(r.Pick(limits)),
                13 => F(r.Pick(limits)) + (ulong)(long)r.Range(-1, 1),
                14 => F(r.Range(-1000, 1000) / 16.0),
                _ => r.Next() & (dbl ? ulong.MaxValue : 0xFFFF_FFFF),
            };
            if (r.Coin()) x |= sign;
            if (!dbl) x &= 0xFFFF_FFFF;
            int at = k * bits;
            if (at < 64) lo |= x << at; else hi |= x << (at - 64);
        }
    }

    // Where float-to-integer conversions saturate, and powers of two around the fixed-point scales.
    private static readonly double[] limits = [2147483648.0, 4294967296.0, 9223372036854775808.0, 18446744073709551616.0, 65536.0, 0.25, 1e-40, 3.0e38];

    /// <summary>A 128-bit value whose lanes (of one random size) are edge values or noise.</summary>
    private static void SimdValue(Rng r, out ulong lo, out ulong hi)
    {
        if (r.Chance(15)) { lo = r.Next(); hi = r.Next(); return; }
        int size = r.Below(4), bits = 8 << size, lanes = 16 >> size;
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong signBit = 1UL << (bits - 1);
        lo = hi = 0;
        for (int k = 0; k < lanes; k++)
        {
            ulong x = r.Below(12) switch
            {
                0 => 0,
                1 => 1,
                2 => mask,                    // -1, unsigned max
                3 => signBit,                 // signed min
                4 => signBit - 1,             // signed max
                5 => signBit + 1,
                6 => mask - 1,
                7 => (ulong)(long)r.Range(-(bits + 2), bits + 2), // shift counts for the by-register shifts
                8 => signBit >> 1,
                _ => r.Next(),
            } & mask;
            int at = k * bits;
            if (at < 64) lo |= x << at; else hi |= x << (at - 64);
        }
    }
}
