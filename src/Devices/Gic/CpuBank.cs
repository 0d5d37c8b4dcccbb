using Jit.Runtime.Interrupts;
using Jit.Runtime.SystemRegisters;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>
/// What the GIC keeps per vCPU: the banked SGI/PPI state of its redistributor, and its CPU interface (priority
/// mask, binary points, group enables, the stack of active priorities). Priorities have 5 bits (values with the
/// low three bits clear), as ICC_CTLR_EL1.PRIbits reports.
/// </summary>
[CompiledEarly]
internal sealed class CpuBank
{
    public const byte PriorityMask = 0xF8;

    private readonly GicV3 gic;
    public readonly int Index;
    public readonly InterruptState[] Private = new InterruptState[32];
    public IInterruptLine IrqOutput = UnconnectedLine.Instance;
    public readonly CpuInterfaceRegisters Interface;
    /// <summary>This redistributor's LPIs; null when the GIC has no guest memory to keep their tables in.</summary>
    public readonly RedistributorLpis? Lpis;

    public byte Pmr;
    public int Bpr0 = 2, Bpr1 = 3;
    public bool EoiMode, Cbpr, GroupEnable0, GroupEnable1;
    public bool ProcessorSleep = true;
    /// <summary>Group priorities of interrupts acknowledged and not yet dropped, innermost last.</summary>
    public readonly Stack<(byte Priority, int IntId)> ActivePriorities = new();
    private bool signalled;

    public CpuBank(GicV3 gic, int index)
    {
        this.gic = gic;
        Index = index;
        Interface = new CpuInterfaceRegisters(this);
        if (gic.LpiMemory is { } memory) Lpis = new RedistributorLpis(gic, memory, index);
        for (int i = 0; i < 16; i++) Private[i].Edge = true; // SGIs are always edge-triggered
    }

    public byte RunningPriority => ActivePriorities.Count == 0 ? GicV3.IdlePriority : ActivePriorities.Peek().Priority;

    private byte GroupPriority(byte priority) => (byte)(priority & (0xFF << Math.Max(Cbpr ? Bpr0 + 1 : Bpr1, 1)) & PriorityMask);

    /// <summary>The highest-priority pending, enabled, inactive Group 1 interrupt for this CPU, or −1.</summary>
    private int HighestPending(out byte priority)
    {
        int best = -1;
        priority = GicV3.IdlePriority;
        if (!gic.EnableGroup1 || !GroupEnable1) return -1;
        for (int i = 0; i < 32; i++) Consider(ref Private[i], i, ref best, ref priority);
        foreach (int i in EnabledSpis()) Consider(ref gic.Spis[i], i + 32, ref best, ref priority);
        if (Lpis is { Enabled: true } lpis && lpis.HighestPending(out byte lpiPriority) is var lpi && lpi >= 0
            && (best < 0 || lpiPriority < priority))
        {
            best = lpi;
            priority = lpiPriority;
        }
        return best;
    }

    // The SPIs that are enabled and routed here: a guest enables a handful of its 256 SPIs, and this list changes
    // only when an enable bit or a route does, so every delivery decision need not look at all of them.
    private int[]? enabledSpis;

    private int[] EnabledSpis()
    {
        if (enabledSpis is { } cached) return cached;
        var list = new List<int>();
        for (int i = 0; i < GicV3.SpiCount; i++)
            if (gic.Spis[i].Enabled && gic.Spis[i].Route == Index) list.Add(i);
        return enabledSpis = [.. list];
    }

    /// <summary>Called under the GIC lock when an SPI's enable bit or route changed.</summary>
    public void ForgetEnabledSpis() => enabledSpis = null;

    private static void Consider(ref InterruptState irq, int intid, ref int best, ref byte priority)
    {
        if (!irq.Enabled || !irq.Pending || irq.Active || !irq.Group1) return;
        if (best < 0 || irq.Priority < priority)
        {
            best = intid;
            priority = irq.Priority;
        }
    }

    /// <summary>Whether the interrupt <see cref="HighestPending"/> finds may preempt: below PMR and the running priority.</summary>
    private int Deliverable(out byte priority)
    {
        int intid = HighestPending(out priority);
        if (intid < 0 || priority >= Pmr || GroupPriority(priority) >= RunningPriority) return -1;
        return intid;
    }

    public void Update()
    {
        bool assert = Deliverable(out _) >= 0;
        if (assert == signalled) return;
        signalled = assert;
        IrqOutput.SetLevel(assert);
    }

    public int Acknowledge()
    {
        int intid = Deliverable(out byte priority);
        if (intid < 0) return GicV3.Spurious;
        if (intid >= RedistributorLpis.FirstLpi)
            Lpis!.ClearPending(intid); // LPIs have no active state
        else
        {
            ref InterruptState irq = ref gic.State(Index, intid);
            irq.PendingLatch = false;
            irq.Active = true;
        }
        ActivePriorities.Push((GroupPriority(priority), intid));
        Update();
        return intid;
    }

    public int HighestPendingId() => HighestPending(out _) is var id && id >= 0 ? id : GicV3.Spurious;

    public void EndOfInterrupt(int intid)
    {
        if (ActivePriorities.Count > 0) ActivePriorities.Pop();
        if (!EoiMode) Deactivate(intid);
        Update();
    }

    public void Deactivate(int intid)
    {
        if (intid >= GicV3.MaxIntId) return;
        gic.State(Index, intid).Active = false;
        gic.UpdateAfter(Index, intid);
    }

    public uint ActivePriorityBits()
    {
        uint bits = 0;
        foreach (var (p, _) in ActivePriorities) bits |= 1u << (p >> 3);
        return bits;
    }

    public object Gate => gic.Gate;
    public GicV3 Gic => gic;
}

/// <summary>ICC_*_EL1 of one CPU (GICv3 architecture specification, 12.2).</summary>
[CompiledEarly]
internal sealed class CpuInterfaceRegisters(CpuBank cpu) : IGicCpuInterface
{
    private static int Key(int crn, int crm, int op2) => SystemRegisterFile.Key(3, 0, crn, crm, op2);

    private static readonly int Pmr = Key(4, 6, 0);
    private static readonly int Iar0 = Key(12, 8, 0), Eoir0 = Key(12, 8, 1), Hppir0 = Key(12, 8, 2), Bpr0 = Key(12, 8, 3);
    private static readonly int Ap0r0 = Key(12, 8, 4), Ap0r3 = Key(12, 8, 7), Ap1r0 = Key(12, 9, 0), Ap1r3 = Key(12, 9, 3);
    private static readonly int Dir = Key(12, 11, 1), Rpr = Key(12, 11, 3), Sgi1r = Key(12, 11, 5), Asgi1r = Key(12, 11, 6), Sgi0r = Key(12, 11, 7);
    private static readonly int Iar1 = Key(12, 12, 0), Eoir1 = Key(12, 12, 1), Hppir1 = Key(12, 12, 2), Bpr1 = Key(12, 12, 3);
    private static readonly int Ctlr = Key(12, 12, 4), Sre = Key(12, 12, 5), Igrpen0 = Key(12, 12, 6), Igrpen1 = Key(12, 12, 7);

    public bool Read(int key, out ulong value)
    {
        lock (cpu.Gate)
        {
            value = 0;
            if (key == Pmr) value = cpu.Pmr;
            else if (key == Iar1) value = (ulong)cpu.Acknowledge();
            else if (key == Hppir1) value = (ulong)cpu.HighestPendingId();
            else if (key == Iar0 || key == Hppir0) value = GicV3.Spurious; // nothing is Group 0 here
            else if (key == Bpr0) value = (ulong)cpu.Bpr0;
            else if (key == Bpr1) value = (ulong)(cpu.Cbpr ? Math.Min(cpu.Bpr0 + 1, 7) : cpu.Bpr1);
            else if (key == Rpr) value = cpu.RunningPriority;
            else if (key == Ap1r0) value = cpu.ActivePriorityBits();
            else if (key >= Ap0r0 && key <= Ap0r3 || key > Ap1r0 && key <= Ap1r3) value = 0;
            // PRIbits = 4 (5 bits), IDbits = 0 (16-bit INTIDs), A3V = 0, SEIS = 0.
            else if (key == Ctlr) value = (4UL << 8) | (cpu.EoiMode ? 2UL : 0) | (cpu.Cbpr ? 1UL : 0);
            else if (key == Sre) value = 7; // SRE, DFB, DIB: system registers only
            else if (key == Igrpen0) value = cpu.GroupEnable0 ? 1UL : 0;
            else if (key == Igrpen1) value = cpu.GroupEnable1 ? 1UL : 0;
            else return false; // write-only registers (EOIR, DIR, SGI*R) and unknown keys are UNDEFINED to read
            return true;
        }
    }

    public bool Write(int key, ulong value)
    {
        lock (cpu.Gate)
        {
            if (key == Pmr) { cpu.Pmr = (byte)(value & CpuBank.PriorityMask); cpu.Update(); }
            else if (key == Eoir1) cpu.EndOfInterrupt((int)(value & 0xFFFFFF));
            else if (key == Dir) cpu.Deactivate((int)(value & 0xFFFFFF));
            else if (key == Sgi1r) cpu.Gic.SendSgi(cpu.Index, value);
            else if (key == Asgi1r || key == Sgi0r || key == Eoir0)
                Jit.Runtime.Log.Once("gic-group0", "GIC: Group 0 SGI/EOI ignored (this GIC delivers Group 1 only)");
            else if (key == Bpr0) { cpu.Bpr0 = (int)Math.Max(value & 7, 2); cpu.Update(); }
            else if (key == Bpr1) { if (!cpu.Cbpr) cpu.Bpr1 = (int)Math.Max(value & 7, 3); cpu.Update(); }
            else if (key == Ap1r0 || key >= Ap0r0 && key <= Ap0r3 || key > Ap1r0 && key <= Ap1r3)
            {
                // Software only writes back what it saved, or zero at start-up: zero clears the active priorities.
                if (value == 0 && key == Ap1r0) cpu.ActivePriorities.Clear();
                cpu.Update();
            }
            else if (key == Ctlr) { cpu.EoiMode = (value & 2) != 0; cpu.Cbpr = (value & 1) != 0; }
            else if (key == Sre) { }
            else if (key == Igrpen0) cpu.GroupEnable0 = (value & 1) != 0;
            else if (key == Igrpen1) { cpu.GroupEnable1 = (value & 1) != 0; cpu.Update(); }
            else return false;
            return true;
        }
    }
}
