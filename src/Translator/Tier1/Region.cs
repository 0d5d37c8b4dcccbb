using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// A hot block and the blocks it reaches by direct branches or fall-through within its page, compiled as one
/// method so loops run without returning to the dispatcher. Staying within one page keeps the virtual-to-
/// physical offset of every member equal to the entry's, so branch targets need no translation.
/// </summary>
public sealed class Region
{
    /// <summary>Blocks and instructions one region may hold: RyuJIT's cost grows with method size.</summary>
    public const int MaxBlocks = 24, MaxInstructions = 320;

    private Region(Block[] blocks, Block entry)
    {
        Blocks = blocks;
        Entry = entry;
        foreach (var b in blocks) Chunks |= b.Chunks;
    }

    /// <summary>Members in address order (the order the compiler lays them out).</summary>
    public Block[] Blocks { get; }
    public Block Entry { get; }
    /// <summary>The 64-byte chunks of the page any member occupies: a write to one drops the region.</summary>
    public ulong Chunks { get; }

    /// <summary>A region of <paramref name="entry"/> alone (no successor followed).</summary>
    public static Region Single(Block entry) => new([entry], entry);

    /// <summary>
    /// Grows a region from <paramref name="entry"/> over successors that <paramref name="lookup"/> knows and that
    /// have run at least once: code never executed stays out, so cold paths leave the region instead of
    /// making it bigger to compile.
    /// </summary>
    public static Region Form(Block entry, Func<ulong, Block?> lookup)
    {
        var members = new List<Block> { entry };
        var seen = new HashSet<ulong> { entry.Pa };
        int instructions = entry.Insts.Length;
        for (int next = 0; next < members.Count && members.Count < MaxBlocks; next++)
        {
            Block b = members[next];
            foreach (ulong pa in Successors(b))
            {
                if (!seen.Add(pa) || lookup(pa) is not { } s) continue;
                if (s.Executions == 0 || BlockCompiler.CompilablePrefix(s.Insts) == 0) continue;
                if (instructions + s.Insts.Length > MaxInstructions || members.Count == MaxBlocks) break;
                members.Add(s);
                instructions += s.Insts.Length;
            }
        }
        members.Sort((a, b) => a.Pa.CompareTo(b.Pa));
        return new Region([.. members], entry);
    }

    /// <summary>Physical addresses of the direct successors of <paramref name="b"/> in its own page.</summary>
    internal static IEnumerable<ulong> Successors(Block b)
    {
        Inst[] insts = b.Insts;
        int n = BlockCompiler.CompilablePrefix(insts);
        if (n < insts.Length) yield break; // it leaves at the first instruction tier 1 does not cover
        ulong page = b.Pa & ~0xFFFUL;
        ulong lastPa = b.Pa + 4UL * (ulong)(n - 1);
        ref readonly Inst last = ref insts[n - 1];
        ulong? taken = last.Op is Op.B or Op.BCond or Op.Cbz or Op.Cbnz or Op.Tbz or Op.Tbnz ? lastPa + last.Imm : null;
        bool fallsThrough = last.Op is not (Op.B or Op.Bl or Op.Br or Op.Blr or Op.Ret);
        if (taken is { } t && (t & ~0xFFFUL) == page) yield return t;
        ulong after = lastPa + 4;
        if (fallsThrough && (after & ~0xFFFUL) == page) yield return after;
    }
}
