using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using Jit.Runtime.Startup;

namespace Jit.Translator.Interpreter;

/// <summary>Integer data-processing semantics (C6.2), named after the manual's pseudocode functions.</summary>
[CompiledEarly]
public static class Alu
{
    /// <summary>ShiftReg: LSL (0), LSR (1), ASR (2), ROR (3) at the operation's width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Shift(ulong value, int type, int amount, byte sf)
    {
        if (sf != 0)
        {
            return type switch
            {
                0 => value << amount,
                1 => value >> amount,
                2 => (ulong)((long)value >> amount),
                _ => BitOperations.RotateRight(value, amount),
            };
        }
        uint w = (uint)value;
        return type switch
        {
            0 => w << amount,
            1 => w >> amount,
            2 => (uint)((int)w >> amount),
            _ => BitOperations.RotateRight(w, amount),
        };
    }

    /// <summary>ExtendReg: UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX, then shifted left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ExtendReg(ulong value, int option, int shift)
    {
        ulong extended = option switch
        {
            0 => (byte)value,
            1 => (ushort)value,
            2 => (uint)value,
            4 => (ulong)(sbyte)value,
            5 => (ulong)(short)value,
            6 => (ulong)(int)value,
            _ => value,
        };
        return extended << shift;
    }

    public static ulong Ubfm(ulong src, in Inst i)
    {
        int width = i.Sf != 0 ? 64 : 32;
        ulong bot = Bits.Ror(src, i.A, width) & i.Imm;
        return bot & i.Imm2;
    }

    public static ulong Sbfm(ulong src, in Inst i)
    {
        int width = i.Sf != 0 ? 64 : 32;
        ulong bot = Bits.Ror(src, i.A, width) & i.Imm;
        ulong top = ((src >> i.B) & 1) != 0 ? Bits.Ones(width) : 0;
        return ((top & ~i.Imm2) | (bot & i.Imm2)) & Bits.Ones(width);
    }

    public static ulong Bfm(ulong dst, ulong src, in Inst i)
    {
        int width = i.Sf != 0 ? 64 : 32;
        ulong bot = (dst & ~i.Imm) | (Bits.Ror(src, i.A, width) & i.Imm);
        return ((dst & ~i.Imm2) | (bot & i.Imm2)) & Bits.Ones(width);
    }

    public static ulong Extr(ulong hi, ulong lo, int lsb, byte sf)
    {
        if (sf != 0) return lsb == 0 ? lo : (lo >> lsb) | (hi << (64 - lsb));
        ulong concat = ((ulong)(uint)hi << 32) | (uint)lo;
        return (uint)(concat >> lsb);
    }

    public static ulong Udiv(ulong n, ulong m, byte sf)
    {
        if (sf != 0) return m == 0 ? 0 : n / m;
        uint d = (uint)m;
        return d == 0 ? 0 : (uint)n / d;
    }

    public static ulong Sdiv(ulong n, ulong m, byte sf)
    {
        if (sf != 0)
        {
            long a = (long)n, b = (long)m;
            if (b == 0) return 0;
            if (a == long.MinValue && b == -1) return 0x8000_0000_0000_0000;
            return (ulong)(a / b);
        }
        int x = (int)n, y = (int)m;
        if (y == 0) return 0;
        if (x == int.MinValue && y == -1) return 0x8000_0000;
        return (uint)(x / y);
    }

    public static ulong Rbit(ulong value, byte sf)
    {
        ulong v = value;
        v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1);
        v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2);
        v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4);
        v = BinaryPrimitives.ReverseEndianness(v);
        return sf != 0 ? v : v >> 32;
    }

    public static ulong Rev16(ulong value, byte sf)
    {
        ulong v = ((value & 0x00FF_00FF_00FF_00FF) << 8) | ((value >> 8) & 0x00FF_00FF_00FF_00FF);
        return sf != 0 ? v : (uint)v;
    }

    public static ulong Rev32(ulong value) =>
        BinaryPrimitives.ReverseEndianness((uint)value) | ((ulong)BinaryPrimitives.ReverseEndianness((uint)(value >> 32)) << 32);

    public static ulong Rev(ulong value, byte sf) =>
        sf != 0 ? BinaryPrimitives.ReverseEndianness(value) : BinaryPrimitives.ReverseEndianness((uint)value);

    public static ulong Clz(ulong value, byte sf) =>
        sf != 0 ? (ulong)BitOperations.LeadingZeroCount(value) : (ulong)BitOperations.LeadingZeroCount((uint)value);

    /// <summary>CLS counts the bits below the sign bit that equal it: leading zeros of x XOR (x &gt;&gt; 1), minus one.</summary>
    public static ulong Cls(ulong value, byte sf)
    {
        if (sf != 0) return (ulong)BitOperations.LeadingZeroCount((value ^ (value >> 1)) & 0x7FFF_FFFF_FFFF_FFFF) - 1;
        uint w = (uint)value;
        return (ulong)BitOperations.LeadingZeroCount((w ^ (w >> 1)) & 0x7FFF_FFFF) - 1;
    }
}

/// <summary>
/// CRC32 (polynomial 0x04C11DB7) and CRC32C (0x1EDC6F41) as the A64 instructions compute them: bit-reflected,
/// with no initial or final inversion (C6.2.70).
/// </summary>
[CompiledEarly]
public static class Crc
{
    private static readonly uint[] crc32Table = BuildTable(0xEDB8_8320);
    private static readonly uint[] crc32cTable = BuildTable(0x82F6_3B78);

    private static uint[] BuildTable(uint reflectedPolynomial)
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ reflectedPolynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }

    private static ulong Update(uint[] table, uint acc, ulong data, int sizeLog2)
    {
        int bytes = 1 << sizeLog2;
        for (int i = 0; i < bytes; i++)
        {
            acc = (acc >> 8) ^ table[(byte)(acc ^ (byte)data)];
            data >>= 8;
        }
        return acc;
    }

    public static ulong Crc32(uint acc, ulong data, int sizeLog2) => Update(crc32Table, acc, data, sizeLog2);

    public static ulong Crc32c(uint acc, ulong data, int sizeLog2)
    {
        if (System.Runtime.Intrinsics.X86.Sse42.X64.IsSupported)
        {
            return sizeLog2 switch
            {
                0 => System.Runtime.Intrinsics.X86.Sse42.Crc32(acc, (byte)data),
                1 => System.Runtime.Intrinsics.X86.Sse42.Crc32(acc, (ushort)data),
                2 => System.Runtime.Intrinsics.X86.Sse42.Crc32(acc, (uint)data),
                _ => (uint)System.Runtime.Intrinsics.X86.Sse42.X64.Crc32(acc, data),
            };
        }
        return Update(crc32cTable, acc, data, sizeLog2);
    }
}
