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
    // One table per vCPU: each hook runs on its own vCPU's thread only.
    private readonly List<Dictionary<ulong, BlockEntries>> tables = [];

    /// <summary>Hooks each of <paramref name="vcpus"/>; call before they run.</summary>
    public void Attach(IEnumerable<Vcpu> vcpus)
    {
        foreach (var v in vcpus)
        {
            var table = new Dictionary<ulong, BlockEntries>();
            tables.Add(table);
            v.Engine.BlockEntered = (va, pa) =>
            {
                ref BlockEntries e = ref CollectionsMarshal.GetValueRefOrAddDefault(table, pa, out bool seen);
                if (!seen) e.Va = va;
                e.Count++;
            };
        }
    }

    /// <summary>Every vCPU's counts added up, by physical address; read once the vCPUs have stopped.</summary>
    public Dictionary<ulong, BlockEntries> Total()
    {
        var total = new Dictionary<ulong, BlockEntries>();
        foreach (var table in tables)
            foreach (var (pa, e) in table)
            {
                ref BlockEntries t = ref CollectionsMarshal.GetValueRefOrAddDefault(total, pa, out bool seen);
                if (!seen) t.Va = e.Va;
                t.Count += e.Count;
            }
        return total;
    }
}
