using System.Runtime.CompilerServices;

namespace Jit.Runtime;

/// <summary>Flag arithmetic in the manual's vocabulary (AddWithCarry, ConditionHolds).</summary>
public static class Flags
{
    public const ulong N = 1UL << 31, Z = 1UL << 30, C = 1UL << 29, V = 1UL << 28;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddWithCarry64(ulong x, ulong y, ulong carryIn, out ulong nzcv)
    {
        ulong result = x + y + carryIn;
        ulong c = (result < x || (carryIn != 0 && result == x)) ? C : 0;
        ulong v = (((x ^ result) & (y ^ result)) >> 63) << 28;
        nzcv = ((result >> 63) << 31) | (result == 0 ? Z : 0) | c | v;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint AddWithCarry32(uint x, uint y, uint carryIn, out ulong nzcv)
    {
        ulong wide = (ulong)x + y + carryIn;
        uint result = (uint)wide;
        ulong c = (wide >> 32) << 29;
        ulong v = (ulong)(((x ^ result) & (y ^ result)) >> 31) << 28;
        nzcv = ((ulong)(result >> 31) << 31) | (result == 0 ? Z : 0) | c | v;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Logical64(ulong result) => ((result >> 63) << 31) | (result == 0 ? Z : 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Logical32(uint result) => ((ulong)(result >> 31) << 31) | (result == 0 ? Z : 0);

    /// <summary>C1.2.4 condition codes: the low bit inverts the test, except for AL/NV.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool ConditionHolds(int cond, ulong nzcv)
    {
        bool result = (cond >> 1) switch
        {
            0 => (nzcv & Z) != 0,
            1 => (nzcv & C) != 0,
            2 => (nzcv & N) != 0,
            3 => (nzcv & V) != 0,
            4 => (nzcv & C) != 0 && (nzcv & Z) == 0,
            5 => ((nzcv & N) != 0) == ((nzcv & V) != 0),
            6 => ((nzcv & N) != 0) == ((nzcv & V) != 0) && (nzcv & Z) == 0,
            _ => true,
        };
        return (cond & 1) != 0 && cond != 15 ? !result : result;
    }
}
