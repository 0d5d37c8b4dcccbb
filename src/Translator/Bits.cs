using System.Numerics;
using System.Runtime.CompilerServices;

namespace Jit.Translator;

/// <summary>Bit-manipulation helpers of the Arm ARM's shared pseudocode (J1).</summary>
public static class Bits
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ones(int n) => n >= 64 ? ulong.MaxValue : (1UL << n) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SignExtend(ulong value, int bits) => (long)(value << (64 - bits)) >> (64 - bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ror(ulong value, int shift, int width)
    {
        if (width == 64) return BitOperations.RotateRight(value, shift);
        shift &= width - 1;
        ulong mask = Ones(width);
        value &= mask;
        return shift == 0 ? value : ((value >> shift) | (value << (width - shift))) & mask;
    }

    /// <summary>Replicates the low <paramref name="esize"/> bits of <paramref name="value"/> across 64 bits.</summary>
    public static ulong Replicate(ulong value, int esize)
    {
        ulong r = value & Ones(esize);
        for (int s = esize; s < 64; s *= 2) r |= r << s;
        return r;
    }

    /// <summary>
    /// J1 DecodeBitMasks: the (wmask, tmask) pair of a logical immediate or bitfield move. False for the
    /// reserved encodings (which make the instruction unallocated).
    /// </summary>
    public static bool DecodeBitMasks(uint immN, uint imms, uint immr, bool immediate, int datasize, out ulong wmask, out ulong tmask)
    {
        wmask = tmask = 0;
        uint combined = (immN << 6) | (~imms & 0x3F);
        if (combined == 0) return false;
        int len = 31 - BitOperations.LeadingZeroCount(combined);
        if (len < 1) return false;
        int levels = (1 << len) - 1;
        if (immediate && (imms & levels) == levels) return false;
        int s = (int)(imms & levels);
        int r = (int)(immr & levels);
        int diff = (s - r) & levels;
        int esize = 1 << len;
        if (esize > datasize) return false;
        ulong welem = Ones(s + 1);
        ulong telem = Ones(diff + 1);
        wmask = Replicate(Ror(welem, r, esize), esize);
        tmask = Replicate(telem, esize);
        if (datasize == 32)
        {
            wmask &= 0xFFFF_FFFF;
            tmask &= 0xFFFF_FFFF;
        }
        return true;
    }
}
