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
}
