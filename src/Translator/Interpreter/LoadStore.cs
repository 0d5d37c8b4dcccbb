using System.Runtime.CompilerServices;

namespace Jit.Translator.Interpreter;

/// <summary>Single-register and pair loads and stores (C6.2 LDR/STR/LDP/STP families).</summary>
public sealed unsafe partial class BlockInterpreter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Extend(ulong value, int sizeLog2, byte kind)
    {
        if (kind == LoadKind.Zero) return value;
        int bits = 8 << sizeLog2;
        ulong signed = (ulong)((long)(value << (64 - bits)) >> (64 - bits));
        return kind == LoadKind.Signed64 ? signed : (uint)signed;
    }

    /// <summary>One access of 1 &lt;&lt; I.A bytes at <paramref name="ea"/>: a store of X[Rd] or a load into it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool LoadStore(in Inst I, ulong ea) => LoadStore(in I, ea, s->EL);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool LoadStore(in Inst I, ulong ea, uint el)
    {
        ulong* x = s->X;
        if (I.B == LoadKind.Store) return mmu.WriteAs(ea, 1 << I.A, el, x[I.Rd]);
        if (!mmu.ReadAs(ea, 1 << I.A, el, out ulong value)) return false;
        x[I.Rd] = Extend(value, I.A, I.B);
        return true;
    }

    /// <summary>Two consecutive accesses; loads write no register unless both reads succeed.</summary>
    private bool LoadStorePair(in Inst I, ulong ea)
    {
        ulong* x = s->X;
        int size = 1 << I.A;
        if (I.B == LoadKind.Store)
            return mmu.Write(ea, size, x[I.Rd]) && mmu.Write(ea + (ulong)size, size, x[I.Ra]);
        if (!mmu.Read(ea, size, out ulong v1) || !mmu.Read(ea + (ulong)size, size, out ulong v2)) return false;
        x[I.Rd] = Extend(v1, I.A, I.B);
        x[I.Ra] = Extend(v2, I.A, I.B);
        return true;
    }
}
