using Jit.Translator.Decoder;
using Jit.Translator.Interpreter.FloatingPoint;
using static Jit.Translator.Interpreter.SimdLanes;

namespace Jit.Translator.Interpreter;

/// <summary>
/// AdvSIMD floating point, lane by lane through <see cref="FpCore"/> (the Arm NaN, rounding, flush-to-zero and
/// exception-flag rules), with FPCR as it stands: AArch64 has no separate "standard" FPSCR for vectors.
/// </summary>
public sealed unsafe partial class BlockInterpreter
{
    private const ulong FpEqual = 0x6UL << 28, FpGreater = 0x2UL << 28;

    private void SimdFloat(in Inst I)
    {
        ulong fpcr = s->Fpcr, fpsr = s->Fpsr;
        ulong* n = VReg(I.Rn), m = VReg(I.Rm), d = VReg(I.Rd);
        Vec r = default;
        ulong* p = &r.Lo;
        int size = I.A, bits = 8 << size, count = I.B >> size;
        switch (I.Op)
        {
            case Op.VFmovImm:
                VWrite(I.Rd, I.Imm, I.Imm, I.B);
                return;

            case Op.VFaddp: case Op.VFmaxp: case Op.VFminp: case Op.VFmaxnmp: case Op.VFminnmp:
                if (I.Sf == 1)
                {
                    // The scalar forms reduce the two lanes of Vn.
                    p[0] = FloatLane(I.Op, Get(n, size, 0), Get(n, size, 1), 0, bits, fpcr, ref fpsr);
                    break;
                }
                for (int k = 0; k < count; k++)
                {
                    ulong* src = k < count / 2 ? n : m;
                    int j = 2 * (k < count / 2 ? k : k - count / 2);
                    Set(p, size, k, FloatLane(I.Op, Get(src, size, j), Get(src, size, j + 1), 0, bits, fpcr, ref fpsr));
                }
                break;

            case Op.VFmaxv: case Op.VFminv: case Op.VFmaxnmv: case Op.VFminnmv:
            {
                // Reduce() pairs the lanes as a tree: (e0 op e1) op (e2 op e3), which decides which NaN wins.
                Op op = I.Op switch { Op.VFmaxv => Op.VFmax, Op.VFminv => Op.VFmin, Op.VFmaxnmv => Op.VFmaxnm, _ => Op.VFminnm };
                ulong lo = FloatLane(op, Get(n, 2, 0), Get(n, 2, 1), 0, 32, fpcr, ref fpsr);
                ulong hi = FloatLane(op, Get(n, 2, 2), Get(n, 2, 3), 0, 32, fpcr, ref fpsr);
                p[0] = FloatLane(op, lo, hi, 0, 32, fpcr, ref fpsr);
                VWrite(I.Rd, in r, 4);
                s->Fpsr = fpsr;
                return;
            }

            case Op.VFmlaElem: case Op.VFmlsElem: case Op.VFmulElem: case Op.VFmulxElem:
            {
                Op op = I.Op switch { Op.VFmlaElem => Op.VFmla, Op.VFmlsElem => Op.VFmls, Op.VFmulElem => Op.VFmul, _ => Op.VFmulx };
                ulong b = Get(m, size, (int)I.Imm);
                for (int k = 0; k < count; k++)
                    Set(p, size, k, FloatLane(op, Get(n, size, k), b, Get(d, size, k), bits, fpcr, ref fpsr));
                break;
            }

            case Op.VScvtfFixed: case Op.VUcvtfFixed:
                for (int k = 0; k < count; k++)
                    Set(p, size, k, FpCore.FromFixed(Get(n, size, k), bits, (int)I.Imm, I.Op == Op.VUcvtfFixed, bits,
                        FpCore.RoundingMode(fpcr), fpcr, ref fpsr));
                break;
            case Op.VFcvtzsFixed: case Op.VFcvtzuFixed:
                for (int k = 0; k < count; k++)
                    Set(p, size, k, FpCore.ToFixed(Get(n, size, k), bits, (int)I.Imm, I.Op == Op.VFcvtzuFixed, bits,
                        FpRounding.Zero, fpcr, ref fpsr));
                break;

            case Op.VFcvtl:
            {
                // Half to single or single to double, from the lower or (FCVTL2) the upper half of Vn.
                int lanes = 16 >> (size + 1), part = I.C == 1 ? lanes : 0;
                for (int k = 0; k < lanes; k++)
                    Set(p, size + 1, k, FpCore.Convert(Get(n, size, part + k), bits, 2 * bits, FpCore.RoundingMode(fpcr), fpcr, ref fpsr));
                break;
            }
            case Op.VFcvtn: case Op.VFcvtxn:
            {
                var rounding = I.Op == Op.VFcvtxn ? FpRounding.Odd : FpCore.RoundingMode(fpcr);
                ulong lo = 0;
                for (int k = 0; k < count; k++)
                    lo |= FpCore.Convert(Get(n, size + 1, k), 2 * bits, bits, rounding, fpcr, ref fpsr) << (k * bits);
                VWriteNarrow(in I, lo);
                s->Fpsr = fpsr;
                return;
            }

            default:
                for (int k = 0; k < count; k++)
                    Set(p, size, k, FloatLane(I.Op, Get(n, size, k), Get(m, size, k), Get(d, size, k), bits, fpcr, ref fpsr));
                break;
        }
        VWrite(I.Rd, in r, I.B);
        s->Fpsr = fpsr;
    }

    /// <summary>One lane of an FP form: <paramref name="b"/> is the second operand, <paramref name="acc"/> Vd's lane.</summary>
    private static ulong FloatLane(Op op, ulong a, ulong b, ulong acc, int n, ulong fpcr, ref ulong fpsr)
    {
        ulong ones = Ones(n);
        switch (op)
        {
            case Op.VFadd: case Op.VFaddp: return FpCore.Add(a, b, n, fpcr, ref fpsr);
            case Op.VFsub: return FpCore.Sub(a, b, n, fpcr, ref fpsr);
            case Op.VFmul: return FpCore.Mul(a, b, n, fpcr, ref fpsr);
            case Op.VFdiv: return FpCore.Div(a, b, n, fpcr, ref fpsr);
            case Op.VFmla: return FpCore.MulAdd(acc, a, b, n, fpcr, ref fpsr);
            // FMLS negates the first multiplicand before the fused multiply-add, NaN operands included.
            case Op.VFmls: return FpCore.MulAdd(acc, FpCore.Neg(a, n), b, n, fpcr, ref fpsr);
            case Op.VFmulx: return MulX(a, b, n, fpcr, ref fpsr);
            case Op.VFmax: case Op.VFmaxp: return FpCore.Max(a, b, n, fpcr, ref fpsr);
            case Op.VFmin: case Op.VFminp: return FpCore.Min(a, b, n, fpcr, ref fpsr);
            case Op.VFmaxnm: case Op.VFmaxnmp: return FpCore.MaxNum(a, b, n, fpcr, ref fpsr);
            case Op.VFminnm: case Op.VFminnmp: return FpCore.MinNum(a, b, n, fpcr, ref fpsr);
            case Op.VFabd: return FpCore.Abs(FpCore.Sub(a, b, n, fpcr, ref fpsr), n);
            // FCMEQ is a quiet comparison; the ordered ones (GE, GT, and the absolute forms) signal on any NaN.
            case Op.VFcmeq: return FpCore.Compare(a, b, n, false, fpcr, ref fpsr) == FpEqual ? ones : 0;
            case Op.VFcmge: return IsGe(FpCore.Compare(a, b, n, true, fpcr, ref fpsr)) ? ones : 0;
            case Op.VFcmgt: return FpCore.Compare(a, b, n, true, fpcr, ref fpsr) == FpGreater ? ones : 0;
            case Op.VFacge: return IsGe(FpCore.Compare(FpCore.Abs(a, n), FpCore.Abs(b, n), n, true, fpcr, ref fpsr)) ? ones : 0;
            case Op.VFacgt: return FpCore.Compare(FpCore.Abs(a, n), FpCore.Abs(b, n), n, true, fpcr, ref fpsr) == FpGreater ? ones : 0;
            case Op.VFcmeqZ: return FpCore.Compare(a, 0, n, false, fpcr, ref fpsr) == FpEqual ? ones : 0;
            case Op.VFcmgeZ: return IsGe(FpCore.Compare(a, 0, n, true, fpcr, ref fpsr)) ? ones : 0;
            case Op.VFcmgtZ: return FpCore.Compare(a, 0, n, true, fpcr, ref fpsr) == FpGreater ? ones : 0;
            case Op.VFcmleZ: return IsGe(FpCore.Compare(0, a, n, true, fpcr, ref fpsr)) ? ones : 0;
            case Op.VFcmltZ: return FpCore.Compare(0, a, n, true, fpcr, ref fpsr) == FpGreater ? ones : 0;
            case Op.VFabs: return FpCore.Abs(a, n);
            case Op.VFneg: return FpCore.Neg(a, n);
            case Op.VFsqrt: return FpCore.Sqrt(a, n, fpcr, ref fpsr);
            case Op.VFrintn: return FpCore.RoundInt(a, n, FpRounding.TieEven, false, fpcr, ref fpsr);
            case Op.VFrintp: return FpCore.RoundInt(a, n, FpRounding.PosInf, false, fpcr, ref fpsr);
            case Op.VFrintm: return FpCore.RoundInt(a, n, FpRounding.NegInf, false, fpcr, ref fpsr);
            case Op.VFrintz: return FpCore.RoundInt(a, n, FpRounding.Zero, false, fpcr, ref fpsr);
            case Op.VFrinta: return FpCore.RoundInt(a, n, FpRounding.TieAway, false, fpcr, ref fpsr);
            case Op.VFrintx: return FpCore.RoundInt(a, n, FpCore.RoundingMode(fpcr), true, fpcr, ref fpsr);
            case Op.VFrinti: return FpCore.RoundInt(a, n, FpCore.RoundingMode(fpcr), false, fpcr, ref fpsr);
            case Op.VFcvtns: return FpCore.ToFixed(a, n, 0, false, n, FpRounding.TieEven, fpcr, ref fpsr);
            case Op.VFcvtnu: return FpCore.ToFixed(a, n, 0, true, n, FpRounding.TieEven, fpcr, ref fpsr);
            case Op.VFcvtps: return FpCore.ToFixed(a, n, 0, false, n, FpRounding.PosInf, fpcr, ref fpsr);
            case Op.VFcvtpu: return FpCore.ToFixed(a, n, 0, true, n, FpRounding.PosInf, fpcr, ref fpsr);
            case Op.VFcvtms: return FpCore.ToFixed(a, n, 0, false, n, FpRounding.NegInf, fpcr, ref fpsr);
            case Op.VFcvtmu: return FpCore.ToFixed(a, n, 0, true, n, FpRounding.NegInf, fpcr, ref fpsr);
            case Op.VFcvtzs: return FpCore.ToFixed(a, n, 0, false, n, FpRounding.Zero, fpcr, ref fpsr);
            case Op.VFcvtzu: return FpCore.ToFixed(a, n, 0, true, n, FpRounding.Zero, fpcr, ref fpsr);
            case Op.VFcvtas: return FpCore.ToFixed(a, n, 0, false, n, FpRounding.TieAway, fpcr, ref fpsr);
            case Op.VFcvtau: return FpCore.ToFixed(a, n, 0, true, n, FpRounding.TieAway, fpcr, ref fpsr);
            case Op.VScvtf: return FpCore.FromFixed(a, n, 0, false, n, FpCore.RoundingMode(fpcr), fpcr, ref fpsr);
            case Op.VFrecps: return StepFused(a, b, n, false, fpcr, ref fpsr);
            case Op.VFrsqrts: return StepFused(a, b, n, true, fpcr, ref fpsr);
            case Op.VFrecpe: return RecipEstimate(a, n, fpcr, ref fpsr);
            case Op.VFrsqrte: return RSqrtEstimate(a, n, fpcr, ref fpsr);
            case Op.VFrecpx: return RecipExponent(a, n, fpcr, ref fpsr);
            case Op.VUrecpe: return (a >> 31) == 0 ? 0xFFFF_FFFFUL : (ulong)RecipEstimate((int)(a >> 23)) << 23;
            case Op.VUrsqrte: return (a >> 30) == 0 ? 0xFFFF_FFFFUL : (ulong)RSqrtEstimate((int)(a >> 23)) << 23;
            default: return FpCore.FromFixed(a, n, 0, true, n, FpCore.RoundingMode(fpcr), fpcr, ref fpsr); // UCVTF
        }
    }

    private static bool IsGe(ulong nzcv) => nzcv is FpEqual or FpGreater;

    /// <summary>FPMulX: as FPMul, except that infinity times zero is 2.0 (with the product's sign) instead of invalid.</summary>
    private static ulong MulX(ulong a, ulong b, int n, ulong fpcr, ref ulong fpsr)
    {
        ulong flags = fpsr;
        var t1 = FpCore.Unpack(a, n, fpcr, ref flags, out bool s1, out _, out _);
        var t2 = FpCore.Unpack(b, n, fpcr, ref flags, out bool s2, out _, out _);
        bool nan = FpCore.IsNaN(t1) || FpCore.IsNaN(t2);
        if (!nan && ((t1 == FpType.Infinity && t2 == FpType.Zero) || (t1 == FpType.Zero && t2 == FpType.Infinity)))
        {
            fpsr = flags;
            ulong two = n == 32 ? 0x4000_0000UL : 0x4000_0000_0000_0000UL;
            return s1 != s2 ? two | 1UL << (n - 1) : two;
        }
        return FpCore.Mul(a, b, n, fpcr, ref fpsr);
    }

    private static ulong FpConstant(int n, ulong single, ulong dbl) => n == 32 ? single : dbl;

    /// <summary>
    /// FPRecipStepFused (FRECPS, 2 − a·b) and FPRSqrtStepFused (FRSQRTS, (3 − a·b) / 2), each rounded once.
    /// FRSQRTS halves exactly: the fused 3 − a·b is halved afterwards when the product is far from overflow
    /// (then 3 − a·b is zero or far above the subnormal range), else the larger operand is halved first.
    /// </summary>
    private static ulong StepFused(ulong a, ulong b, int n, bool sqrt, ulong fpcr, ref ulong fpsr)
    {
        ulong negA = FpCore.Neg(a, n);
        ulong flags = fpsr;
        var t1 = FpCore.Unpack(negA, n, fpcr, ref flags, out bool s1, out _, out _);
        var t2 = FpCore.Unpack(b, n, fpcr, ref flags, out bool s2, out _, out _);
        if (FpCore.ProcessNaNs(t1, t2, negA, b, n, fpcr, ref flags, out ulong nan)) { fpsr = flags; return nan; }
        if ((t1 == FpType.Infinity && t2 == FpType.Zero) || (t1 == FpType.Zero && t2 == FpType.Infinity))
        {
            fpsr = flags;
            return sqrt ? FpConstant(n, 0x3FC0_0000, 0x3FF8_0000_0000_0000) : FpConstant(n, 0x4000_0000, 0x4000_0000_0000_0000);
        }
        if (t1 == FpType.Infinity || t2 == FpType.Infinity) { fpsr = flags; return FpCore.Infinity(s1 != s2, n); }
        if (!sqrt) return FpCore.MulAdd(FpConstant(n, 0x4000_0000, 0x4000_0000_0000_0000), negA, b, n, fpcr, ref fpsr);

        int fbits = n == 32 ? 23 : 52, emask = n == 32 ? 0xFF : 0x7FF;
        int ea = (int)(a >> fbits) & emask, eb = (int)(b >> fbits) & emask;
        if (ea + eb < emask + emask / 2 - 4)
        {
            ulong r = FpCore.MulAdd(FpConstant(n, 0x4040_0000, 0x4008_0000_0000_0000), negA, b, n, fpcr, ref fpsr);
            return (r & (Ones(n) >> 1)) == 0 ? r : r - (1UL << fbits);
        }
        if (ea >= eb) negA -= 1UL << fbits; else b -= 1UL << fbits;
        return FpCore.MulAdd(FpConstant(n, 0x3FC0_0000, 0x3FF8_0000_0000_0000), negA, b, n, fpcr, ref fpsr);
    }

    /// <summary>RecipEstimate: 9-bit a in [256, 511] (0.5 ≤ x &lt; 1) to an 8-bit-accurate 1/x in [256, 511].</summary>
    private static int RecipEstimate(int a)
    {
        a = a * 2 + 1;
        int b = (1 << 19) / a;
        return (b + 1) / 2;
    }

    /// <summary>RecipSqrtEstimate: a in [128, 511] (0.25 ≤ x &lt; 1) to 1/√x in [256, 511].</summary>
    private static int RSqrtEstimate(int a)
    {
        a = a < 256 ? a * 2 + 1 : (((a >> 1) << 1) + 1) * 2;
        int b = 512;
        while ((long)a * (b + 1) * (b + 1) < 1L << 28) b++;
        return (b + 1) / 2;
    }

    /// <summary>FPRecipEstimate (FRECPE).</summary>
    private static ulong RecipEstimate(ulong op, int n, ulong fpcr, ref ulong fpsr)
    {
        var t = FpCore.Unpack(op, n, fpcr, ref fpsr, out bool sign, out _, out _);
        if (FpCore.IsNaN(t)) return FpCore.ProcessNaN(t, op, n, fpcr, ref fpsr);
        if (t == FpType.Infinity) return FpCore.Zero(sign, n);
        if (t == FpType.Zero) { fpsr |= FpCore.Dzc; return FpCore.Infinity(sign, n); }
        int fbits = n == 32 ? 23 : 52, emask = n == 32 ? 0xFF : 0x7FF;
        int exp = (int)(op >> fbits) & emask;
        ulong frac = op & ((1UL << fbits) - 1);
        // Below 2^-(emax + 1) the reciprocal overflows.
        if (exp == 0 && frac < 1UL << (fbits - 2))
        {
            bool toInfinity = FpCore.RoundingMode(fpcr) switch
            {
                FpRounding.TieEven => true, FpRounding.PosInf => !sign, FpRounding.NegInf => sign, _ => false,
            };
            fpsr |= FpCore.Ofc | FpCore.Ixc;
            return toInfinity ? FpCore.Infinity(sign, n) : FpCore.MaxNormal(sign, n);
        }
        // With FZ, a reciprocal that would be subnormal is flushed (UFC without IXC).
        if ((fpcr >> 24 & 1) != 0 && exp >= emask - 2)
        {
            fpsr |= FpCore.Ufc;
            return FpCore.Zero(sign, n);
        }
        const ulong mask52 = (1UL << 52) - 1;
        ulong fraction = n == 32 ? frac << 29 : frac;
        if (exp == 0)
        {
            if ((fraction >> 51 & 1) == 0) { exp = -1; fraction = (fraction << 2) & mask52; }
            else fraction = (fraction << 1) & mask52;
        }
        int resultExp = (n == 32 ? 253 : 2045) - exp;
        ulong result = (ulong)(RecipEstimate((int)(0x100 | (fraction >> 44))) & 0xFF) << 44;
        if (resultExp == 0) result = (1UL << 51) | (result >> 1);
        else if (resultExp == -1) { result = (1UL << 50) | (result >> 2); resultExp = 0; }
        if (n == 32) result >>= 29;
        return (sign ? 1UL << (n - 1) : 0) | (ulong)resultExp << fbits | result;
    }

    /// <summary>FPRSqrtEstimate (FRSQRTE).</summary>
    private static ulong RSqrtEstimate(ulong op, int n, ulong fpcr, ref ulong fpsr)
    {
        var t = FpCore.Unpack(op, n, fpcr, ref fpsr, out bool sign, out _, out _);
        if (FpCore.IsNaN(t)) return FpCore.ProcessNaN(t, op, n, fpcr, ref fpsr);
        if (t == FpType.Zero) { fpsr |= FpCore.Dzc; return FpCore.Infinity(sign, n); }
        if (sign) { fpsr |= FpCore.Ioc; return FpCore.DefaultNaN(n); }
        if (t == FpType.Infinity) return 0;
        int fbits = n == 32 ? 23 : 52, emask = n == 32 ? 0xFF : 0x7FF;
        int exp = (int)(op >> fbits) & emask;
        const ulong mask52 = (1UL << 52) - 1;
        ulong fraction = n == 32 ? (op & ((1UL << fbits) - 1)) << 29 : op & mask52;
        if (exp == 0)
        {
            while ((fraction >> 51 & 1) == 0) { fraction = (fraction << 1) & mask52; exp--; }
            fraction = (fraction << 1) & mask52;
        }
        int scaled = (exp & 1) == 0 ? (int)(0x100 | (fraction >> 44)) : (int)(0x80 | (fraction >> 45));
        int resultExp = ((n == 32 ? 380 : 3068) - exp) / 2;
        return (ulong)resultExp << fbits | (ulong)(RSqrtEstimate(scaled) & 0xFF) << (fbits - 8);
    }

    /// <summary>FPRecpX (FRECPX): the sign, the inverted exponent (the largest finite one for zero and subnormals), no fraction.</summary>
    private static ulong RecipExponent(ulong op, int n, ulong fpcr, ref ulong fpsr)
    {
        var t = FpCore.Unpack(op, n, fpcr, ref fpsr, out bool sign, out _, out _);
        if (FpCore.IsNaN(t)) return FpCore.ProcessNaN(t, op, n, fpcr, ref fpsr);
        int fbits = n == 32 ? 23 : 52;
        ulong emask = n == 32 ? 0xFFUL : 0x7FFUL;
        ulong exp = (op >> fbits) & emask;
        ulong e = exp == 0 ? emask - 1 : ~exp & emask;
        return (sign ? 1UL << (n - 1) : 0) | e << fbits;
    }
}
