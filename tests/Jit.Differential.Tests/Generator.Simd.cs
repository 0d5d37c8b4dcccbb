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
    };

    private static readonly Dictionary<Op, Encoding[]> simdRows =
        A64TableSimd.Rows.GroupBy(r => r.Op).ToDictionary(g => g.Key, g => g.ToArray());

    public static bool IsSimd(InstructionClass cls) => simdClasses.ContainsKey(cls);

    /// <summary>One to three forms of the class, sometimes chained through the same registers.</summary>
    private static void Simd(CaseBuilder b)
    {
        var r = b.R;
        var c = b.Case;
        for (int v = 0; v < 32; v++) SimdValue(r, out c.V[2 * v], out c.V[2 * v + 1]);
        // QC is sticky: start with it set now and then, so clearing it by mistake shows.
        c.Fpsr = r.Chance(20) ? 1UL << 27 : 0;
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
