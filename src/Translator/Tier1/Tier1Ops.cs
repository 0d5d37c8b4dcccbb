using System.Runtime.CompilerServices;
using Jit.Runtime;

namespace Jit.Translator.Tier1;

/// <summary>
/// Pure helpers the compiled code calls with constant operands where the IL would be long; RyuJIT inlines
/// them into the block and folds the constants. None reads or writes guest state except where its name says.
/// </summary>
public static unsafe class Tier1Ops
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvAdd64(ulong a, ulong b)
    {
        Flags.AddWithCarry64(a, b, 0, out ulong nzcv);
        return nzcv;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvAdd32(ulong a, ulong b)
    {
        Flags.AddWithCarry32((uint)a, (uint)b, 0, out ulong nzcv);
        return nzcv;
    }

    /// <summary>The flags of a − b, which the manual computes as AddWithCarry(a, NOT(b), 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvSub64(ulong a, ulong b)
    {
        Flags.AddWithCarry64(a, ~b, 1, out ulong nzcv);
        return nzcv;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvSub32(ulong a, ulong b)
    {
        Flags.AddWithCarry32((uint)a, ~(uint)b, 1, out ulong nzcv);
        return nzcv;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvLogical64(ulong result) => Flags.Logical64(result);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong NzcvLogical32(ulong result) => Flags.Logical32((uint)result);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddWithCarry(ulong a, ulong b, ulong carry, int sf, out ulong nzcv) =>
        sf != 0 ? Flags.AddWithCarry64(a, b, carry, out nzcv) : Flags.AddWithCarry32((uint)a, (uint)b, (uint)carry, out nzcv);



    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bfm(ulong dst, ulong src, int r, ulong wmask, ulong tmask, int width)
    {
        ulong bot = (dst & ~wmask) | (Bits.Ror(src, r, width) & wmask);
        return ((dst & ~tmask) | (bot & tmask)) & Bits.Ones(width);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Smulh(ulong a, ulong b) => (ulong)Math.BigMul((long)a, (long)b, out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Umulh(ulong a, ulong b) => Math.BigMul(a, b, out _);

    /// <summary>SCTLR_EL1.SA/SA0 (D1.8.2) for the current EL; the caller has seen SP misaligned.</summary>
    public static bool SpAlignmentChecked(CpuState* s) => (s->SctlrEl1 & (s->EL == 0 ? 0x10UL : 0x8UL)) != 0;

    /// <summary>
    /// The run-time tag of a symbolic flag form (see <see cref="Nzcv"/>): 0 packed in the nzcv local, then
    /// add, subtract and logical, each 64-bit and 32-bit. <paramref name="kind"/> is BlockCompiler's FlagKind.
    /// </summary>
    public static int FlagTag(int kind, byte sf) => kind == 0 ? 0 : (kind - 1) * 2 + (sf != 0 ? 1 : 2);

    /// <summary>The packed NZCV of the form <paramref name="tag"/> describes, from the flag locals.</summary>
    public static ulong Nzcv(int tag, ulong nzcv, ulong a, ulong b, ulong result) => tag switch
    {
        1 => NzcvAdd64(a, b),
        2 => NzcvAdd32(a, b),
        3 => NzcvSub64(a, b),
        4 => NzcvSub32(a, b),
        5 => NzcvLogical64(result),
        6 => NzcvLogical32(result),
        _ => nzcv,
    };

    /// <summary>Instructions a region's loops may retire before they return: the budget, kept in int range.</summary>
    public static int LoopLimit(ulong budget) => (int)Math.Min(budget, 1UL << 30);

    /// <summary>All ones when PSTATE.I lets IRQs in (a region cannot change DAIF), else 0.</summary>
    public static int IrqMask(CpuState* s) => (s->Daif & 0x80) != 0 ? 0 : -1;
}
