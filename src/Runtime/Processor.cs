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

    /// <summary>
    /// The self-hosted debug registers: 6 breakpoints and 4 watchpoints as ID_AA64DFR0_EL1 reports, indexed by
    /// the register number n of DBGB{V,C}Rn_EL1/DBGW{V,C}Rn_EL1. They hold what software writes; breakpoints
    /// and watchpoints do not fire yet.
    /// </summary>
    public ulong[] BreakpointValue { get; } = new ulong[6];
    public ulong[] BreakpointControl { get; } = new ulong[6];
    public ulong[] WatchpointValue { get; } = new ulong[4];
    public ulong[] WatchpointControl { get; } = new ulong[4];
    /// <summary>OSLSR_EL1.OSLK: the OS lock, set at reset (D2.5).</summary>
    public bool OsLock { get; set; } = true;
    public ulong OsDoubleLock { get; set; }
    public ulong MdccintEl1 { get; set; }
    public ulong CsselrEl1 { get; set; }
    public ulong Afsr0 { get; set; }
    public ulong Afsr1 { get; set; }

    /// <summary>
    /// Sends a TLB invalidation to every other vCPU of the domain (TLBI …IS), which applies it from its
    /// <see cref="RemoteTlbInvalidations"/> before it runs another block. Set by the hypervisor; without it
    /// this is a uniprocessor and broadcasts have nobody to reach.
    /// </summary>
    public Action<TlbInvalidation>? BroadcastTlbInvalidation { get; set; }

    /// <summary>Invalidations other vCPUs' TLBI …IS queued for this one (see <see cref="ExitRequests.FlushTlb"/>).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<TlbInvalidation> RemoteTlbInvalidations { get; } = new();

    /// <summary>The GICv3 CPU interface; null on a machine without a GIC (ICC_* accesses are then UNDEFINED).</summary>
    public IGicCpuInterface? Gic { get; set; }

    /// <param name="counter">The domain's system counter; the host's clock by default.</param>
    public Processor(CpuState* state, Mmu mmu, SystemCounter? counter = null)
    {
        State = state;
        Mmu = mmu;
        Timer = new GenericTimer(counter);
    }
}
