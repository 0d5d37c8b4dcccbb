using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>
/// A GICv3 with a single security state (GICD_CTLR.DS = 1, as a guest of KVM or Xen sees it): the distributor,
/// one redistributor and one system-register CPU interface per vCPU. SGIs 0–15 and PPIs 16–31 are banked per
/// redistributor, SPIs 32 and up are shared. Group 1 interrupts are signalled as IRQ; Group 0 would be FIQ,
/// which no guest of this platform uses, so they are logged and never delivered. Given the domain's memory,
/// it also has physical LPIs (INTIDs 8192–65535, GICD_TYPER.LPIS = 1): their configuration and pending tables
/// live in guest memory as each redistributor's GICR_PROPBASER/GICR_PENDBASER say, and an ITS
/// (<see cref="Its.GicIts"/>) or GICR_SETLPIR makes them pending.
/// </summary>
/// <remarks>
/// One lock guards all state: accesses come from every vCPU thread (MMIO, ICC_* registers) and from device
/// and timer threads (lines). After each change the IRQ output of each affected CPU is recomputed.
/// </remarks>
[CompiledEarly]
public sealed class GicV3
{
    public const int SpiCount = 256;
    public const int MaxIntId = 32 + SpiCount; // exclusive
    public const int Spurious = 1023;
    public const byte IdlePriority = 0xFF;

    internal readonly object Gate = new();
    internal readonly InterruptState[] Spis = new InterruptState[SpiCount];
    internal readonly CpuBank[] Cpus;
    internal bool EnableGroup0, EnableGroup1;

    public int CpuCount => Cpus.Length;
    public Distributor Distributor { get; }
    public Redistributors Redistributors { get; }

    /// <summary>The memory LPI tables are read from; null when this GIC has no LPIs.</summary>
    internal IGuestMemory? LpiMemory { get; }

    /// <summary>Whether the redistributors implement LPIs (GICD_TYPER.LPIS, GICR_TYPER.PLPIS).</summary>
    public bool LpisSupported => LpiMemory is not null;

    /// <param name="cpus">Number of vCPUs, each with its redistributor and CPU interface.</param>
    /// <param name="lpiMemory">The domain's memory, where the guest keeps its LPI configuration and pending
    /// tables; without it the GIC has no LPIs and no ITS can be attached.</param>
    public GicV3(int cpus, IGuestMemory? lpiMemory = null)
    {
        LpiMemory = lpiMemory;
        if (cpus is < 1 or > VcpuTopology.MaxVcpus) throw new ArgumentOutOfRangeException(nameof(cpus), $"1 to {VcpuTopology.MaxVcpus} vCPUs");
        Cpus = new CpuBank[cpus];
        for (int i = 0; i < cpus; i++) Cpus[i] = new CpuBank(this, i);
        for (int i = 0; i < SpiCount; i++) Spis[i].Route = 0;
        Distributor = new Distributor(this);
        Redistributors = new Redistributors(this);
    }

    /// <summary>The IRQ output towards vCPU <paramref name="cpu"/> (wired by the hypervisor to its CpuState).</summary>
    public void ConnectCpu(int cpu, IInterruptLine irq) => Cpus[cpu].IrqOutput = irq;

    public IGicCpuInterface CpuInterface(int cpu) => Cpus[cpu].Interface;

    /// <summary>The input of PPI <paramref name="intid"/> (16–31) at vCPU <paramref name="cpu"/>.</summary>
    public IInterruptLine PpiLine(int cpu, int intid)
    {
        if (intid is < 16 or > 31) throw new ArgumentOutOfRangeException(nameof(intid), "PPIs are 16..31");
        return new Line(this, cpu, intid);
    }

    /// <summary>The input of SPI <paramref name="intid"/> (32 and up).</summary>
    public IInterruptLine SpiLine(int intid)
    {
        if (intid < 32 || intid >= MaxIntId) throw new ArgumentOutOfRangeException(nameof(intid), $"SPIs are 32..{MaxIntId - 1}");
        return new Line(this, -1, intid);
    }

    private sealed class Line(GicV3 gic, int cpu, int intid) : IInterruptLine
    {
        public void SetLevel(bool asserted)
        {
            lock (gic.Gate)
            {
                ref InterruptState irq = ref gic.State(cpu < 0 ? 0 : cpu, intid);
                if (irq.Level == asserted) return;
                irq.Level = asserted;
                // An edge-triggered interrupt latches on the rising edge; a level one follows the line.
                if (asserted && irq.Edge) irq.PendingLatch = true;
                gic.UpdateAfter(cpu < 0 ? irq.Route : cpu, intid);
            }
        }
    }

    /// <summary>The state of <paramref name="intid"/> as seen from <paramref name="cpu"/> (banked below 32).</summary>
    internal ref InterruptState State(int cpu, int intid) =>
        ref intid < 32 ? ref Cpus[cpu].Private[intid] : ref Spis[intid - 32];

    internal int TargetOf(int cpu, int intid) => intid < 32 ? cpu : Spis[intid - 32].Route;

    /// <summary>Recomputes the IRQ outputs after <paramref name="intid"/> changed (all CPUs for SPIs).</summary>
    internal void UpdateAfter(int cpu, int intid)
    {
        if (intid < 32) Cpus[cpu].Update();
        else UpdateAll();
    }

    /// <summary>An SPI's enable bit or route changed: the CPUs' lists of candidate SPIs are stale.</summary>
    internal void SpiEnablesOrRoutesChanged()
    {
        foreach (var c in Cpus) c.ForgetEnabledSpis();
    }

    internal void UpdateAll()
    {
        foreach (var c in Cpus) c.Update();
    }

    // What an ITS asks of the redistributors (the ITS forwards translated LPIs to them, and INV,
    // INVALL, MOVI, MOVALL, CLEAR act on their pending state and cached configuration). Each takes the GIC lock.

    /// <summary>Makes LPI <paramref name="intid"/> pending at redistributor <paramref name="cpu"/>; false when it
    /// cannot hold it (LPIs disabled there, or beyond its GICR_PROPBASER.IDbits): the LPI is dropped.</summary>
    internal bool SetLpiPending(int cpu, int intid)
    {
        lock (Gate)
        {
            if (Cpus[cpu].Lpis?.SetPending(intid) != true) return false;
            Cpus[cpu].Update();
            return true;
        }
    }

    internal void ClearLpiPending(int cpu, int intid)
    {
        lock (Gate)
            if (Cpus[cpu].Lpis?.ClearPending(intid) == true) Cpus[cpu].Update();
    }

    /// <summary>MOVI: the pending state follows the interrupt to its new collection's redistributor.</summary>
    internal void MoveLpi(int from, int to, int intid)
    {
        lock (Gate)
        {
            if (from == to || Cpus[from].Lpis?.ClearPending(intid) != true) return;
            Cpus[to].Lpis?.SetPending(intid);
            Cpus[from].Update();
            Cpus[to].Update();
        }
    }

    /// <summary>MOVALL: every LPI pending at <paramref name="from"/> becomes pending at <paramref name="to"/>.</summary>
    internal void MoveAllLpis(int from, int to)
    {
        lock (Gate)
        {
            if (from == to || Cpus[from].Lpis is not { } source || Cpus[to].Lpis is not { } target) return;
            source.MoveAllTo(target);
            Cpus[from].Update();
            Cpus[to].Update();
        }
    }

    /// <summary>INV: re-read LPI <paramref name="intid"/>'s configuration byte at <paramref name="cpu"/>.</summary>
    internal void InvalidateLpi(int cpu, int intid)
    {
        lock (Gate)
        {
            Cpus[cpu].Lpis?.Reload(intid);
            UpdateAll(); // the table is shared: the LPI may be pending elsewhere
        }
    }

    /// <summary>INVALL: re-read the whole configuration table at <paramref name="cpu"/>.</summary>
    internal void InvalidateAllLpis(int cpu)
    {
        lock (Gate)
        {
            Cpus[cpu].Lpis?.ReloadAll();
            UpdateAll();
        }
    }

    /// <summary>Generates SGI <paramref name="intid"/> from <paramref name="source"/> per ICC_SGI1R_EL1 (D17 / GICv3 12.2.21).</summary>
    internal void SendSgi(int source, ulong value)
    {
        int intid = (int)((value >> 24) & 0xF);
        bool all = ((value >> 40) & 1) != 0;
        ulong targets = value & 0xFFFF;
        uint aff1 = (uint)(value >> 16) & 0xFF, aff2 = (uint)(value >> 32) & 0xFF, aff3 = (uint)(value >> 48) & 0xFF;
        int rangeSelector = (int)((value >> 44) & 0xF);
        for (int cpu = 0; cpu < Cpus.Length; cpu++)
        {
            bool hit;
            if (all) hit = cpu != source;
            else
            {
                // vCPU n has affinity 0.0.0.n.
                int aff0 = cpu;
                hit = aff1 == 0 && aff2 == 0 && aff3 == 0 && aff0 / 16 == rangeSelector && ((targets >> (aff0 % 16)) & 1) != 0;
            }
            if (!hit) continue;
            Cpus[cpu].Private[intid].PendingLatch = true;
            Cpus[cpu].Update();
        }
    }

    private readonly List<LpiConfigurationTable> lpiConfigurationTables = [];

    /// <summary>The cache of the configuration table at <paramref name="address"/>, one for all redistributors
    /// that name it with the same size (called under the lock when a redistributor enables its LPIs).</summary>
    internal LpiConfigurationTable SharedLpiConfiguration(ulong address, int lpis)
    {
        foreach (var t in lpiConfigurationTables)
            if (t.Address == address && t.Count == lpis) return t;
        var table = new LpiConfigurationTable(LpiMemory!, address, lpis);
        lpiConfigurationTables.Add(table);
        return table;
    }
}

/// <summary>Per-interrupt state. Pending is the latch (edges, ISPENDR, SGIs) or, for level-sensitive ones, the line.</summary>
internal struct InterruptState
{
    public bool Enabled, PendingLatch, Level, Active, Group1, Edge;
    public byte Priority;
    /// <summary>For SPIs: the index of the vCPU that IROUTER selects.</summary>
    public int Route;
    public ulong RouterValue;

    public readonly bool Pending => PendingLatch || (!Edge && Level);
}
