using System.Runtime.InteropServices;

namespace Jit.Hypervisor.Tracing;

/// <summary>How often a block was entered, and the first virtual address it was entered at.</summary>
public struct BlockEntries
{
    public ulong Va;
    public ulong Count;
}

/// <summary>
/// Counts block entries by guest-physical address through each vCPU's exec hook. The engine's own counter
/// stops once a block is compiled, so it cannot rank compiled blocks; this one counts every entry.
/// </summary>
public sealed class BlockEntryCounts
{
    private sealed class Counter
    {
        public ulong Va;
        public ulong Count;
    }

    // One table per vCPU: each hook runs on its own vCPU's thread only.
    private readonly List<Dictionary<ulong, Counter>> tables = [];

    /// <summary>Hooks each of <paramref name="vcpus"/>; call before they run.</summary>
    public void Attach(IEnumerable<Vcpu> vcpus)
    {
        foreach (var v in vcpus) v.Engine.BlockEntered = Hook(v.Engine.BlockEntered);
    }

    /// <summary>
    /// A block-entry hook for one vCPU that counts into a table of its own, then calls
    /// <paramref name="previous"/> (a trace already hooked there) if any. Install it on that vCPU's thread.
    /// </summary>
    public Action<ulong, ulong> Hook(Action<ulong, ulong>? previous)
    {
        var table = new Dictionary<ulong, Counter>();
        lock (tables) tables.Add(table);
        // A hot loop enters the same block again and again: the last counter saves the lookup.
        ulong lastPa = ulong.MaxValue;
        var last = new Counter();
        return (va, pa) =>
        {
            if (pa != lastPa)
            {
                ref Counter? c = ref CollectionsMarshal.GetValueRefOrAddDefault(table, pa, out _);
                c ??= new Counter { Va = va };
                (lastPa, last) = (pa, c);
            }
            last.Count++;
            previous?.Invoke(va, pa);
        };
    }

    /// <summary>Every vCPU's counts added up, by physical address; read once the hooks no longer run.</summary>
    public Dictionary<ulong, BlockEntries> Total()
    {
        var total = new Dictionary<ulong, BlockEntries>();
        List<Dictionary<ulong, Counter>> all;
        lock (tables) all = [.. tables];
        foreach (var table in all)
            foreach (var (pa, c) in table)
            {
                ref BlockEntries t = ref CollectionsMarshal.GetValueRefOrAddDefault(total, pa, out bool seen);
                if (!seen) t.Va = c.Va;
                t.Count += c.Count;
            }
        return total;
    }
}
