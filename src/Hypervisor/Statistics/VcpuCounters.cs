using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Statistics;

/// <summary>
/// What the hypervisor counts for one vCPU: exits by kind, SMCCC calls by owner, and the bytes its thread
/// allocated while running the guest.
/// </summary>
/// <remarks>
/// Plain fields written only by the vCPU's own thread, as <see cref="Runtime.CpuCounters"/> are; observers
/// (the <c>--stats</c> report, the <c>Jit</c> meter) read them racily.
/// </remarks>
public sealed class VcpuCounters
{
    /// <summary>HVC instructions, SMCCC or not.</summary>
    public ulong Hvc;
    /// <summary>SMC instructions.</summary>
    public ulong Smc;
    /// <summary>Accesses that reached the domain's MMIO map, claimed by a device or not.</summary>
    public ulong Mmio;
    /// <summary>WFI/WFE exits to the run loop.</summary>
    public ulong Wfi;
    /// <summary>System-register accesses the hypervisor emulates: the GIC CPU interface (ICC_*_EL1).</summary>
    public ulong SysReg;
    /// <summary>Returns to the run loop for anything else: halt and stop requests, instruction budget.</summary>
    public ulong Other;
    /// <summary>Bytes the vCPU's thread allocated inside <see cref="Vcpu.Run"/>: the hot path should add none.</summary>
    public long AllocatedBytes;

    private readonly ulong[] smccc = new ulong[SmcccOwners.Slots];

    /// <summary>SMCCC calls (HVC #0 or SMC) by <see cref="SmcccOwners"/> slot.</summary>
    public ReadOnlySpan<ulong> Smccc => smccc;

    internal void CountSmccc(in SmcccCall call) => smccc[SmcccOwners.Slot(in call)]++;
}
