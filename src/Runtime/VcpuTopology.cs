namespace Jit.Runtime;

/// <summary>
/// The one place that knows how a domain's vCPUs are numbered and how many it may have; the GIC, the device
/// tree, PSCI, the command line and domain configurations all ask here.
/// </summary>
public static class VcpuTopology
{
    /// <summary>
    /// The most vCPUs a domain may have. All of them sit in one affinity-0 cluster, and 8 is what the GICv3 model,
    /// the generated device tree and the SMP tests (Linux on 1, 2 and 8 vCPUs) cover.
    /// </summary>
    public const int MaxVcpus = 8;

    /// <summary>MPIDR_EL1 of vCPU <paramref name="index"/>: bit 31 is RES1, Aff0 is the index, the other affinity levels zero.</summary>
    public static ulong Mpidr(int index) => (1UL << 31) | (uint)index;
}
