using Jit.Hypervisor.Statistics;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor;

/// <summary>
/// One vCPU's door to its domain's MMIO map. The map is shared by every vCPU, so it cannot count per vCPU
/// without atomics; each vCPU's MMU talks to its own port instead, which counts on the vCPU's thread.
/// </summary>
internal sealed class VcpuMmioPort(IMmioBus map, VcpuCounters counters) : IMmioBus
{
    public bool Read(ulong pa, int size, out ulong value)
    {
        counters.Mmio++;
        return map.Read(pa, size, out value);
    }

    public bool Write(ulong pa, int size, ulong value)
    {
        counters.Mmio++;
        return map.Write(pa, size, value);
    }
}
