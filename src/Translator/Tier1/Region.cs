using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;
using Jit.Runtime.Startup;

namespace Jit.Translator.Tier1;

/// <summary>
/// A hot block and the blocks it reaches by direct branches or fall-through within its page, compiled as one
/// method so loops run without returning to the dispatcher. Staying within one page keeps the virtual-to-
/// physical offset of every member equal to the entry's, so branch targets need no translation.
/// </summary>
[CompiledEarly]
public sealed class Region
{
    /// <summary>
    /// Blocks and instructions one region may hold: RyuJIT's cost grows faster than method size. Halving
    /// 24/320 to 12/160 took a boot to BOOT-OK from a median of 3.66 s to 3.38 s (8 interleaved runs each).
    /// </summary>
    public const int MaxBlocks = 12, MaxInstructions = 160;

    /// <summary>
    /// A successor entered less often than the entry divided by this stays out of the region: a side path that
    /// rarely runs costs RyuJIT as much as a hot one, and leaving through its exit's successor slot is cheap.
    /// </summary>
    public const ulong ColdFraction = 32;

    private Region(Block[] blocks, Block entry, ISingleInstruction? executor, RegisterHome registers)
    {
        Blocks = blocks;
        Entry = entry;
        Executor = executor;
        Registers = registers;
        foreach (var b in blocks) Chunks |= b.Chunks;
    }

    /// <summary>
    /// Runs, from inside the compiled code, the instructions tier 1 has no IL for (the owning vCPU's
    /// interpreter); null compiles only what tier 1 covers natively.
    /// </summary>
    public ISingleInstruction? Executor { get; }

    /// <summary>Where the compiled code keeps the guest's registers.</summary>
    public RegisterHome Registers { get; }

    /// <summary>How many leading instructions of <paramref name="b"/> this region compiles.</summary>
    public int Prefix(Block b) => BlockCompiler.CompilablePrefix(b.Insts, Executor is not null);

    /// <summary>Members in address order (the order the compiler lays them out).</summary>
    public Block[] Blocks { get; }
    public Block Entry { get; }
    /// <summary>The 64-byte chunks of the page any member occupies: a write to one drops the region.</summary>
    public ulong Chunks { get; }

    /// <summary>A region of <paramref name="entry"/> alone (no successor followed).</summary>
    public static Region Single(Block entry, ISingleInstruction? executor = null, RegisterHome registers = RegisterHome.Locals) =>
        new([entry], entry, executor, registers);

    /// <summary>
    /// Grows a region from <paramref name="entry"/> over successors that <paramref name="lookup"/> knows and that
    /// have run at least once, and not rarely compared with the entry (see <see cref="ColdFraction"/>): cold
    /// paths leave the region instead of making it bigger to compile.
    /// </summary>
    public static Region Form(Block entry, Func<ulong, Block?> lookup, ISingleInstruction? executor = null, RegisterHome registers = RegisterHome.Locals)
    {
        var probe = Single(entry, executor);
        var members = new List<Block> { entry };
        var seen = new HashSet<ulong> { entry.Pa };
        int instructions = entry.Insts.Length;
        ulong warm = Math.Max(1, entry.Executions / ColdFraction);
        for (int next = 0; next < members.Count && members.Count < MaxBlocks; next++)
        {
            Block b = members[next];
            foreach (ulong pa in probe.Successors(b))
            {
                if (!seen.Add(pa) || lookup(pa) is not { } s) continue;
                if (s.Executions < warm || probe.Prefix(s) == 0) continue;
                // A block with a region of its own (compiled or on its way) is left to it, since compiling its
                // code twice costs RyuJIT time, which is what a boot is short of; unless it leads back here,
                // for then it is part of a loop, and a loop split across regions pays a dispatch per iteration.
                if (s.Tier1State != Tier1State.Interpreted && !probe.Reaches(s, entry.Pa, lookup)) continue;
                if (instructions + s.Insts.Length > MaxInstructions || members.Count == MaxBlocks) break;
                members.Add(s);
                instructions += s.Insts.Length;
            }
        }
        members.Sort((a, b) => a.Pa.CompareTo(b.Pa));
        return new Region([.. members], entry, executor, registers);
    }

    /// <summary>Whether <paramref name="target"/> can be reached from <paramref name="from"/> through executed blocks of the page.</summary>
    private bool Reaches(Block from, ulong target, Func<ulong, Block?> lookup)
    {
        var seen = new HashSet<ulong> { from.Pa };
        var work = new Stack<Block>();
        work.Push(from);
        while (work.Count > 0 && seen.Count <= 4 * MaxBlocks)
        {
            foreach (ulong pa in Successors(work.Pop()))
            {
                if (pa == target) return true;
                if (seen.Add(pa) && lookup(pa) is { Executions: > 0 } next) work.Push(next);
            }
        }
        return false;
    }

    /// <summary>Physical addresses of the direct successors of <paramref name="b"/> in its own page.</summary>
    internal IEnumerable<ulong> Successors(Block b)
    {
        Inst[] insts = b.Insts;
        int n = Prefix(b);
        if (n < insts.Length) yield break; // it leaves at the first instruction tier 1 does not cover
        ulong page = b.Pa & ~0xFFFUL;
        ulong lastPa = b.Pa + 4UL * (ulong)(n - 1);
        ref readonly Inst last = ref insts[n - 1];
        ulong? taken = last.Op is Op.B or Op.BCond or Op.Cbz or Op.Cbnz or Op.Tbz or Op.Tbnz ? lastPa + last.Imm : null;
        // An instruction the executor runs may leave the region (an exception, a context change); it falls
        // through only when it completed, which an edge to the next member then serves.
        bool fallsThrough = last.Op is not (Op.B or Op.Bl or Op.Br or Op.Blr or Op.Ret or Op.Eret or Op.Svc or Op.Brk or Op.Hlt);
        if (taken is { } t && (t & ~0xFFFUL) == page) yield return t;
        ulong after = lastPa + 4;
        if (fallsThrough && (after & ~0xFFFUL) == page) yield return after;
    }
}

/// <summary>Executes one instruction outside tier 1's IL, on the vCPU thread that owns the region.</summary>
public interface ISingleInstruction
{
    /// <summary>
    /// Runs <paramref name="single"/> (a one-instruction block) at <paramref name="pc"/> with the guest state in
    /// <c>CpuState</c>, counting it in <c>Retired</c> if it retires. True: it completed and execution goes on
    /// at the next instruction. False: it left (exception, branch, context change, exit to the hypervisor);
    /// PC and the state are set and the region returns.
    /// </summary>
    bool ExecuteOne(Block single, ulong pc);

    /// <summary>
    /// Runs <paramref name="single"/>, an AdvSIMD data-processing instruction that reads and writes only vector
    /// registers and FPSR, with FP/SIMD already known to be enabled: nothing it needs is in the region's locals,
    /// so the region neither stores nor reloads them around the call, and it counts the instruction itself.
    /// False, with nothing changed, when the executor has no implementation (the region then runs it through
    /// <see cref="ExecuteOne"/>, which takes the Undefined exception).
    /// </summary>
    bool ExecuteVector(Block single);
}
