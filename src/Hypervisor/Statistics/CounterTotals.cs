using Jit.Runtime;

namespace Jit.Hypervisor.Statistics;

/// <summary>Exits by kind, summed over vCPUs. IRQs are the ones the guest took, counted by the core.</summary>
public readonly record struct ExitCounts(ulong Hvc, ulong Smc, ulong Mmio, ulong Wfi, ulong Irq, ulong SysReg, ulong Other)
{
    /// <summary>The kinds with the names the report, the JSON and the meter's "kind" tag use.</summary>
    public IEnumerable<(string Kind, ulong Count)> ByKind =>
    [
        ("hvc", Hvc), ("smc", Smc), ("mmio", Mmio), ("wfi", Wfi), ("irq", Irq), ("sysreg", SysReg), ("other", Other),
    ];

    public static ExitCounts operator +(ExitCounts a, ExitCounts b) => new(
        a.Hvc + b.Hvc, a.Smc + b.Smc, a.Mmio + b.Mmio, a.Wfi + b.Wfi, a.Irq + b.Irq, a.SysReg + b.SysReg, a.Other + b.Other);
}

/// <summary>
/// The per-vCPU counters of a set of vCPUs, summed: what <c>--stats</c> reports at the end of a run and what
/// the <c>Jit</c> meter reports while it runs. Taken racily from running vCPUs, so each figure may be a few
/// events behind; never taken from a disposed vCPU.
/// </summary>
public sealed record CounterTotals(
    ulong Instructions, ExitCounts Exits, ulong TlbMisses, ulong BlockLookups, long BlocksDecoded, long AllocatedBytes, ulong[] Smccc)
{
    public static readonly CounterTotals Zero = new(0, default, 0, 0, 0, 0, new ulong[SmcccOwners.Slots]);

    public static CounterTotals Of(IEnumerable<Vcpu> vcpus)
    {
        var total = Zero with { Smccc = new ulong[SmcccOwners.Slots] };
        foreach (var v in vcpus) total = total.Add(Of(v));
        return total;
    }

    public static CounterTotals Of(Vcpu v)
    {
        CpuCounters cpu = v.CpuCounters;
        VcpuCounters c = v.Counters;
        return new CounterTotals(
            v.Retired,
            new ExitCounts(c.Hvc, c.Smc, c.Mmio, c.Wfi, cpu.IrqsTaken, c.SysReg, c.Other),
            cpu.TlbMisses,
            cpu.BlockLookups,
            v.Engine.BlocksDecoded,
            c.AllocatedBytes,
            c.Smccc.ToArray());
    }

    public CounterTotals Add(CounterTotals other)
    {
        var smccc = new ulong[SmcccOwners.Slots];
        for (int i = 0; i < smccc.Length; i++) smccc[i] = Smccc[i] + other.Smccc[i];
        return new CounterTotals(Instructions + other.Instructions, Exits + other.Exits, TlbMisses + other.TlbMisses,
            BlockLookups + other.BlockLookups, BlocksDecoded + other.BlocksDecoded, AllocatedBytes + other.AllocatedBytes, smccc);
    }

    /// <summary>SMCCC calls by the report's owner groups (<see cref="SmcccOwners.Groups"/>), every group listed.</summary>
    public IEnumerable<(string Owner, ulong Calls)> SmcccByOwner => SmcccOwners.ByGroup(Smccc);
}
