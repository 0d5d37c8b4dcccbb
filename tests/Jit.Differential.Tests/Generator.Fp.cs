using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>Floating-point operands: the IEEE 754 corners, ties for each rounding mode, and noise.</summary>
public static class FpValues
{
    public static int FractionBits(int n) => n == 16 ? 10 : n == 32 ? 23 : 52;
    public static int ExponentBits(int n) => n == 16 ? 5 : n == 32 ? 8 : 11;

    /// <summary>The bits of a value of <paramref name="n"/> bits with the given biased exponent and fraction.</summary>
    public static ulong Make(int n, bool sign, ulong exp, ulong frac) =>
        (sign ? 1UL << (n - 1) : 0) | exp << FractionBits(n) | (frac & ((1UL << FractionBits(n)) - 1));

    public static ulong FromDouble(double d, int n) => n switch
    {
        64 => BitConverter.DoubleToUInt64Bits(d),
        32 => BitConverter.SingleToUInt32Bits((float)d),
        _ => BitConverter.HalfToUInt16Bits((Half)d),
    };

    /// <summary>
    /// A value of <paramref name="n"/> bits near 2^<paramref name="exponent"/> (unbiased, clamped to the normal
    /// range): for conversions, the edges of the destination format.
    /// </summary>
    public static ulong Near(Rng r, int n, int exponent)
    {
        int f = FractionBits(n), bias = (1 << (ExponentBits(n) - 1)) - 1;
        int biased = Math.Clamp(exponent + bias + r.Range(-2, 2), 1, 2 * bias);
        ulong frac = r.Below(3) switch { 0 => 0, 1 => (1UL << f) - 1 - (ulong)r.Below(3), _ => r.Next() };
        return Make(n, r.Coin(), (ulong)biased, frac);
    }

    public static ulong Next(Rng r, int n)
    {
        int f = FractionBits(n), e = ExponentBits(n);
        ulong bias = (1UL << (e - 1)) - 1, maxExp = (1UL << e) - 1, fracMask = (1UL << f) - 1;
        bool sign = r.Coin();
        ulong Frac() => r.Below(4) switch { 0 => 0, 1 => fracMask, 2 => (ulong)r.Below(4), _ => r.Next() & fracMask };
        switch (r.Below(20))
        {
            case 0: return Make(n, sign, 0, 0);
            case 1: return Make(n, sign, maxExp, 0);
            // Quiet and signalling NaNs with payloads (a signalling NaN needs a non-zero fraction).
            case 2: return Make(n, sign, maxExp, 1UL << (f - 1) | (r.Next() & fracMask));
            case 3: return Make(n, sign, maxExp, Math.Max(1, r.Next() & (fracMask >> 1)));
            case 4: case 5: return Make(n, sign, 0, Math.Max(1, Frac()));
            case 6: return Make(n, sign, r.Coin() ? 1UL : maxExp - 1, Frac());
            case 7: case 8:
            {
                // Small integers and halves and quarters: ties for FRINT* and the conversions.
                double d = r.Below(40) + r.Below(4) * 0.25;
                return FromDouble(sign ? -d : d, n);
            }
            case 9:
            {
                // Around the limits of 32- and 64-bit integers.
                ulong exp = bias + (ulong)r.Pick([15, 16, 30, 31, 32, 62, 63, 64]);
                return Make(n, sign, Math.Min(exp, maxExp - 1), Frac());
            }
            case 10: case 11:
                // Near the bottom of the normal range, where results become tiny.
                return Make(n, sign, (ulong)r.Range(1, Math.Min((int)bias, 60)), Frac());
            case 12:
                return Make(n, sign, maxExp - 1 - (ulong)r.Below(4), Frac());
            case 13: case 14: case 15:
                return Make(n, sign, bias + (ulong)r.Range(-4, 4), Frac());
            default:
                return Make(n, sign, 1 + (ulong)r.Below((int)maxExp - 1), r.Next());
        }
    }
}

public static partial class Generator
{
    private static uint FType(int n) => n switch { 32 => 0u, 64 => 1u, _ => 3u };

    /// <summary>FPCR: a random RMode, FZ and DN (each a third of the time), AHP and FZ16 now and then; FPSR often clear.</summary>
    private static void FpControl(CaseBuilder b)
    {
        var r = b.R;
        ulong fpcr = (ulong)r.Bits(2) << 22;
        if (r.Below(3) == 0) fpcr |= 1UL << 24;
        if (r.Below(3) == 0) fpcr |= 1UL << 25;
        if (r.Chance(10)) fpcr |= 1UL << 26;
        if (r.Chance(10)) fpcr |= 1UL << 19;
        b.Case.Fpcr = fpcr;
        b.Case.Fpsr = r.Chance(70) ? 0 : r.Bits(5) | (ulong)r.Bits(1) << 7 | (ulong)r.Bits(1) << 27;
    }

    /// <summary>
    /// Every V register holds an operand of <paramref name="n"/> bits, often with noise above it (which scalar
    /// reads ignore and scalar writes clear); some registers share an operand so that x op x turns up.
    /// </summary>
    private static void FillV(CaseBuilder b, int n)
    {
        var r = b.R;
        for (int i = 0; i < 32; i++)
        {
            ulong v = i > 0 && r.Chance(10) ? b.Case.V[2 * r.Below(i)] & (n == 64 ? ulong.MaxValue : (1UL << n) - 1) : FpValues.Next(r, n);
            if (n < 64 && r.Coin()) v |= r.Next() << n;
            b.Case.V[2 * i] = v;
            b.Case.V[2 * i + 1] = r.Coin() ? r.Next() : 0;
        }
    }

    /// <summary>Single or double precision for the arithmetic classes (ARMv8.0 has no half-precision arithmetic).</summary>
    private static int ArithmeticWidth(Rng r) => r.Coin() ? 32 : 64;

    private static void FpCase(CaseBuilder b, Action<CaseBuilder, int> one)
    {
        int n = ArithmeticWidth(b.R);
        FpControl(b);
        FillV(b, n);
        int count = b.R.Below(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < count; i++) one(b, n);
    }

    private static readonly Op[] oneSource = [Op.FmovReg, Op.Fabs, Op.Fneg, Op.Fsqrt, Op.Frintn, Op.Frintp, Op.Frintm, Op.Frintz, Op.Frinta, Op.Frintx, Op.Frinti];
    private static readonly Op[] twoSource = [Op.Fmul, Op.Fdiv, Op.Fadd, Op.Fsub, Op.Fmax, Op.Fmin, Op.Fmaxnm, Op.Fminnm, Op.Fnmul];
    private static readonly Op[] threeSource = [Op.Fmadd, Op.Fmsub, Op.Fnmadd, Op.Fnmsub];

    private static void FpOneSource(CaseBuilder b, int n) =>
        b.Emit(b.R.Pick(oneSource), ("ftype", FType(n)), ("Rn", b.R.Bits(5)), ("Rd", b.R.Bits(5)));

    private static void FpTwoSource(CaseBuilder b, int n)
    {
        var r = b.R;
        uint rn = r.Bits(5), rm = r.Bits(5);
        // Operands close together, so subtraction cancels and min/max compare near-equal values.
        if (r.Chance(25) && rn != rm) b.Case.V[2 * rm] = Nudge(r, b.Case.V[2 * rn], n);
        b.Emit(r.Pick(twoSource), ("ftype", FType(n)), ("Rm", rm), ("Rn", rn), ("Rd", r.Bits(5)));
    }

    /// <summary>The same value a few units in the last place away, or with the sign flipped.</summary>
    private static ulong Nudge(Rng r, ulong bits, int n)
    {
        ulong mask = n == 64 ? ulong.MaxValue : (1UL << n) - 1;
        ulong v = bits & mask;
        v = r.Below(3) switch { 0 => v ^ (1UL << (n - 1)), 1 => v + (ulong)r.Range(0, 3), _ => v - (ulong)r.Range(0, 3) };
        return v & mask;
    }

    private static void FpThreeSource(CaseBuilder b, int n)
    {
        var r = b.R;
        uint rn = r.Bits(5), rm = r.Bits(5), ra = r.Bits(5);
        if (r.Chance(30) && ra != rn && ra != rm)
        {
            // An addend that nearly cancels the product, computed on the host (close to the exact product).
            ulong product = n == 64
                ? BitConverter.DoubleToUInt64Bits(-(BitConverter.UInt64BitsToDouble(b.Case.V[2 * rn]) * BitConverter.UInt64BitsToDouble(b.Case.V[2 * rm])))
                : BitConverter.SingleToUInt32Bits(-(BitConverter.UInt32BitsToSingle((uint)b.Case.V[2 * rn]) * BitConverter.UInt32BitsToSingle((uint)b.Case.V[2 * rm])));
            b.Case.V[2 * ra] = Nudge(r, product, n);
        }
        b.Emit(r.Pick(threeSource), ("ftype", FType(n)), ("Rm", rm), ("Ra", ra), ("Rn", rn), ("Rd", r.Bits(5)));
    }

    private static void FpCompare(CaseBuilder b, int n)
    {
        var r = b.R;
        uint rn = r.Bits(5), rm = r.Bits(5);
        if (r.Chance(25) && rn != rm) b.Case.V[2 * rm] = Nudge(r, b.Case.V[2 * rn], n);
        if (r.Coin())
        {
            uint z = r.Bits(1);
            b.Emit(Op.Fcmp, ("ftype", FType(n)), ("Rm", z == 1 ? 0 : rm), ("Rn", rn), ("E", r.Bits(1)), ("Z", z));
        }
        else
        {
            b.Emit(Op.Fccmp, ("ftype", FType(n)), ("Rm", rm), ("cond", r.Bits(4)), ("Rn", rn), ("E", r.Bits(1)), ("nzcv", r.Bits(4)));
        }
    }

    private static void FpSelectMove(CaseBuilder b, int n)
    {
        var r = b.R;
        switch (r.Below(3))
        {
            case 0:
                b.Emit(Op.Fcsel, ("ftype", FType(n)), ("Rm", r.Bits(5)), ("cond", r.Bits(4)), ("Rn", r.Bits(5)), ("Rd", r.Bits(5)));
                break;
            case 1:
                b.Emit(Op.FmovImm, ("ftype", FType(n)), ("imm8", r.Bits(8)), ("Rd", r.Bits(5)));
                break;
            default:
                b.Emit(Op.FmovReg, ("ftype", FType(n)), ("Rn", r.Bits(5)), ("Rd", r.Bits(5)));
                break;
        }
    }

    /// <summary>FCVT between half, single and double: the registers hold operands of the source width.</summary>
    private static void FpConvertPrecision(CaseBuilder b)
    {
        var r = b.R;
        int from = r.Pick([16, 32, 64]), to;
        do to = r.Pick([16, 32, 64]); while (to == from);
        FpControl(b);
        FillV(b, from);
        // Narrowing: some sources near the destination's overflow, its smallest normal and its denormals.
        if (to < from)
        {
            int bias = (1 << (FpValues.ExponentBits(to) - 1)) - 1, fbits = FpValues.FractionBits(to);
            for (int i = 0; i < 32; i++)
                if (r.Chance(40))
                    b.Case.V[2 * i] = FpValues.Near(r, from, r.Pick([bias, 1 - bias, 1 - bias - fbits, 1 - bias - fbits / 2]));
        }
        int count = r.Chance(70) ? 1 : 2;
        for (int i = 0; i < count; i++)
            b.Emit(Op.Fcvt, ("ftype", FType(from)), ("opc", FType(to)), ("Rn", r.Bits(5)), ("Rd", r.Bits(5)));
    }

    /// <summary>FCVT[NPMZA][SU], SCVTF/UCVTF and FMOV between FP and general registers.</summary>
    private static void FpIntConvert(CaseBuilder b, int n)
    {
        var r = b.R;
        uint sf = r.Bits(1), ftype = FType(n);
        switch (r.Below(8))
        {
            case 0: case 1: case 2:
                b.Emit(Op.FcvtInt, ("sf", sf), ("ftype", ftype), ("rmode", r.Bits(2)), ("U", r.Bits(1)), ("Rn", r.Bits(5)), ("Rd", b.Reg()));
                break;
            case 3:
                b.Emit(Op.FcvtaInt, ("sf", sf), ("ftype", ftype), ("U", r.Bits(1)), ("Rn", r.Bits(5)), ("Rd", b.Reg()));
                break;
            case 4: case 5:
                b.Emit(r.Coin() ? Op.ScvtfInt : Op.UcvtfInt, ("sf", sf), ("ftype", ftype), ("Rn", b.Reg()), ("Rd", r.Bits(5)));
                break;
            default:
            {
                switch (r.Below(4))
                {
                    case 0: b.Emit(Op.FmovToGp, ("sf", ftype), ("ftype", ftype), ("Rn", r.Bits(5)), ("Rd", b.Reg())); break;
                    case 1: b.Emit(Op.FmovFromGp, ("sf", ftype), ("ftype", ftype), ("Rn", b.Reg()), ("Rd", r.Bits(5))); break;
                    case 2: b.Emit(Op.FmovToGpTop, ("Rn", r.Bits(5)), ("Rd", b.Reg())); break;
                    default: b.Emit(Op.FmovFromGpTop, ("Rn", b.Reg()), ("Rd", r.Bits(5))); break;
                }
                break;
            }
        }
    }

    private static void FpFixedConvert(CaseBuilder b, int n)
    {
        var r = b.R;
        uint sf = r.Bits(1), ftype = FType(n);
        uint fbits = r.Below(4) switch { 0 => 1, 1 => sf == 1 ? 64u : 32u, _ => (uint)r.Range(1, sf == 1 ? 64 : 32) };
        uint scale = 64 - fbits;
        Op op = r.Pick([Op.FcvtzsFixed, Op.FcvtzuFixed, Op.ScvtfFixed, Op.UcvtfFixed]);
        bool toInt = op is Op.FcvtzsFixed or Op.FcvtzuFixed;
        b.Emit(op, ("sf", sf), ("ftype", ftype), ("scale", scale), ("Rn", toInt ? r.Bits(5) : b.Reg()), ("Rd", toInt ? b.Reg() : r.Bits(5)));
    }
}

public static partial class Generator
{
    private static readonly Action<CaseBuilder, int>[] fpMixable =
        [FpOneSource, FpTwoSource, FpThreeSource, FpCompare, FpSelectMove, FpIntConvert, FpFixedConvert, FpControlRegisters];

    /// <summary>
    /// Three to twelve FP instructions of every class in one block, with FPCR changed and FPCR/FPSR read in the
    /// middle, so a new rounding mode or FZ/DN must reach the very next instruction.
    /// </summary>
    private static void FpMixed(CaseBuilder b)
    {
        int n = ArithmeticWidth(b.R);
        FpControl(b);
        FillV(b, n);
        int count = b.R.Range(3, 12);
        for (int i = 0; i < count; i++) b.R.Pick(fpMixable)(b, n);
    }

    /// <summary>
    /// MSR and MRS of FPCR (3,3,4,4,0) and FPSR (3,3,4,4,1). A written value is set up by MOVZ/MOVK just
    /// before: mostly a plain control word, else any bits but FPCR[21:16] (FZ16, Len and Stride, which
    /// qemu's CPU implements and ours, with neither FP16 nor AArch32, keeps RES0).
    /// </summary>
    private static void FpControlRegisters(CaseBuilder b, int n)
    {
        var r = b.R;
        uint op2 = r.Bits(1);
        if (r.Coin())
        {
            uint rt;
            do rt = b.Reg(); while (rt == 31);
            ulong value = r.Chance(60) ? (op2 == 0 ? (ulong)r.Bits(2) << 22 | (ulong)r.Bits(2) << 24 : r.Bits(5)) : r.Next();
            if (op2 == 0) value &= ~0x3F_0000UL;
            b.EmitRaw(Encoder.Make(Op.Movz, ("sf", 1), ("hw", 0), ("imm16", (uint)(value & 0xFFFF)), ("Rd", rt)));
            for (uint hw = 1; hw < 4; hw++)
                b.EmitRaw(Encoder.Make(Op.Movk, ("sf", 1), ("hw", hw), ("imm16", (uint)(value >> (int)(16 * hw) & 0xFFFF)), ("Rd", rt)));
            b.Emit(Op.MsrReg, ("o0", 1), ("op1", 3), ("CRn", 4), ("CRm", 4), ("op2", op2), ("Rt", rt));
        }
        else
        {
            b.Emit(Op.Mrs, ("o0", 1), ("op1", 3), ("CRn", 4), ("CRm", 4), ("op2", op2), ("Rt", b.Reg()));
        }
    }
}
