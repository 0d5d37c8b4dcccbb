using Jit.Translator.Tier1;
using Jit.Runtime.Startup;

namespace Jit.Translator.Interpreter;

/// <summary>Where a block stands with tier 1.</summary>
public enum Tier1State : byte { Interpreted, Queued, Compiled, Rejected }

/// <summary>A run of pre-decoded instructions starting at a guest-physical address, never crossing a page.</summary>
public sealed class Block(ulong pa, Inst[] insts)
{
    public ulong Pa { get; } = pa;
    public Inst[] Insts { get; } = insts;
    /// <summary>The 64-byte chunks of its page the block's instructions occupy (see PhysicalMemory.ChunkMask).</summary>
    public ulong Chunks { get; } = Jit.Runtime.Memory.PhysicalMemory.ChunkMask(pa, insts.Length * 4);
    /// <summary>
    /// The chunks of the page that the tier 1 region entered at this block was built from (set before it is
    /// compiled): a write to any of them drops this block, and with it the region's code.
    /// </summary>
    public ulong RegionChunks;
    /// <summary>The region formed at this block for tier 1 (kept for <c>jit disasm</c>), null until it got hot.</summary>
    public Region? Region;
    /// <summary>How many times the block was entered (the IL tier's hotness counter).</summary>
    public ulong Executions;
    /// <summary>The tier 1 code for the block's leading instructions, published once with a volatile write.</summary>
    public CompiledBlock? Compiled;
    /// <summary>
    /// The closure <see cref="Compiled"/> is bound to, written before it: the dispatcher reads it on every region
    /// entry, and Delegate.Target (a call into the runtime) cost 11% of a kernel-heavy run's vCPU time.
    /// </summary>
    public RegionClosure? Closure;
    public Tier1State Tier1State;
    /// <summary>
    /// Regions waiting for the background compiler that hold this block as a member (not as their entry): while
    /// one does, the block's own region would compile the same code again, so it is not requested.
    /// </summary>
    public int WaitingRegions;
    /// <summary>Set when the cache drops the block (its code was written, or translations were flushed): links to it are stale.</summary>
    public bool Dropped;
}

/// <summary>
/// A remembered step from a virtual PC to the block there: a jump-cache entry, or a compiled region's successor
/// slot. It stands for the block only while the cache has not dropped it, and for the guest's translation while
/// the TLB generation and EL it was made under are current — or, after a switch or flush changed the generation,
/// once the fetch TLB again maps the PC's page to the block's (see BlockInterpreter.Follow).
/// </summary>
public struct BlockLink
{
    /// <summary>
    /// The generation of a successor slot that leads to the page the region it belongs to runs from: the
    /// region was entered under a translation that mapped its page to its code, and nothing inside a region
    /// changes that translation (an instruction that may leaves the region without a slot), so the same VA
    /// page leads to the same physical page under whatever context the region runs. Such a link holds across
    /// address-space switches and TLB flushes, as QEMU's direct jumps within a page do; only dropping the
    /// block ends it. No TLB generation takes this value.
    /// </summary>
    public const uint PageLocal = uint.MaxValue;

    public ulong Va;
    public Block? Block;
    /// <summary>
    /// The block's compiled region and its native entry, copied here when the slot is followed under drop epoch
    /// <see cref="Epoch"/>, so that the dispatcher enters it from the slot alone while no block was dropped
    /// since: reaching it through the block and its delegate cost two dependent cache misses per dispatch.
    /// </summary>
    public RegionClosure? Closure;
    public nint Entry;
    public uint Epoch;
    public uint Generation;
    public uint El;

    public BlockLink(ulong va, Block block, uint generation, uint el)
    {
        Va = va;
        Block = block;
        Generation = generation;
        El = el;
    }

    /// <summary>The linked block if the link was made for <paramref name="va"/> at <paramref name="el"/> and its block is live, else null.</summary>
    public readonly Block? Candidate(ulong va, uint el) => Block is { Dropped: false } b && Va == va && El == el ? b : null;
}

/// <summary>
/// Decoded blocks by guest-physical address: a small direct-mapped array in front of a dictionary, and the
/// blocks of each page so a write to that page can drop them.
/// </summary>
[CompiledEarly]
public sealed class BlockCache
{
    // A boot decodes about 70,000 blocks: 64K slots keep most lookups out of the dictionary (512 KiB a vCPU).
    private const int FastBits = 16;
    private readonly Block?[] fast = new Block?[1 << FastBits];
    private readonly Dictionary<ulong, Block> all = [];
    private readonly Dictionary<ulong, List<Block>> byPage = [];

    public int Count => all.Count;

    /// <summary>Every cached block, for inspection (<c>jit disasm</c>) while its vCPU is not running.</summary>
    public IEnumerable<Block> Blocks => all.Values;

    public Block? Lookup(ulong pa)
    {
        ref Block? slot = ref fast[(int)(pa >> 2) & ((1 << FastBits) - 1)];
        Block? b = slot;
        if (b is not null && b.Pa == pa) return b;
        if (all.TryGetValue(pa, out b)) slot = b;
        return b;
    }

    public void Add(Block b)
    {
        all[b.Pa] = b;
        fast[(int)(b.Pa >> 2) & ((1 << FastBits) - 1)] = b;
        ulong page = b.Pa & ~0xFFFUL;
        if (!byPage.TryGetValue(page, out var list)) byPage[page] = list = [];
        list.Add(b);
    }

    public void InvalidatePage(ulong page) => InvalidateChunks(page, ulong.MaxValue);

    /// <summary>Drops the blocks of <paramref name="page"/> that occupy any of the chunks in <paramref name="chunks"/>.</summary>
    /// <remarks>
    /// A loop rather than RemoveAll with a lambda: the lambda's closure was allocated on every call, and Linux
    /// issues IC IVAU (which lands here) for every cache line of every page it maps executable.
    /// </remarks>
    public void InvalidateChunks(ulong page, ulong chunks)
    {
        if (!byPage.TryGetValue(page, out var list)) return;
        int kept = 0;
        for (int i = 0; i < list.Count; i++)
        {
            Block b = list[i];
            if (((b.Chunks | b.RegionChunks) & chunks) == 0)
            {
                list[kept++] = b;
                continue;
            }
            all.Remove(b.Pa);
            Drop(b);
            ref Block? slot = ref fast[(int)(b.Pa >> 2) & ((1 << FastBits) - 1)];
            if (ReferenceEquals(slot, b)) slot = null;
        }
        list.RemoveRange(kept, list.Count - kept);
        if (list.Count == 0) byPage.Remove(page);
    }

    /// <summary>
    /// Counts the drops: a successor slot copied its region's entry under one epoch, and a drop since (of any
    /// block) sends it back through its block's <see cref="Block.Dropped"/>.
    /// </summary>
    public uint Epoch { get; private set; }

    private void Drop(Block b)
    {
        b.Dropped = true;
        Epoch++;
    }

    public void Clear()
    {
        foreach (Block b in all.Values) Drop(b);
        Array.Clear(fast);
        all.Clear();
        byPage.Clear();
    }
}
