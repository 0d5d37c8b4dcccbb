using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;
using Jit.Runtime.Timers;

namespace Jit.Runtime;

/// <summary>
/// The managed companion of one vCPU's <see cref="CpuState"/>: its memory view, generic timer and GIC CPU
/// interface, everything system-register accesses and exception entry may need besides the raw state.
/// </summary>
public sealed unsafe class Processor
{
    public CpuState* State { get; }
    public Mmu Mmu { get; }
    public GenericTimer Timer { get; }

    /// <summary>The GICv3 CPU interface; null on a machine without a GIC (ICC_* accesses are then UNDEFINED).</summary>
    public IGicCpuInterface? Gic { get; set; }

    public Processor(CpuState* state, Mmu mmu)
    {
        State = state;
        Mmu = mmu;
        Timer = new GenericTimer();
    }
}
