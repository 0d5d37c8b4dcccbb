using Jit.Translator.Decoder;
using Jit.Runtime.Startup;

namespace Jit.Translator.Interpreter;

/// <summary>
/// The LSE read-modify-writes on a host pointer that the soft TLB gave, shared by the interpreter and tier 1.
/// Each returns the old value zero-extended, which is what Rt (or Rs for CAS) receives. The 32- and 64-bit
/// forms the kernel's locks and reference counts use map to one host locked instruction each; the others are
/// compare-and-swap loops.
/// </summary>
[CompiledEarly]
public static unsafe class HostAtomics
{
    public static ulong Add32(byte* p, ulong operand) => Interlocked.Add(ref *(uint*)p, (uint)operand) - (uint)operand;
    public static ulong Add64(byte* p, ulong operand) => Interlocked.Add(ref *(ulong*)p, operand) - operand;
    public static ulong Set32(byte* p, ulong operand) => Interlocked.Or(ref *(uint*)p, (uint)operand);
    public static ulong Set64(byte* p, ulong operand) => Interlocked.Or(ref *(ulong*)p, operand);
    public static ulong Clear32(byte* p, ulong operand) => Interlocked.And(ref *(uint*)p, ~(uint)operand);
    public static ulong Clear64(byte* p, ulong operand) => Interlocked.And(ref *(ulong*)p, ~operand);
    public static ulong Swap32(byte* p, ulong operand) => Interlocked.Exchange(ref *(uint*)p, (uint)operand);
    public static ulong Swap64(byte* p, ulong operand) => Interlocked.Exchange(ref *(ulong*)p, operand);
    public static ulong CompareAndSwap32(byte* p, ulong compare, ulong value) =>
        Interlocked.CompareExchange(ref *(uint*)p, (uint)value, (uint)compare);
    public static ulong CompareAndSwap64(byte* p, ulong compare, ulong value) =>
        Interlocked.CompareExchange(ref *(ulong*)p, value, compare);

    /// <summary>CAS of any size: <paramref name="compare"/> is taken at the access size.</summary>
    public static ulong CompareAndSwap(byte* p, int sizeLog2, ulong compare, ulong value) =>
        CompareExchange(p, sizeLog2, compare & Bits.Ones(8 << sizeLog2), value);

    /// <summary>LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN} and SWP of any size.</summary>
    public static ulong ReadModifyWrite(byte* p, int sizeLog2, Op op, ulong operand)
    {
        int bits = 8 << sizeLog2;
        ulong mask = Bits.Ones(bits);
        while (true)
        {
            ulong old = Load(p, sizeLog2);
            ulong value = op switch
            {
                Op.Ldadd => old + operand,
                Op.Ldclr => old & ~operand,
                Op.Ldeor => old ^ operand,
                Op.Ldset => old | operand,
                Op.Ldsmax => Bits.SignExtend(old, bits) >= Bits.SignExtend(operand & mask, bits) ? old : operand,
                Op.Ldsmin => Bits.SignExtend(old, bits) <= Bits.SignExtend(operand & mask, bits) ? old : operand,
                Op.Ldumax => old >= (operand & mask) ? old : operand,
                Op.Ldumin => old <= (operand & mask) ? old : operand,
                _ => operand,
            };
            if (CompareExchange(p, sizeLog2, old, value & mask) == old) return old;
        }
    }

    public static ulong Load(byte* p, int sizeLog2) => sizeLog2 switch
    {
        0 => Volatile.Read(ref *p),
        1 => Volatile.Read(ref *(ushort*)p),
        2 => Volatile.Read(ref *(uint*)p),
        _ => Volatile.Read(ref *(ulong*)p),
    };

    /// <summary>Atomically replaces <paramref name="expected"/> with <paramref name="desired"/>; returns the old value.</summary>
    public static ulong CompareExchange(byte* p, int sizeLog2, ulong expected, ulong desired) => sizeLog2 switch
    {
        0 => Interlocked.CompareExchange(ref *p, (byte)desired, (byte)expected),
        1 => Interlocked.CompareExchange(ref *(ushort*)p, (ushort)desired, (ushort)expected),
        2 => Interlocked.CompareExchange(ref *(uint*)p, (uint)desired, (uint)expected),
        _ => Interlocked.CompareExchange(ref *(ulong*)p, desired, expected),
    };
}
