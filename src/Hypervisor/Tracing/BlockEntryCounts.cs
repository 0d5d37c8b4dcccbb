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
        foreach (var v in vcpus)
        {
            var table = new Dictionary<ulong, Counter>();
            tables.Add(table);
            // A hot loop enters the same block again and again: the last counter saves the lookup.
            ulong lastPa = ulong.MaxValue;
            var last = new Counter();
            v.Engine.BlockEntered = (va, pa) =>
            {
                if (pa != lastPa)
                {
                    ref Counter? c = ref CollectionsMarshal.GetValueRefOrAddDefault(table, pa, out _);
                    c ??= new Counter { Va = va };
                    (lastPa, last) = (pa, c);
                }
                last.Count++;
            };
        }
    }

    /// <summary>Every vCPU's counts added up, by physical address; read once the vCPUs have stopped.</summary>
    public Dictionary<ulong, BlockEntries> Total()
    {
        var total = new Dictionary<ulong, BlockEntries>();
        foreach (var table in tables)
            foreach (var (pa, c) in table)
            {
                ref BlockEntries t = ref CollectionsMarshal.GetValueRefOrAddDefault(total, pa, out bool seen);
                if (!seen) t.Va = c.Va;
                t.Count += c.Count;
            }
        return total;
    }
}
