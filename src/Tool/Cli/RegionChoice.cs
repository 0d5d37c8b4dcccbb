using System.Globalization;
using Jit.Hypervisor.Tracing;
using Jit.Translator;
using Jit.Translator.Interpreter;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// Which blocks <c>jit disasm</c> shows, once the guest has stopped: the compiled blocks entered most often, or
/// the one at a guest address; or why there is none.
/// </summary>
internal sealed class RegionChoice
{
    /// <summary>Nothing compiled matches; the message says why, for the user.</summary>
    public sealed class NothingToShow(string message) : Exception(message);

    private readonly Dictionary<ulong, BlockEntries> entries;
    private readonly JitOptions jit;
    // By physical address, from every vCPU: each vCPU decodes and compiles its own copies.
    private readonly Dictionary<ulong, Block> decoded = [], compiled = [];

    /// <param name="blocks">Every vCPU's decoded blocks, read on (or after) their threads.</param>
    public RegionChoice(IEnumerable<Block> blocks, Dictionary<ulong, BlockEntries> entries, JitOptions jit)
    {
        this.entries = entries;
        this.jit = jit;
        foreach (var b in blocks)
        {
            decoded.TryAdd(b.Pa, b);
            if (Volatile.Read(ref b.Compiled) is not null) compiled.TryAdd(b.Pa, b);
        }
    }

    public List<Block> Hottest(int n)
    {
        if (compiled.Count == 0)
            throw new NothingToShow($"no block was compiled: none was entered more than {jit.Threshold} times (--jit threshold=N)");
        return [.. compiled.Values.OrderByDescending(b => entries.GetValueOrDefault(b.Pa).Count).ThenBy(b => b.Pa).Take(n)];
    }

    /// <summary>The compiled block that starts at, or else holds, guest virtual address <paramref name="va"/>.</summary>
    public Block At(ulong va)
    {
        // Blocks overlap (a loop's body is also the tail of the block that falls into it): a block that starts
        // there wins, then a compiled one, then the one entered most.
        ulong? pa = null;
        (bool Starts, bool Compiled, ulong Entries) best = default;
        bool overwritten = false;
        foreach (var (p, e) in entries)
        {
            if (!decoded.TryGetValue(p, out var b))
            {
                overwritten |= e.Va == va;
                continue;
            }
            if (va < e.Va || va >= e.Va + 4 * (ulong)b.Insts.Length) continue;
            var rank = (e.Va == va, compiled.ContainsKey(p), e.Count);
            if (pa is null || rank.CompareTo(best) > 0) (pa, best) = (p, rank);
        }
        if (pa is not { } found)
            throw new NothingToShow(overwritten
                ? $"no compiled code at 0x{va:x}: the guest ran a block there, but its code has since been overwritten"
                : $"no compiled code at 0x{va:x}: the guest never ran a block there");
        if (compiled.TryGetValue(found, out var block)) return block;
        ulong count = entries[found].Count;
        throw new NothingToShow(decoded[found].Tier1State == Tier1State.Rejected
            ? $"no compiled code at 0x{va:x}: tier 1 does not cover the first instruction of the block there (entered {Times(count)}, interpreted)"
            : $"no compiled code at 0x{va:x}: the block there was entered {Times(count)}, not more than the threshold of {jit.Threshold}");
    }

    private static string Times(ulong n) => n == 1 ? "once" : string.Create(CultureInfo.InvariantCulture, $"{n:N0} times");
}
