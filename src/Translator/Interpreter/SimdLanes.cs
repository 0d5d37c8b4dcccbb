using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Jit.Translator.Interpreter;

/// <summary>A 128-bit result under construction, so that sources are never overwritten while still being read.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Vec
{
    public ulong Lo, Hi;
}

/// <summary>
/// Lane access and the Arm pseudocode's integer helpers (SignedSatQ, UnsignedSatQ, the shift-by-register rule)
/// for AdvSIMD. Lanes travel as zero-extended ulongs; <see cref="Set"/> truncates to the element.
/// </summary>
internal static unsafe class SimdLanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Get(ulong* v, int size, int i) => size switch
    {
        0 => ((byte*)v)[i],
        1 => ((ushort*)v)[i],
        2 => ((uint*)v)[i],
        _ => v[i],
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetS(ulong* v, int size, int i) => size switch
    {
        0 => ((sbyte*)v)[i],
        1 => ((short*)v)[i],
        2 => ((int*)v)[i],
        _ => (long)v[i],
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ulong* v, int size, int i, ulong x)
    {
        switch (size)
        {
            case 0: ((byte*)v)[i] = (byte)x; break;
            case 1: ((ushort*)v)[i] = (ushort)x; break;
            case 2: ((uint*)v)[i] = (uint)x; break;
            default: v[i] = x; break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Sx(ulong v, int bits) => bits >= 64 ? (long)v : (long)(v << (64 - bits)) >> (64 - bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ones(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    /// <summary>SignedSatQ: <paramref name="v"/> clamped to a signed <paramref name="bits"/>-bit integer.</summary>
    public static ulong SatS(Int128 v, int bits, ref bool qc)
    {
        Int128 max = (Int128.One << (bits - 1)) - 1, min = -max - 1;
        if (v > max) { qc = true; return (ulong)(long)max; }
        if (v < min) { qc = true; return (ulong)(long)min; }
        return (ulong)(long)v;
    }

    /// <summary>UnsignedSatQ: <paramref name="v"/> clamped to an unsigned <paramref name="bits"/>-bit integer.</summary>
    public static ulong SatU(Int128 v, int bits, ref bool qc)
    {
        if (v < 0) { qc = true; return 0; }
        ulong max = Ones(bits);
        if (v > max) { qc = true; return max; }
        return (ulong)v;
    }

    public static ulong Sat(Int128 v, int bits, bool unsigned, ref bool qc) => unsigned ? SatU(v, bits, ref qc) : SatS(v, bits, ref qc);

    /// <summary>
    /// The shift-by-register forms (SSHL, URSHL, SQRSHL, …): the shift is the signed bottom byte of the second
    /// operand, negative shifting right; the arithmetic is exact (infinite precision), then optionally rounded
    /// and saturated, else truncated.
    /// </summary>
    public static ulong ShiftByRegister(ulong a, ulong b, int bits, bool unsigned, bool round, bool saturate, ref bool qc)
    {
        int shift = (sbyte)(byte)b;
        Int128 v = unsigned ? (Int128)a : (Int128)Sx(a, bits);
        if (shift >= 0)
        {
            if (v == 0) return 0;
            if (shift >= bits)
            {
                if (!saturate) return 0;
                qc = true;
                return unsigned ? Ones(bits) : v < 0 ? 1UL << (bits - 1) : Ones(bits - 1);
            }
            if (unsigned)
            {
                // A 64-bit value shifted by up to 63 fits an unsigned 128-bit integer, not a signed one.
                UInt128 u = (UInt128)a << shift;
                if (!saturate) return (ulong)u;
                if (u > Ones(bits)) { qc = true; return Ones(bits); }
                return (ulong)u;
            }
            v <<= shift;
            return saturate ? SatS(v, bits, ref qc) : (ulong)(long)v;
        }
        // Shifts past 66 bits give the same result as 66 for values of at most 64 bits, rounded or not.
        int right = Math.Min(-shift, 66);
        if (round) v += Int128.One << (right - 1);
        v >>= right;
        return saturate ? Sat(v, bits, unsigned, ref qc) : (ulong)(long)v;
    }

    /// <summary>Rounding right shift by an immediate (1 to 64): exact, so the carry out of the top bit is kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int128 RoundShift(Int128 v, int shift) => (v + (Int128.One << (shift - 1))) >> shift;

    /// <summary>Polynomial (carry-less) product of two values of at most 32 bits.</summary>
    public static ulong PolyMul(ulong a, ulong b, int bits)
    {
        ulong r = 0;
        for (int k = 0; k < bits; k++)
            if ((b >> k & 1) != 0) r ^= a << k;
        return r;
    }

    public static ulong CountLeadingSignBits(ulong a, int bits)
    {
        ulong x = (a ^ (a >> 1)) & Ones(bits - 1);
        return (ulong)(bits - 1 - (64 - BitOperations.LeadingZeroCount(x)));
    }

    public static ulong CountLeadingZeros(ulong a, int bits) => (ulong)(BitOperations.LeadingZeroCount(a) - (64 - bits));

    public static ulong ReverseBits8(ulong b) => (ulong)(byte)((b * 0x0202020202UL & 0x010884422010UL) % 1023);

    // Element-wise operations on whole registers; C# generic math on Vector128 lowers to SSE/AVX.
    public static Vector128<byte> Unsigned<TOp>(int size, Vector128<byte> a, Vector128<byte> b) where TOp : IVectorOp => size switch
    {
        0 => TOp.Apply(a, b),
        1 => TOp.Apply(a.AsUInt16(), b.AsUInt16()).AsByte(),
        2 => TOp.Apply(a.AsUInt32(), b.AsUInt32()).AsByte(),
        _ => TOp.Apply(a.AsUInt64(), b.AsUInt64()).AsByte(),
    };

    public static Vector128<byte> Signed<TOp>(int size, Vector128<byte> a, Vector128<byte> b) where TOp : IVectorOp => size switch
    {
        0 => TOp.Apply(a.AsSByte(), b.AsSByte()).AsByte(),
        1 => TOp.Apply(a.AsInt16(), b.AsInt16()).AsByte(),
        2 => TOp.Apply(a.AsInt32(), b.AsInt32()).AsByte(),
        _ => TOp.Apply(a.AsInt64(), b.AsInt64()).AsByte(),
    };
}

internal interface IVectorOp
{
    static abstract Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b);
}

internal struct AddOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => a + b; }
internal struct SubOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => a - b; }
internal struct MulOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => a * b; }
internal struct EqOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => Vector128.Equals(a, b); }
internal struct GtOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThan(a, b); }
internal struct GeOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThanOrEqual(a, b); }
internal struct MaxOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b); }
internal struct MinOp : IVectorOp { public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b); }
internal struct TstOp : IVectorOp
{
    public static Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b) => ~Vector128.Equals(a & b, Vector128<T>.Zero);
}
