using Jit.Runtime.Exceptions;
using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>
/// Exclusives, load-acquire/store-release and the LSE atomics. Host atomics provide the guarantees across
/// vCPU threads: STXR succeeds only if memory still holds what LDXR saw (compare-and-swap), LSE operations
/// are compare-and-swap loops.
/// </summary>
public sealed unsafe partial class BlockInterpreter
{
    // 128-bit exclusives and CASP of two X registers have no host instruction .NET exposes; they serialise here.
    private static readonly object pairLock = new();

    private bool Atomic(in Inst I, ulong ea)
    {
        ulong* x = s->X;
        int sizeLog2 = I.A;
        int size = 1 << sizeLog2;
        switch (I.Op)
        {
            case Op.Ldar:
                if (!Aligned(ea, size, false) || !mmu.Read(ea, size, out ulong acquired)) return false;
                x[I.Rd] = acquired;
                Interlocked.MemoryBarrier();
                return true;
            case Op.Stlr:
                Interlocked.MemoryBarrier();
                return Aligned(ea, size, true) && mmu.Write(ea, size, x[I.Rd]);

            case Op.Ldxr: case Op.Ldaxr:
            {
                byte* p = mmu.AtomicAddress(ea, size, false);
                if (p == null) return false;
                ulong v = Load(p, sizeLog2);
                s->ExclusiveAddress = ea;
                s->ExclusiveSize = (uint)size;
                s->ExclusiveValue = v;
                s->ExclusiveValid = 1;
                x[I.Rd] = v;
                return true;
            }
            case Op.Stxr: case Op.Stlxr:
            {
                byte* p = mmu.AtomicAddress(ea, size, true);
                if (p == null) return false;
                ulong status = 1;
                if (s->ExclusiveValid != 0 && s->ExclusiveAddress == ea && s->ExclusiveSize == size &&
                    CompareExchange(p, sizeLog2, s->ExclusiveValue, x[I.Rd]) == s->ExclusiveValue)
                    status = 0;
                s->ExclusiveValid = 0;
                x[I.Ra] = status;
                return true;
            }
            case Op.Ldxp: case Op.Ldaxp:
            {
                // The pair is one exclusive access of twice the register size, aligned to that size.
                byte* p = mmu.AtomicAddress(ea, 2 * size, false);
                if (p == null) return false;
                ulong lo, hi;
                if (sizeLog2 == 2)
                {
                    ulong both = Volatile.Read(ref *(ulong*)p);
                    lo = (uint)both;
                    hi = both >> 32;
                }
                else
                {
                    lock (pairLock) { lo = ((ulong*)p)[0]; hi = ((ulong*)p)[1]; }
                }
                s->ExclusiveAddress = ea;
                s->ExclusiveSize = (uint)(2 * size);
                s->ExclusiveValue = lo;
                s->ExclusiveValue2 = hi;
                s->ExclusiveValid = 1;
                x[I.Rd] = lo;
                x[I.Ra] = hi;
                return true;
            }
            case Op.Stxp: case Op.Stlxp:
            {
                byte* p = mmu.AtomicAddress(ea, 2 * size, true);
                if (p == null) return false;
                ulong status = 1;
                if (s->ExclusiveValid != 0 && s->ExclusiveAddress == ea && s->ExclusiveSize == 2 * size)
                {
                    if (sizeLog2 == 2)
                    {
                        ulong expected = (s->ExclusiveValue2 << 32) | (uint)s->ExclusiveValue;
                        ulong desired = (x[I.Ra] << 32) | (uint)x[I.Rd];
                        if ((ulong)Interlocked.CompareExchange(ref *(long*)p, (long)desired, (long)expected) == expected) status = 0;
                    }
                    else
                    {
                        lock (pairLock)
                        {
                            if (((ulong*)p)[0] == s->ExclusiveValue && ((ulong*)p)[1] == s->ExclusiveValue2)
                            {
                                ((ulong*)p)[0] = x[I.Rd];
                                ((ulong*)p)[1] = x[I.Ra];
                                status = 0;
                            }
                        }
                    }
                }
                s->ExclusiveValid = 0;
                x[I.Rm] = status;
                return true;
            }
            case Op.Cas:
            {
                byte* p = mmu.AtomicAddress(ea, size, true);
                if (p == null) return false;
                ulong compare = x[I.Rm] & Bits.Ones(8 * size);
                x[I.Ra] = CompareExchange(p, sizeLog2, compare, x[I.Rd]);
                return true;
            }
            case Op.Casp:
                return CompareAndSwapPair(in I, ea);
            default:
                return ReadModifyWrite(in I, ea);
        }
    }

    private bool Aligned(ulong ea, int size, bool write)
    {
        if ((ea & (ulong)(size - 1)) == 0) return true;
        ExceptionEntry.DataAbort(s, ea, write, FaultStatus.Alignment);
        return false;
    }

    private ulong ReadPairRegister(int r) => r >= 31 ? 0 : s->X[r];

    private void WritePairRegister(int r, ulong value)
    {
        if (r < 31) s->X[r] = value;
    }

    private bool CompareAndSwapPair(in Inst I, ulong ea)
    {
        int size = 1 << I.A;
        byte* p = mmu.AtomicAddress(ea, 2 * size, true);
        if (p == null) return false;
        int rs = I.Rm, rt = I.Rd;
        if (I.A == 2)
        {
            ulong expected = (ReadPairRegister(rs + 1) << 32) | (uint)ReadPairRegister(rs);
            ulong desired = (ReadPairRegister(rt + 1) << 32) | (uint)ReadPairRegister(rt);
            ulong old = (ulong)Interlocked.CompareExchange(ref *(long*)p, (long)desired, (long)expected);
            WritePairRegister(rs, (uint)old);
            WritePairRegister(rs + 1, old >> 32);
            return true;
        }
        ulong lo, hi;
        lock (pairLock)
        {
            lo = ((ulong*)p)[0];
            hi = ((ulong*)p)[1];
            if (lo == ReadPairRegister(rs) && hi == ReadPairRegister(rs + 1))
            {
                ((ulong*)p)[0] = ReadPairRegister(rt);
                ((ulong*)p)[1] = ReadPairRegister(rt + 1);
            }
        }
        WritePairRegister(rs, lo);
        WritePairRegister(rs + 1, hi);
        return true;
    }

    /// <summary>LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN} and SWP: Rt receives the old value.</summary>
    private bool ReadModifyWrite(in Inst I, ulong ea)
    {
        byte* p = mmu.AtomicAddress(ea, 1 << I.A, true);
        if (p == null) return false;
        s->X[I.Rd] = HostAtomics.ReadModifyWrite(p, I.A, I.Op, s->X[I.Rm]);
        return true;
    }

    private static ulong Load(byte* p, int sizeLog2) => HostAtomics.Load(p, sizeLog2);

    private static ulong CompareExchange(byte* p, int sizeLog2, ulong expected, ulong desired) =>
        HostAtomics.CompareExchange(p, sizeLog2, expected, desired);
}
