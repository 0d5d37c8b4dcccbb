using System.Numerics;

namespace Jit.Translator.Interpreter.FloatingPoint;

/// <summary>The rounding modes of the Arm ARM's FPRounding; the first four are FPCR.RMode's values.</summary>
public enum FpRounding : byte { TieEven, PosInf, NegInf, Zero, TieAway, Odd }

/// <summary>The classes FPUnpack sorts an operand into (a denormal that is not flushed is Normal here).</summary>
public enum FpType : byte { Zero, Normal, Infinity, QNaN, SNaN }

/// <summary>
/// IEEE 754 arithmetic as the Arm ARM defines it (A1.5, and the shared pseudocode FPRound, FPUnpack,
/// FPProcessNaNs, FPMulAdd, FPToFixed …) on 16-, 32- and 64-bit lanes held as raw bits. Every operation takes
/// FPCR (RMode, FZ, FZ16, DN, AHP) and ORs the cumulative exception bits into FPSR, so the scalar FP and the
/// AdvSIMD executors share one bit-exact implementation.
/// <para>
/// Integer soft float rather than host doubles: .NET rounds to nearest only, follows x86's NaN rules and
/// reports no flags, while the results here must match Arm's in every rounding mode, with FZ and DN, down
/// to the NaN payload and the FPSR bits. An operand is unpacked to a significand normalised to [2^52, 2^53)
/// and a binary exponent; results are computed exactly (UInt128) or with a sticky bit far below the rounding
/// point, then rounded once by <see cref="Round"/>, which follows FPRound step by step (tininess before
/// rounding, underflow only when inexact, flush-to-zero of tiny results before rounding).
/// </para>
/// </summary>
public static class FpCore
{
    /// <summary>FPSR cumulative exception bits (C5.2.8).</summary>
    public const ulong Ioc = 1, Dzc = 2, Ofc = 4, Ufc = 8, Ixc = 16, Idc = 128, Qc = 1UL << 27;

    private const int FpcrFz16 = 19, FpcrFz = 24, FpcrDn = 25, FpcrAhp = 26;

    public static FpRounding RoundingMode(ulong fpcr) => (FpRounding)((fpcr >> 22) & 3);

    private static int FractionBits(int n) => n == 16 ? 10 : n == 32 ? 23 : 52;
    private static int ExponentBits(int n) => n == 16 ? 5 : n == 32 ? 8 : 11;
    private static int Bias(int n) => (1 << (ExponentBits(n) - 1)) - 1;
    private static ulong SignBit(int n) => 1UL << (n - 1);
    private static bool Dn(ulong fpcr) => (fpcr >> FpcrDn & 1) != 0;
    private static bool Ahp(ulong fpcr) => (fpcr >> FpcrAhp & 1) != 0;

    public static ulong DefaultNaN(int n) => n switch { 16 => 0x7E00, 32 => 0x7FC0_0000, _ => 0x7FF8_0000_0000_0000 };
    public static ulong Infinity(bool sign, int n) => (sign ? SignBit(n) : 0) | ((1UL << ExponentBits(n)) - 1) << FractionBits(n);
    public static ulong Zero(bool sign, int n) => sign ? SignBit(n) : 0;
    public static ulong MaxNormal(bool sign, int n) => (sign ? SignBit(n) : 0) | (((1UL << ExponentBits(n)) - 2) << FractionBits(n)) | ((1UL << FractionBits(n)) - 1);

    public static ulong Neg(ulong op, int n) => op ^ SignBit(n);
    public static ulong Abs(ulong op, int n) => op & ~SignBit(n);

    // ---- Unpacking ----

    /// <summary>
    /// FPUnpack: classifies <paramref name="op"/>; a Normal operand's value is <paramref name="mant"/> ×
    /// 2^<paramref name="exp"/> with mant in [2^52, 2^53). Flushes denormals when FZ (FZ16 for half, unless
    /// <paramref name="cv"/>, as FPUnpackCV), and reports IDC for flushed single and double inputs.
    /// </summary>
    public static FpType Unpack(ulong op, int n, ulong fpcr, ref ulong fpsr, out bool sign, out int exp, out ulong mant, bool cv = false)
    {
        int f = FractionBits(n), e = ExponentBits(n);
        sign = (op >> (n - 1) & 1) != 0;
        ulong frac = op & ((1UL << f) - 1);
        int biased = (int)(op >> f & ((1UL << e) - 1));
        exp = 0;
        mant = 0;
        if (biased == 0)
        {
            if (frac == 0) return FpType.Zero;
            bool flush = n == 16 ? !cv && (fpcr >> FpcrFz16 & 1) != 0 : (fpcr >> FpcrFz & 1) != 0;
            if (flush)
            {
                if (n != 16) fpsr |= Idc;
                return FpType.Zero;
            }
            int shift = BitOperations.LeadingZeroCount(frac) - 11;
            mant = frac << shift;
            exp = 1 - Bias(n) - f - shift;
            return FpType.Normal;
        }
        // A1.4.2: the alternative half-precision format has no infinities or NaNs.
        if (biased == (1 << e) - 1 && !(n == 16 && Ahp(fpcr)))
        {
            if (frac == 0) return FpType.Infinity;
            return (frac >> (f - 1) & 1) != 0 ? FpType.QNaN : FpType.SNaN;
        }
        mant = (frac | 1UL << f) << (52 - f);
        exp = biased - Bias(n) - 52;
        return FpType.Normal;
    }

    public static FpType Classify(ulong op, int n)
    {
        ulong fpsr = 0;
        return Unpack(op, n, 0, ref fpsr, out _, out _, out _);
    }

    public static bool IsNaN(FpType t) => t is FpType.QNaN or FpType.SNaN;

    // ---- NaNs ----

    /// <summary>FPProcessNaN: quietens a signalling NaN (IOC) and applies DN.</summary>
    public static ulong ProcessNaN(FpType type, ulong op, int n, ulong fpcr, ref ulong fpsr)
    {
        ulong result = op;
        if (type == FpType.SNaN)
        {
            result |= 1UL << (FractionBits(n) - 1);
            fpsr |= Ioc;
        }
        return Dn(fpcr) ? DefaultNaN(n) : result;
    }

    /// <summary>FPProcessNaNs: a signalling NaN wins over a quiet one, then the first operand over the second.</summary>
    public static bool ProcessNaNs(FpType t1, FpType t2, ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        if (t1 == FpType.SNaN) result = ProcessNaN(t1, op1, n, fpcr, ref fpsr);
        else if (t2 == FpType.SNaN) result = ProcessNaN(t2, op2, n, fpcr, ref fpsr);
        else if (t1 == FpType.QNaN) result = ProcessNaN(t1, op1, n, fpcr, ref fpsr);
        else if (t2 == FpType.QNaN) result = ProcessNaN(t2, op2, n, fpcr, ref fpsr);
        else
        {
            result = 0;
            return false;
        }
        return true;
    }

    public static bool ProcessNaNs3(FpType t1, FpType t2, FpType t3, ulong op1, ulong op2, ulong op3, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        if (t1 == FpType.SNaN) result = ProcessNaN(t1, op1, n, fpcr, ref fpsr);
        else if (t2 == FpType.SNaN) result = ProcessNaN(t2, op2, n, fpcr, ref fpsr);
        else if (t3 == FpType.SNaN) result = ProcessNaN(t3, op3, n, fpcr, ref fpsr);
        else if (t1 == FpType.QNaN) result = ProcessNaN(t1, op1, n, fpcr, ref fpsr);
        else if (t2 == FpType.QNaN) result = ProcessNaN(t2, op2, n, fpcr, ref fpsr);
        else if (t3 == FpType.QNaN) result = ProcessNaN(t3, op3, n, fpcr, ref fpsr);
        else
        {
            result = 0;
            return false;
        }
        return true;
    }

    // ---- Rounding ----

    /// <summary>
    /// FPRound of (−1)^sign × m × 2^e, plus, when <paramref name="sticky"/>, a positive amount smaller than one
    /// unit of m's last bit (callers keep that bit far below the rounding point). m must not be zero.
    /// <paramref name="cv"/> is FPRoundCV: FZ16 does not flush a half-precision result.
    /// </summary>
    public static ulong Round(bool sign, int e, UInt128 m, bool sticky, int n, ulong fpcr, FpRounding rounding, ref ulong fpsr, bool cv = false)
    {
        int f = FractionBits(n), ebits = ExponentBits(n), minExp = 1 - Bias(n);
        int msb = 127 - (int)UInt128.LeadingZeroCount(m);
        int exponent = e + msb;
        bool flush = n == 16 ? !cv && (fpcr >> FpcrFz16 & 1) != 0 : (fpcr >> FpcrFz & 1) != 0;
        if (flush && exponent < minExp)
        {
            // Flushing a tiny result reports underflow but never inexact.
            fpsr |= Ufc;
            return Zero(sign, n);
        }
        int biasedExp = Math.Max(exponent - minExp + 1, 0);
        int shift = (biasedExp > 0 ? exponent : minExp) - f - e;

        // The error against the truncated significand compared with half a unit in the last place: −1 below,
        // 0 exactly half, 1 above (only meaningful when inexact).
        UInt128 intMant;
        int half;
        bool inexact;
        if (shift <= 0)
        {
            intMant = m << -shift;
            half = -1;
            inexact = sticky;
        }
        else if (shift > 128)
        {
            intMant = 0;
            half = -1;
            inexact = true;
        }
        else if (shift == 128)
        {
            intMant = 0;
            UInt128 top = UInt128.One << 127;
            half = m > top || (m == top && sticky) ? 1 : m == top ? 0 : -1;
            inexact = true;
        }
        else
        {
            intMant = m >> shift;
            UInt128 rem = m & ((UInt128.One << shift) - 1), halfUnit = UInt128.One << (shift - 1);
            half = rem > halfUnit || (rem == halfUnit && sticky) ? 1 : rem == halfUnit ? 0 : -1;
            inexact = rem != 0 || sticky;
        }

        if (biasedExp == 0 && inexact) fpsr |= Ufc;

        bool roundUp, overflowToInf;
        switch (rounding)
        {
            case FpRounding.TieEven:
                roundUp = inexact && (half > 0 || (half == 0 && (intMant & 1) != 0));
                overflowToInf = true;
                break;
            case FpRounding.PosInf:
                roundUp = inexact && !sign;
                overflowToInf = !sign;
                break;
            case FpRounding.NegInf:
                roundUp = inexact && sign;
                overflowToInf = sign;
                break;
            case FpRounding.TieAway:
                roundUp = inexact && half >= 0;
                overflowToInf = true;
                break;
            default:
                roundUp = false;
                overflowToInf = false;
                break;
        }
        if (roundUp)
        {
            intMant++;
            if (intMant == UInt128.One << f) biasedExp = 1;
            if (intMant == UInt128.One << (f + 1))
            {
                biasedExp++;
                intMant >>= 1;
            }
        }
        if (inexact && rounding == FpRounding.Odd) intMant |= 1;

        ulong result;
        if (n != 16 || !Ahp(fpcr))
        {
            if (biasedExp >= (1 << ebits) - 1)
            {
                result = overflowToInf ? Infinity(sign, n) : MaxNormal(sign, n);
                fpsr |= Ofc;
                inexact = true;
            }
            else
            {
                result = (sign ? SignBit(n) : 0) | (ulong)biasedExp << f | ((ulong)intMant & ((1UL << f) - 1));
            }
        }
        else if (biasedExp >= 1 << ebits)
        {
            result = (sign ? SignBit(n) : 0) | (SignBit(n) - 1);
            fpsr |= Ioc;
            inexact = false;
        }
        else
        {
            result = (sign ? SignBit(n) : 0) | (ulong)biasedExp << f | ((ulong)intMant & ((1UL << f) - 1));
        }
        if (inexact) fpsr |= Ixc;
        return result;
    }

    /// <summary>
    /// The exact sum of two signed values m × 2^e (m below 2^107; either may be zero), as a significand with
    /// its top bit near bit 125 and a sticky bit for what an enormous exponent difference pushes out.
    /// </summary>
    private static void Sum(bool sa, int ea, UInt128 ma, bool sb, int eb, UInt128 mb, out bool sign, out int e, out UInt128 m, out bool sticky)
    {
        sticky = false;
        if (mb == 0) { sign = sa; e = ea; m = ma; return; }
        if (ma == 0) { sign = sb; e = eb; m = mb; return; }
        int msbA = 127 - (int)UInt128.LeadingZeroCount(ma), msbB = 127 - (int)UInt128.LeadingZeroCount(mb);
        if (ea + msbA < eb + msbB)
        {
            (sa, ea, ma, msbA, sb, eb, mb, msbB) = (sb, eb, mb, msbB, sa, ea, ma, msbA);
        }
        int shA = 125 - msbA;
        UInt128 a = ma << shA;
        e = ea - shA;
        int shB = eb - e;
        UInt128 b;
        if (shB >= 0) b = mb << shB;
        else if (-shB >= 128) { b = 0; sticky = true; }
        else
        {
            b = mb >> -shB;
            sticky = (mb & ((UInt128.One << -shB) - 1)) != 0;
        }
        if (sa == sb)
        {
            m = a + b;
            sign = sa;
        }
        else if (a >= b)
        {
            // With bits of b lost the exact difference is a − b − (a fraction): one less, and sticky.
            m = sticky ? a - b - 1 : a - b;
            sign = sa;
        }
        else
        {
            m = b - a;
            sign = sb;
        }
    }

    // ---- Arithmetic (C7.2 FADD … FNMSUB; their pseudocode functions) ----

    public static ulong Add(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) =>
        HostAddSub(op1, op2, false, n, fpcr, ref fpsr, out ulong r) ? r : AddSub(op1, op2, false, n, fpcr, ref fpsr);

    public static ulong Sub(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) =>
        HostAddSub(op1, op2, true, n, fpcr, ref fpsr, out ulong r) ? r : AddSub(op1, op2, true, n, fpcr, ref fpsr);

    // ---- The host's arithmetic where it agrees with Arm's ----
    //
    // In round-to-nearest, with normal operands and a result far enough from both ends of the exponent range,
    // IEEE 754 leaves no choice: the host's correctly rounded single and double operations give Arm's result,
    // and FZ, DN and the NaN rules cannot apply. The only flag is IXC, found with an error-free transformation
    // (TwoSum, or a fused multiply-add giving the exact remainder). Anything else takes the soft-float path.

    private static int BiasedExponent(ulong op, int n) => (int)(op >> FractionBits(n) & ((1UL << ExponentBits(n)) - 1));

    /// <summary>Whether <paramref name="op"/> is normal with a biased exponent of at least <paramref name="min"/>.</summary>
    private static bool NormalAbove(ulong op, int n, int min)
    {
        int e = BiasedExponent(op, n);
        return e >= min && e < (1 << ExponentBits(n)) - 1;
    }

    /// <summary>
    /// The host fast path can be turned off on its own, so a wrong result can be bisected to it (and its tests
    /// compare it with the soft float it stands in for).
    /// </summary>
    public static bool UseHostArithmetic { get; set; } = true;

    private static bool HostEligible(ulong op1, ulong op2, int n, ulong fpcr) =>
        UseHostArithmetic && n != 16 && (fpcr & (3UL << 22)) == 0 && NormalAbove(op1, n, 1) && NormalAbove(op2, n, 1);

    // Far enough above the denormals that the error term of a product, quotient or root is itself exact.
    private static int ErrorTermFloor(int n) => 2 * FractionBits(n) + 4;

    private static bool HostAddSub(ulong op1, ulong op2, bool subtract, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        result = 0;
        if (!HostEligible(op1, op2, n, fpcr)) return false;
        bool inexact;
        if (n == 64)
        {
            double a = BitConverter.UInt64BitsToDouble(op1), b = BitConverter.UInt64BitsToDouble(op2);
            if (subtract) b = -b;
            double sum = a + b;
            result = BitConverter.DoubleToUInt64Bits(sum);
            // Exponent 1 could be a result that was tiny before rounding.
            if (!NormalAbove(result, n, 2)) return false;
            double bb = sum - a;
            inexact = (a - (sum - bb)) + (b - bb) != 0;
        }
        else
        {
            float a = BitConverter.UInt32BitsToSingle((uint)op1), b = BitConverter.UInt32BitsToSingle((uint)op2);
            if (subtract) b = -b;
            float sum = a + b;
            result = BitConverter.SingleToUInt32Bits(sum);
            if (!NormalAbove(result, n, 2)) return false;
            float bb = sum - a;
            inexact = (a - (sum - bb)) + (b - bb) != 0;
        }
        if (inexact) fpsr |= Ixc;
        return true;
    }

    private static bool HostMul(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        result = 0;
        if (!HostEligible(op1, op2, n, fpcr)) return false;
        bool inexact;
        if (n == 64)
        {
            double a = BitConverter.UInt64BitsToDouble(op1), b = BitConverter.UInt64BitsToDouble(op2), p = a * b;
            result = BitConverter.DoubleToUInt64Bits(p);
            if (!NormalAbove(result, n, ErrorTermFloor(n))) return false;
            inexact = Math.FusedMultiplyAdd(a, b, -p) != 0;
        }
        else
        {
            float a = BitConverter.UInt32BitsToSingle((uint)op1), b = BitConverter.UInt32BitsToSingle((uint)op2), p = a * b;
            result = BitConverter.SingleToUInt32Bits(p);
            if (!NormalAbove(result, n, ErrorTermFloor(n))) return false;
            inexact = MathF.FusedMultiplyAdd(a, b, -p) != 0;
        }
        if (inexact) fpsr |= Ixc;
        return true;
    }

    private static bool HostDiv(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        result = 0;
        if (!HostEligible(op1, op2, n, fpcr) || !NormalAbove(op1, n, ErrorTermFloor(n))) return false;
        bool inexact;
        if (n == 64)
        {
            double a = BitConverter.UInt64BitsToDouble(op1), b = BitConverter.UInt64BitsToDouble(op2), q = a / b;
            result = BitConverter.DoubleToUInt64Bits(q);
            if (!NormalAbove(result, n, ErrorTermFloor(n))) return false;
            inexact = Math.FusedMultiplyAdd(-q, b, a) != 0;
        }
        else
        {
            float a = BitConverter.UInt32BitsToSingle((uint)op1), b = BitConverter.UInt32BitsToSingle((uint)op2), q = a / b;
            result = BitConverter.SingleToUInt32Bits(q);
            if (!NormalAbove(result, n, ErrorTermFloor(n))) return false;
            inexact = MathF.FusedMultiplyAdd(-q, b, a) != 0;
        }
        if (inexact) fpsr |= Ixc;
        return true;
    }

    private static bool HostSqrt(ulong op, int n, ulong fpcr, ref ulong fpsr, out ulong result)
    {
        result = 0;
        if (!HostEligible(op, op, n, fpcr) || (op >> (n - 1) & 1) != 0 || !NormalAbove(op, n, ErrorTermFloor(n))) return false;
        bool inexact;
        if (n == 64)
        {
            double a = BitConverter.UInt64BitsToDouble(op), r = Math.Sqrt(a);
            result = BitConverter.DoubleToUInt64Bits(r);
            inexact = Math.FusedMultiplyAdd(-r, r, a) != 0;
        }
        else
        {
            float a = BitConverter.UInt32BitsToSingle((uint)op), r = MathF.Sqrt(a);
            result = BitConverter.SingleToUInt32Bits(r);
            inexact = MathF.FusedMultiplyAdd(-r, r, a) != 0;
        }
        if (inexact) fpsr |= Ixc;
        return true;
    }

    private static ulong AddSub(ulong op1, ulong op2, bool subtract, int n, ulong fpcr, ref ulong fpsr)
    {
        var rounding = RoundingMode(fpcr);
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        if (ProcessNaNs(t1, t2, op1, op2, n, fpcr, ref fpsr, out ulong nan)) return nan;
        if (subtract) s2 = !s2;
        bool inf1 = t1 == FpType.Infinity, inf2 = t2 == FpType.Infinity;
        if (inf1 && inf2 && s1 != s2)
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if (inf1) return Infinity(s1, n);
        if (inf2) return Infinity(s2, n);
        bool zero1 = t1 == FpType.Zero, zero2 = t2 == FpType.Zero;
        if (zero1 && zero2 && s1 == s2) return Zero(s1, n);
        Sum(s1, e1, m1, s2, e2, m2, out bool sign, out int e, out UInt128 m, out bool sticky);
        if (m == 0 && !sticky) return Zero(rounding == FpRounding.NegInf, n);
        return Round(sign, e, m, sticky, n, fpcr, rounding, ref fpsr);
    }

    public static ulong Mul(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr)
    {
        if (HostMul(op1, op2, n, fpcr, ref fpsr, out ulong fast)) return fast;
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        if (ProcessNaNs(t1, t2, op1, op2, n, fpcr, ref fpsr, out ulong nan)) return nan;
        bool inf1 = t1 == FpType.Infinity, inf2 = t2 == FpType.Infinity, zero1 = t1 == FpType.Zero, zero2 = t2 == FpType.Zero;
        if ((inf1 && zero2) || (zero1 && inf2))
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if (inf1 || inf2) return Infinity(s1 != s2, n);
        if (zero1 || zero2) return Zero(s1 != s2, n);
        return Round(s1 != s2, e1 + e2, (UInt128)m1 * m2, false, n, fpcr, RoundingMode(fpcr), ref fpsr);
    }

    public static ulong Div(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr)
    {
        if (HostDiv(op1, op2, n, fpcr, ref fpsr, out ulong fast)) return fast;
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        if (ProcessNaNs(t1, t2, op1, op2, n, fpcr, ref fpsr, out ulong nan)) return nan;
        bool inf1 = t1 == FpType.Infinity, inf2 = t2 == FpType.Infinity, zero1 = t1 == FpType.Zero, zero2 = t2 == FpType.Zero;
        if ((inf1 && inf2) || (zero1 && zero2))
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if (inf1 || zero2)
        {
            if (!inf1) fpsr |= Dzc;
            return Infinity(s1 != s2, n);
        }
        if (zero1 || inf2) return Zero(s1 != s2, n);
        // 75 more bits than the divisor's 53 leave 22 or more below any rounding point for the remainder's sticky bit.
        UInt128 dividend = (UInt128)m1 << 75;
        UInt128 q = dividend / m2;
        bool sticky = q * m2 != dividend;
        return Round(s1 != s2, e1 - e2 - 75, q, sticky, n, fpcr, RoundingMode(fpcr), ref fpsr);
    }

    public static ulong Sqrt(ulong op, int n, ulong fpcr, ref ulong fpsr)
    {
        if (HostSqrt(op, n, fpcr, ref fpsr, out ulong fast)) return fast;
        var t = Unpack(op, n, fpcr, ref fpsr, out bool sign, out int e, out ulong m);
        if (IsNaN(t)) return ProcessNaN(t, op, n, fpcr, ref fpsr);
        if (t == FpType.Zero) return Zero(sign, n);
        if (sign)
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if (t == FpType.Infinity) return Infinity(false, n);
        UInt128 v = m;
        if ((e & 1) != 0)
        {
            v <<= 1;
            e--;
        }
        v <<= 70;
        e -= 70;
        UInt128 r = ISqrt(v);
        return Round(false, e / 2, r, r * r != v, n, fpcr, RoundingMode(fpcr), ref fpsr);
    }

    /// <summary>floor(sqrt(v)): a double estimate refined by Newton's iteration from above.</summary>
    private static UInt128 ISqrt(UInt128 v)
    {
        UInt128 r = (UInt128)(Math.Sqrt((double)v) * (1 + 1e-12)) + 2;
        while (true)
        {
            UInt128 next = (r + v / r) >> 1;
            if (next >= r) break;
            r = next;
        }
        while (r * r > v) r--;
        while ((r + 1) * (r + 1) <= v) r++;
        return r;
    }

    /// <summary>
    /// FPMulAdd: addend + op1 × op2 with one rounding. The NaN checks see the addend first; a quiet NaN addend
    /// with an infinity times zero product still gives the default NaN and IOC.
    /// </summary>
    public static ulong MulAdd(ulong addend, ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr)
    {
        var rounding = RoundingMode(fpcr);
        var ta = Unpack(addend, n, fpcr, ref fpsr, out bool sa, out int ea, out ulong ma);
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        bool inf1 = t1 == FpType.Infinity, inf2 = t2 == FpType.Infinity, zero1 = t1 == FpType.Zero, zero2 = t2 == FpType.Zero;
        bool done = ProcessNaNs3(ta, t1, t2, addend, op1, op2, n, fpcr, ref fpsr, out ulong result);
        if (ta == FpType.QNaN && ((inf1 && zero2) || (zero1 && inf2)))
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if (done) return result;
        bool infA = ta == FpType.Infinity, zeroA = ta == FpType.Zero;
        bool signP = s1 != s2, infP = inf1 || inf2, zeroP = zero1 || zero2;
        if ((inf1 && zero2) || (zero1 && inf2) || (infA && infP && sa != signP))
        {
            fpsr |= Ioc;
            return DefaultNaN(n);
        }
        if ((infA && !sa) || (infP && !signP)) return Infinity(false, n);
        if ((infA && sa) || (infP && signP)) return Infinity(true, n);
        if (zeroA && zeroP && sa == signP) return Zero(sa, n);
        UInt128 product = zeroP ? 0 : (UInt128)m1 * m2;
        Sum(sa, ea, zeroA ? 0 : ma, signP, e1 + e2, product, out bool sign, out int e, out UInt128 m, out bool sticky);
        if (m == 0 && !sticky) return Zero(rounding == FpRounding.NegInf, n);
        return Round(sign, e, m, sticky, n, fpcr, rounding, ref fpsr);
    }

    // ---- Maximum and minimum ----

    public static ulong Max(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) => MaxMin(op1, op2, true, n, fpcr, ref fpsr);

    public static ulong Min(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) => MaxMin(op1, op2, false, n, fpcr, ref fpsr);

    /// <summary>FPMaxNum: a single quiet NaN loses to any number (it is taken as −∞ for max, +∞ for min).</summary>
    public static ulong MaxNum(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) => MaxMinNum(op1, op2, true, n, fpcr, ref fpsr);

    public static ulong MinNum(ulong op1, ulong op2, int n, ulong fpcr, ref ulong fpsr) => MaxMinNum(op1, op2, false, n, fpcr, ref fpsr);

    private static ulong MaxMinNum(ulong op1, ulong op2, bool max, int n, ulong fpcr, ref ulong fpsr)
    {
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out _, out _, out _);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out _, out _, out _);
        if (t1 == FpType.QNaN && t2 != FpType.QNaN) op1 = Infinity(max, n);
        else if (t1 != FpType.QNaN && t2 == FpType.QNaN) op2 = Infinity(max, n);
        return MaxMin(op1, op2, max, n, fpcr, ref fpsr);
    }

    private static ulong MaxMin(ulong op1, ulong op2, bool max, int n, ulong fpcr, ref ulong fpsr)
    {
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        if (ProcessNaNs(t1, t2, op1, op2, n, fpcr, ref fpsr, out ulong nan)) return nan;
        int c = CompareValues(t1, s1, e1, m1, t2, s2, e2, m2);
        bool first = max ? c > 0 : c < 0;
        var (t, s, op) = first ? (t1, s1, op1) : (t2, s2, op2);
        if (t == FpType.Infinity) return Infinity(s, n);
        // Between zeros the result takes the most positive (max) or most negative (min) sign.
        if (t == FpType.Zero) return Zero(max ? s1 && s2 : s1 || s2, n);
        return op;
    }

    /// <summary>−1, 0 or 1 as value1 is below, equal to or above value2 (no NaNs).</summary>
    private static int CompareValues(FpType t1, bool s1, int e1, ulong m1, FpType t2, bool s2, int e2, ulong m2)
    {
        int Key(FpType t) => t == FpType.Zero ? 0 : t == FpType.Infinity ? 2 : 1;
        int k1 = Key(t1), k2 = Key(t2);
        int sg1 = k1 == 0 ? 0 : s1 ? -1 : 1, sg2 = k2 == 0 ? 0 : s2 ? -1 : 1;
        if (sg1 != sg2) return sg1 < sg2 ? -1 : 1;
        if (sg1 == 0) return 0;
        int mag;
        if (k1 != k2) mag = k1 < k2 ? -1 : 1;
        else if (k1 == 2) mag = 0;
        else mag = e1 != e2 ? (e1 < e2 ? -1 : 1) : m1.CompareTo(m2);
        return sg1 > 0 ? mag : -mag;
    }

    /// <summary>FPCompare as NZCV in bits 31:28: unordered 0011, equal 0110, less 1000, greater 0010.</summary>
    public static ulong Compare(ulong op1, ulong op2, int n, bool signalNaNs, ulong fpcr, ref ulong fpsr)
    {
        var t1 = Unpack(op1, n, fpcr, ref fpsr, out bool s1, out int e1, out ulong m1);
        var t2 = Unpack(op2, n, fpcr, ref fpsr, out bool s2, out int e2, out ulong m2);
        if (IsNaN(t1) || IsNaN(t2))
        {
            if (signalNaNs || t1 == FpType.SNaN || t2 == FpType.SNaN) fpsr |= Ioc;
            return 0x3UL << 28;
        }
        int c = CompareValues(t1, s1, e1, m1, t2, s2, e2, m2);
        return (c == 0 ? 0x6UL : c < 0 ? 0x8UL : 0x2UL) << 28;
    }

    // ---- Rounding to integral, conversions ----

    /// <summary>
    /// Rounds a finite non-zero magnitude m × 2^e to an integer in <paramref name="rounding"/>'s direction
    /// for a value of sign <paramref name="sign"/>; <paramref name="inexact"/> says whether it moved.
    /// </summary>
    private static UInt128 RoundToInteger(bool sign, int e, ulong m, FpRounding rounding, out bool inexact)
    {
        if (e >= 0)
        {
            inexact = false;
            return e >= 70 ? UInt128.MaxValue : (UInt128)m << e;
        }
        int rs = -e;
        ulong q, rem;
        int half;
        if (rs >= 64)
        {
            q = 0;
            rem = m;
            half = rs == 64 ? (m > 1UL << 63 ? 1 : m == 1UL << 63 ? 0 : -1) : -1;
        }
        else
        {
            q = m >> rs;
            rem = m & ((1UL << rs) - 1);
            ulong halfUnit = 1UL << (rs - 1);
            half = rem > halfUnit ? 1 : rem == halfUnit ? 0 : -1;
        }
        inexact = rem != 0;
        bool up = inexact && rounding switch
        {
            FpRounding.TieEven => half > 0 || (half == 0 && (q & 1) != 0),
            FpRounding.PosInf => !sign,
            FpRounding.NegInf => sign,
            FpRounding.TieAway => half >= 0,
            _ => false,
        };
        return up ? (UInt128)q + 1 : q;
    }

    /// <summary>FPRoundInt (FRINT*): <paramref name="exact"/> raises IXC when the value changes (FRINTX).</summary>
    public static ulong RoundInt(ulong op, int n, FpRounding rounding, bool exact, ulong fpcr, ref ulong fpsr)
    {
        var t = Unpack(op, n, fpcr, ref fpsr, out bool sign, out int e, out ulong m);
        if (IsNaN(t)) return ProcessNaN(t, op, n, fpcr, ref fpsr);
        if (t == FpType.Infinity) return Infinity(sign, n);
        if (t == FpType.Zero) return Zero(sign, n);
        if (e >= 0) return op;
        UInt128 r = RoundToInteger(sign, e, m, rounding, out bool inexact);
        if (inexact && exact) fpsr |= Ixc;
        if (r == 0) return Zero(sign, n);
        ulong ignored = 0;
        return Round(sign, 0, r, false, n, fpcr, FpRounding.Zero, ref ignored);
    }

    /// <summary>
    /// FPToFixed (FCVT*S/U, FCVTZS/U fixed-point): op × 2^fbits rounded to an integer of
    /// <paramref name="width"/> bits, saturated with IOC; NaN gives 0 and IOC. The result is zero-extended.
    /// </summary>
    public static ulong ToFixed(ulong op, int n, int fbits, bool unsigned, int width, FpRounding rounding, ulong fpcr, ref ulong fpsr)
    {
        var t = Unpack(op, n, fpcr, ref fpsr, out bool sign, out int e, out ulong m);
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        if (IsNaN(t))
        {
            fpsr |= Ioc;
            return 0;
        }
        if (t == FpType.Zero) return 0;
        UInt128 mag;
        bool inexact = false;
        if (t == FpType.Infinity) mag = UInt128.MaxValue;
        else mag = RoundToInteger(sign, e + fbits, m, rounding, out inexact);
        UInt128 limit = unsigned ? (sign ? 0 : (UInt128.One << width) - 1) : (sign ? UInt128.One << (width - 1) : (UInt128.One << (width - 1)) - 1);
        if (mag > limit)
        {
            fpsr |= Ioc;
            ulong saturated = unsigned ? (sign ? 0 : mask) : (sign ? 1UL << (width - 1) : (1UL << (width - 1)) - 1);
            return saturated & mask;
        }
        if (inexact) fpsr |= Ixc;
        ulong v = (ulong)mag;
        return (sign ? 0 - v : v) & mask;
    }

    /// <summary>FixedToFP (SCVTF/UCVTF): a <paramref name="width"/>-bit integer over 2^fbits, rounded.</summary>
    public static ulong FromFixed(ulong value, int width, int fbits, bool unsigned, int n, FpRounding rounding, ulong fpcr, ref ulong fpsr)
    {
        if (width == 32) value = unsigned ? (uint)value : (ulong)(long)(int)value;
        bool sign = !unsigned && (long)value < 0;
        ulong mag = sign ? 0 - value : value;
        if (mag == 0) return Zero(false, n);
        return Round(sign, -fbits, mag, false, n, fpcr, rounding, ref fpsr);
    }

    /// <summary>
    /// FPConvert (FCVT between precisions). Half-precision operands ignore FZ16 (FPUnpackCV/FPRoundCV); with
    /// FPCR.AHP a half-precision result is in the alternative format, which has no infinity or NaN.
    /// </summary>
    public static ulong Convert(ulong op, int from, int to, FpRounding rounding, ulong fpcr, ref ulong fpsr)
    {
        var t = Unpack(op, from, fpcr, ref fpsr, out bool sign, out int e, out ulong m, cv: true);
        bool altHp = to == 16 && Ahp(fpcr);
        if (IsNaN(t))
        {
            ulong result;
            if (altHp) result = Zero(sign, to);
            else if (Dn(fpcr)) result = DefaultNaN(to);
            else
            {
                // FPConvertNaN: the sign and the payload's top bits carry over, and the result is quiet.
                int ff = FractionBits(from), ft = FractionBits(to);
                ulong payload = op & ((1UL << (ff - 1)) - 1);
                payload = ft >= ff ? payload << (ft - ff) : payload >> (ff - ft);
                result = (sign ? SignBit(to) : 0) | Infinity(false, to) | 1UL << (ft - 1) | payload;
            }
            if (t == FpType.SNaN || altHp) fpsr |= Ioc;
            return result;
        }
        if (t == FpType.Infinity)
        {
            if (!altHp) return Infinity(sign, to);
            fpsr |= Ioc;
            return (sign ? SignBit(to) : 0) | (SignBit(to) - 1);
        }
        if (t == FpType.Zero) return Zero(sign, to);
        return Round(sign, e, m, false, to, fpcr, rounding, ref fpsr, cv: true);
    }

    /// <summary>VFPExpandImm: the 8-bit immediate of FMOV (immediate) and FMOV (vector, immediate).</summary>
    public static ulong ExpandImm(uint imm8, int n)
    {
        int ebits = ExponentBits(n), f = FractionBits(n);
        ulong sign = imm8 >> 7 & 1, b6 = imm8 >> 6 & 1;
        ulong exp = ((b6 ^ 1) << (ebits - 1)) | ((b6 == 1 ? (1UL << (ebits - 3)) - 1 : 0) << 2) | (imm8 >> 4 & 3);
        ulong frac = (ulong)(imm8 & 15) << (f - 4);
        return sign << (n - 1) | exp << f | frac;
    }
}
