using Jit.Hypervisor.Statistics;
using Jit.Runtime.Interrupts;

namespace Jit.Hypervisor;

/// <summary>
/// One vCPU's GIC CPU interface as the hypervisor emulates it: every ICC_*_EL1 access is a system-register
/// access the hypervisor handles, and is counted as one.
/// </summary>
internal sealed class VcpuGicPort(IGicCpuInterface cpu, VcpuCounters counters) : IGicCpuInterface
{
    public bool Read(int key, out ulong value)
    {
        counters.SysReg++;
        return cpu.Read(key, out value);
    }

    public bool Write(int key, ulong value)
    {
        counters.SysReg++;
        return cpu.Write(key, value);
    }
}
