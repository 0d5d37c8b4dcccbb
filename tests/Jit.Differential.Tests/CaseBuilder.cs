using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>Interesting register and memory values: the corners of signed and unsigned arithmetic, and noise.</summary>
public static class Values
{
    private static readonly ulong[] edges =
    [
        0, 1, 2, 3, ulong.MaxValue, ulong.MaxValue - 1,
        0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0x8000_0000_0000_0001,
        0xFFFF_FFFF_8000_0000, 0xFFFF_FFFF_0000_0000, 0xFFFF_FFFF_7FFF_FFFF, 0x8000_0000_8000_0000, 0x7FFF_FFFF_8000_0000,
        0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 31, 32, 33, 63, 64, 65,
        0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210,
    ];

    public static IReadOnlyList<ulong> Edges => edges;

    public static ulong Next(Rng r) => r.Below(10) switch
    {
        0 or 1 or 2 => edges[r.Below(edges.Length)],
        3 => (ulong)(long)r.Range(-16, 16),
        4 or 5 => r.Next(),
        6 => r.Next() & 0xFFFF_FFFF,
        7 => (ulong)(long)(int)r.Next(),
        8 => (1UL << r.Below(64)) + (ulong)(long)r.Range(-1, 1),
        _ => edges[r.Below(edges.Length)] ^ (1UL << r.Below(64)),
    };
}

/// <summary>
/// Assembles one case: the initial registers and scratch bytes, the words at the start of the region, and
/// further chunks elsewhere in it. Words made through <see cref="Emit(Op, ValueTuple{string, uint}[])"/> or
/// <see cref="Track"/> are the instructions under test; the rest (markers, jumps, the end) are scaffolding.
/// </summary>
public sealed class CaseBuilder
{
    public const int ScratchLength = 256;

    public Rng R { get; }
    public TestCase Case { get; }
    private readonly List<uint> main = [];

    public CaseBuilder(InstructionClass cls, int index, ulong seed)
    {
        R = new Rng(seed);
        Case = new TestCase { Class = cls, Index = index, Seed = seed };
        for (int i = 0; i < 31; i++) Case.X[i] = Values.Next(R);
        Case.Sp = R.Chance(50) ? Values.Next(R) : Protocol.ScratchBase + 0x1000 - 16 * (ulong)R.Below(16);
        Case.Nzcv = (ulong)R.Bits(4) << 28;
        var scratch = new byte[ScratchLength];
        for (int i = 0; i < scratch.Length; i += 8)
        {
            ulong v = R.Chance(30) ? Values.Next(R) : R.Next();
            BitConverter.TryWriteBytes(scratch.AsSpan(i), v);
        }
        Case.Scratch = scratch;
    }

    public uint Here => (uint)main.Count * 4;

    /// <summary>A random register number, 31 included (XZR or SP, as the form reads it).</summary>
    public uint Reg() => R.Bits(5);

    /// <summary>
    /// Registers an earlier memory access of the case uses: a later access must not take one as its base or
    /// index, since setting it up would move the earlier address (or the earlier access would overwrite it).
    /// </summary>
    public HashSet<uint> Reserved { get; } = [];

    /// <summary>A base or index register that no earlier access of the case uses.</summary>
    public uint AddressReg()
    {
        uint x;
        do x = Reg(); while (Reserved.Contains(x));
        return x;
    }

    public void Reserve(params uint[] regs) => Reserved.UnionWith(regs);

    private ulong? lastEa;

    public uint Track(Op op, params (string Name, uint Value)[] fields)
    {
        uint w = Encoder.Make(op, fields);
        Case.Intended.Add((w, op));
        return w;
    }

    public void Emit(Op op, params (string Name, uint Value)[] fields) => main.Add(Track(op, fields));

    public void EmitRaw(uint word) => main.Add(word);

    public void AddChunk(uint offset, params uint[] words) => Case.Chunks.Add(new Chunk(offset, words));

    /// <summary>Register <paramref name="n"/> as a base or target: 31 is SP here.</summary>
    public void SetReg(uint n, ulong value)
    {
        if (n == 31) Case.Sp = value; else Case.X[n] = value;
    }

    public ulong GetReg(uint n) => n == 31 ? Case.Sp : Case.X[n];

    /// <summary>
    /// An effective address inside the scratch area for an access of <paramref name="size"/> bytes, aligned to
    /// <paramref name="align"/> (1 lets it be unaligned).
    /// </summary>
    public ulong PickEa(int size, int align)
    {
        // A second access of a case often overlaps the first, with another size or alignment.
        if (lastEa is ulong near && R.Coin())
            for (int tries = 0; tries < 8; tries++)
            {
                ulong ea = (near + (ulong)R.Range(-size - 4, size + 4)) & ~(ulong)(align - 1);
                if (InScratch(ea, size)) return ea;
            }
        int slots = (ScratchLength - size) / align + 1;
        return Protocol.ScratchBase + (ulong)(R.Below(slots) * align);
    }

    /// <summary>The natural alignment most of the time, any address otherwise (Normal memory allows it).</summary>
    public int MaybeAligned(int size) => R.Chance(70) ? size : 1;

    public static bool InScratch(ulong ea, int size) =>
        ea >= Protocol.ScratchBase && ea + (ulong)size <= Protocol.ScratchBase + ScratchLength;

    /// <summary>
    /// Sets base register <paramref name="n"/> so that base + <paramref name="offset"/> is a fresh address
    /// inside the scratch area for <paramref name="size"/> bytes; an SP base stays 16-byte aligned, as Linux
    /// requires of SP-relative accesses. Returns the effective address.
    /// </summary>
    public ulong SetBase(uint n, ulong offset, int size, int align)
    {
        for (int tries = 0; ; tries++)
        {
            ulong ea = PickEa(size, align);
            ulong @base = ea - offset;
            if (n == 31)
            {
                @base &= ~15UL;
                ea = @base + offset;
                // An offset that is not a multiple of the alignment cannot give an aligned address from SP.
                bool achievable = (offset & (ulong)(align - 1)) == 0;
                if (!InScratch(ea, size) || (achievable && (ea & (ulong)(align - 1)) != 0))
                {
                    if (tries < 64) continue;
                    throw new InvalidOperationException($"no SP-aligned base for offset {offset:x}");
                }
            }
            SetReg(n, @base);
            lastEa = ea;
            return ea;
        }
    }

    /// <summary>Puts an interesting value at <paramref name="ea"/> half the time (the scratch is noise otherwise).</summary>
    public void MaybePoke(ulong ea, int size)
    {
        if (R.Coin()) Poke(ea, size, Values.Next(R));
    }

    public void Poke(ulong ea, int size, ulong value)
    {
        int at = (int)(ea - Protocol.ScratchBase);
        for (int i = 0; i < size; i++) Case.Scratch[at + i] = (byte)(value >> (8 * i));
    }

    public ulong Peek(ulong ea, int size)
    {
        int at = (int)(ea - Protocol.ScratchBase);
        ulong v = 0;
        for (int i = 0; i < size; i++) v |= (ulong)Case.Scratch[at + i] << (8 * i);
        return v;
    }

    /// <summary>
    /// Closes the main chunk with the end marker and places it at offset 0, or at <paramref name="at"/> with a
    /// branch to it at offset 0.
    /// </summary>
    public TestCase Finish(bool appendEnd = true, uint at = 0)
    {
        if (appendEnd) main.Add(Protocol.EndWord);
        if (at != 0) Case.Chunks.Insert(0, new Chunk(0, [Encoder.Branch(0, at)]));
        if (main.Count > 0) Case.Chunks.Insert(at == 0 ? 0 : 1, new Chunk(at, [.. main]));
        return Case;
    }

    public int Count => main.Count;
}
