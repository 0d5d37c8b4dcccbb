using System.Collections.Concurrent;
using Jit.Hypervisor.Smccc;
using Jit.Hypervisor.Xen;
using Jit.Hypervisor.Statistics;
using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;
using Jit.Runtime.Timers;
using Jit.Translator;
using Jit.Runtime.Startup;

namespace Jit.Hypervisor;

/// <summary>Why <see cref="Vcpu.Run"/> returned.</summary>
public enum VcpuExit
{
    /// <summary>The domain shut down; <see cref="Domain.ShutdownRequest"/> says why.</summary>
    Shutdown,
    /// <summary>This vCPU turned itself off with PSCI CPU_OFF while others still run.</summary>
    PoweredOff,
    /// <summary>Someone called <see cref="Domain.Stop"/> (Ctrl-C, a timeout, the toolstack).</summary>
    Stopped,
    /// <summary>The instruction budget given to <see cref="Vcpu.Run"/> is used up.</summary>
    InstructionLimit,
    /// <summary>
    /// In instruction-count time, the vCPU waits for an interrupt (WFI) with no timer armed and no input that
    /// could come: it would wait forever.
    /// </summary>
    Idle,
}

/// <summary>
/// One virtual CPU: its architectural state, its view of memory and the engine that executes it, plus the run
/// loop that takes the engine's exits, handles them and re-enters, as a KVM_RUN loop does.
/// </summary>
/// <remarks>
/// HVC and SMC do not leave the engine: it calls <see cref="IHypervisorCalls"/> on this object, which hands
/// the call to the domain's SMCCC dispatcher and writes the results straight back into the registers.
/// </remarks>
[CompiledEarly]
public sealed unsafe class Vcpu : IHypervisorCalls, IDisposable
{
    /// <summary>SCTLR_EL1 at reset: its RES1 bits (D17.2.118), MMU and caches off.</summary>
    public const ulong SctlrEl1Reset = 0x30D0_0800;

    private readonly Domain domain;
    private CpuState* state;
    // Set by RequestExit so a vCPU parked on WFI notices the request without polling.
    private readonly ManualResetEventSlim wake = new(false);
    private readonly ConcurrentQueue<Action> posted = new();

    internal Vcpu(Domain domain, int id)
    {
        this.domain = domain;
        Id = id;
        state = CpuState.Allocate();
        Mmu = new Mmu(state, domain.Memory, new VcpuMmioPort(domain.Mmio, Counters));
        Processor = new Processor(state, Mmu, domain.Counter);
        if (domain.Counter is InstructionCounter icount)
        {
            icount.Bind(state);
            icount.Replan = () => RequestExit(ExitRequests.Yield);
        }
        Processor.Timer.Fired += () => wake.Set();
        if (domain.Counter is not InstructionCounter)
        {
            // Early (see DeadlineSliceInstructions): the vCPU leaves its slice and watches the deadline itself.
            Processor.Timer.AlarmLead = AlarmLeadTicks;
            Processor.Timer.AlarmExpired = () => RequestExit(DeadlineIsNear() ? ExitRequests.Yield : ExitRequests.TimerCheck);
        }
        Engine = new Engine(Processor, this);
        IrqInput = new IrqLine(this);
        power = id == 0 ? (int)VcpuPowerState.On : (int)VcpuPowerState.Off;
        Reset(0);
    }

    /// <summary>The interrupt controller's IRQ output towards this vCPU: sets the CPU's IRQ input and wakes it from WFI.</summary>
    public IInterruptLine IrqInput { get; }

    private sealed class IrqLine(Vcpu vcpu) : IInterruptLine
    {
        public void SetLevel(bool asserted)
        {
            if (vcpu.state == null) return;
            // The level first, then the CPU's input: Reset restores the input from the level (see there).
            Volatile.Write(ref vcpu.irqLevel, asserted ? 1 : 0);
            Volatile.Write(ref vcpu.state->IrqPending, asserted ? 1 : 0);
            if (asserted) vcpu.wake.Set();
        }
    }

    // The interrupt controller's last level on IrqInput. The controller signals only changes, so an input lost
    // once would stay lost: a vCPU waiting for its interrupt would wait for ever.
    private int irqLevel;

    public int Id { get; }
    public CpuState* State => state;

    /// <summary>Exits, SMCCC calls and allocations of this vCPU; the core's own counts are in <see cref="CpuCounters"/>.</summary>
    public VcpuCounters Counters { get; } = new();

    /// <summary>The core's counts (TLB misses, IRQs taken); zero after disposal.</summary>
    public CpuCounters CpuCounters => state == null ? default : state->Counters;

    /// <summary>Connects the vCPU's GIC CPU interface, so that its ICC_*_EL1 accesses reach it and are counted.</summary>
    public void ConnectGic(IGicCpuInterface cpu) => Processor.Gic = new VcpuGicPort(cpu, Counters);

    public Mmu Mmu { get; }
    public Processor Processor { get; }
    public Engine Engine { get; }

    private int power;
    public VcpuPowerState Power => (VcpuPowerState)Volatile.Read(ref power);

    /// <summary>MPIDR_EL1, as <see cref="VcpuTopology"/> numbers the vCPUs of a domain.</summary>
    public ulong Mpidr => VcpuTopology.Mpidr(Id);

    /// <summary>The guest PC, for error messages; null-safe after disposal.</summary>
    public ulong PcForDiagnostics => state == null ? 0 : state->PC;

    /// <summary>A one-paragraph dump of the architectural state, for diagnosing a guest that went astray.</summary>
    public string Describe()
    {
        var s = state;
        var sb = new System.Text.StringBuilder();
        sb.Append($"vCPU {Id} ({Power}): PC={s->PC:x16} EL{s->EL}{(s->SPSel != 0 ? "h" : "t")} NZCV={s->Nzcv >> 28:x} DAIF={s->Daif >> 6:x} retired={s->Retired:N0}\n");
        sb.Append($"  SCTLR={s->SctlrEl1:x} TCR={s->TcrEl1:x} TTBR0={s->Ttbr0El1:x} TTBR1={s->Ttbr1El1:x} VBAR={s->VbarEl1:x}\n");
        sb.Append($"  ESR={s->EsrEl1:x} ELR={s->ElrEl1:x} FAR={s->FarEl1:x} SPSR={s->SpsrEl1:x} IRQ={s->IrqPending} level={irqLevel} exit-request={s->ExitRequest:x}\n");
        var t = Processor.Timer;
        sb.Append($"  CNTV_CTL={t.VirtualControl:x} CNTV_CVAL={t.VirtualCompare:x} CNTP_CTL={t.PhysicalControl:x} CNTP_CVAL={t.PhysicalCompare:x} counter={t.Counter:x} overdue={t.Overdue}\n");
        for (int r = 0; r < 32; r++) sb.Append($"  x{r}={s->X[r]:x}").Append(r % 4 == 3 ? "\n" : "");
        return sb.ToString();
    }

    /// <summary>The kernel task ID of the host thread that runs it (for its CPU time), 0 until it runs.</summary>
    public int HostThreadId { get; internal set; }

    /// <summary>Whether the vCPU waits in WFI now (xl's "blocked").</summary>
    public bool Blocked { get; private set; }

    /// <summary>Guest instructions this vCPU has retired.</summary>
    public ulong Retired => state->Retired;

    /// <summary>
    /// The state a bare-metal program or a kernel is entered with: EL1h, DAIF masked, MMU off, every
    /// general-purpose register zero.
    /// </summary>
    public void Reset(ulong pc)
    {
        ulong retired = state->Retired;
        var counters = state->Counters;
        *state = default;
        state->Retired = retired;
        state->Counters = counters;
        // Another thread may change the level meanwhile (CPU_ON runs on the caller's thread). Copying IrqPending
        // across the clear could put back a level older than one set in between; the input is set from the level
        // instead, again until the level held still across the write, so the last write is never a stale one.
        int level;
        do
        {
            level = Volatile.Read(ref irqLevel);
            Volatile.Write(ref state->IrqPending, level);
        }
        while (Volatile.Read(ref irqLevel) != level);
        state->PC = pc;
        state->EL = 1;
        state->SPSel = 1;
        state->Daif = 0x3C0;
        state->SctlrEl1 = SctlrEl1Reset;
        state->Mpidr = Mpidr;
    }

    /// <summary>Ends a wait in WFI so the vCPU looks at its state again.</summary>
    internal void Wake() => wake.Set();

    /// <summary>Makes the engine leave at its next check; callable from any thread, including signal handlers.</summary>
    public void RequestExit(int requests)
    {
        Interlocked.Or(ref state->ExitRequest, requests);
        wake.Set();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this vCPU's thread at its next stop between blocks, or in its next wait,
    /// where the engine's block cache and hooks may be read and changed; callable from any thread. Work must
    /// not throw. Nothing runs it once the domain has stopped: the poster waits with a time limit.
    /// </summary>
    public void Post(Action work)
    {
        posted.Enqueue(work);
        RequestExit(ExitRequests.Service);
    }

    private bool ServiceRequested => (Volatile.Read(ref state->ExitRequest) & ExitRequests.Service) != 0;

    private void RunPosted()
    {
        Interlocked.And(ref state->ExitRequest, ~ExitRequests.Service);
        while (posted.TryDequeue(out var work)) work();
    }

    internal void PowerOff()
    {
        Volatile.Write(ref power, (int)VcpuPowerState.Off);
        RequestExit(ExitRequests.Halt);
    }

    /// <summary>
    /// PSCI CPU_ON: enters the guest at <paramref name="entry"/> with X0 = <paramref name="context"/>, EL1h,
    /// MMU off, DAIF masked (PSCI 1.1, 6.4). False when the vCPU is not off.
    /// </summary>
    internal bool PowerOn(ulong entry, ulong context)
    {
        if (Interlocked.CompareExchange(ref power, (int)VcpuPowerState.OnPending, (int)VcpuPowerState.Off) != (int)VcpuPowerState.Off)
            return false;
        Reset(entry);
        state->X[0] = context;
        // The vCPU's thread is parked while it is off, so its caches can be cleared from here.
        Engine.FlushTranslations();
        Mmu.Tlb.Flush();
        Volatile.Write(ref power, (int)VcpuPowerState.On);
        wake.Set();
        return true;
    }

    /// <summary>A secondary vCPU's thread: waits for CPU_ON, runs until CPU_OFF, and again, until the domain ends.</summary>
    internal void RunSecondary()
    {
        while (true)
        {
            while (Power != VcpuPowerState.On)
            {
                wake.Reset();
                if (domain.ShutdownRequest is not null || (Volatile.Read(ref state->ExitRequest) & ExitRequests.Stop) != 0) return;
                if (ServiceRequested) RunPosted();
                if (Power == VcpuPowerState.On) break;
                wake.Wait();
            }
            Interlocked.And(ref state->ExitRequest, ~ExitRequests.Halt);
            var exit = Run();
            if (exit is VcpuExit.Shutdown or VcpuExit.Stopped) return;
        }
    }

    /// <summary>Runs this vCPU on the calling thread until an exit the hypervisor cannot resolve by itself.</summary>
    public VcpuExit Run(ulong maxInstructions = ulong.MaxValue)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            return RunLoop(maxInstructions);
        }
        finally
        {
            Counters.AllocatedBytes += GC.GetAllocatedBytesForCurrentThread() - allocated;
        }
    }

    private VcpuExit RunLoop(ulong maxInstructions)
    {
        ulong start = state->Retired;
        var icount = domain.Counter as InstructionCounter;
        while (true)
        {
            if (domain.ShutdownRequest is not null) return VcpuExit.Shutdown;
            if (Power == VcpuPowerState.Off) return VcpuExit.PoweredOff;
            if ((Volatile.Read(ref state->ExitRequest) & ExitRequests.Stop) != 0) return VcpuExit.Stopped;
            if (ServiceRequested) RunPosted();
            ulong done = state->Retired - start;
            if (done >= maxInstructions) return VcpuExit.InstructionLimit;

            ulong budget = maxInstructions - done;
            if (icount is not null)
            {
                // The plan made now covers any earlier request to plan again.
                Interlocked.And(ref state->ExitRequest, ~ExitRequests.Yield);
                budget = icount.Plan(budget);
            }
            else
            {
                budget = Math.Min(budget, TimerSliceInstructions);
                if (WatchDeadline()) budget = Math.Min(budget, DeadlineSliceInstructions);
            }
            switch (Engine.Run(budget))
            {
                case ExitReason.Halt:
                    Counters.Other++;
                    // A halt that no shutdown or CPU_OFF explains is stale (the request that caused it was
                    // withdrawn); drop it rather than exit in a loop.
                    if (domain.ShutdownRequest is null && Power != VcpuPowerState.Off)
                        Interlocked.And(ref state->ExitRequest, ~ExitRequests.Halt);
                    break;
                case ExitReason.Wfi:
                    Counters.Wfi++;
                    if (icount is null)
                    {
                        Blocked = true;
                        Park();
                        Blocked = false;
                    }
                    else if (!SkipIdleTime(icount)) return VcpuExit.Idle;
                    break;
                case ExitReason.Hvc:
                case ExitReason.Smc:
                    // The fast path answered the call already and asked to stop; the checks above say why.
                case ExitReason.Stopped:
                    Counters.Other++;
                    break;
                case ExitReason.Yield:
                    // The timer's alarm, ahead of a near deadline: the next slice is a short one.
                    Counters.Other++;
                    if (icount is null) Interlocked.And(ref state->ExitRequest, ~ExitRequests.Yield);
                    break;
                case ExitReason.InstructionLimit:
                    Counters.Other++;
                    // The slice's end (see TimerSliceInstructions), not every exit: the look takes the timer's lock.
                    if (icount is null) TakeOverdueDeadline();
                    break;
            }
        }
    }

    /// <summary>
    /// Instructions a vCPU runs, at most, between looks at its timers of its own. A deadline is normally taken
    /// when the host alarm asks (a timer-check request, within microseconds); this look, every few seconds,
    /// bounds what an alarm that never came would cost a guest busy-waiting for its interrupt: a late
    /// interrupt, not one that never comes. Not shorter: with 50 M, the steady-state allocation test saw 7 KB
    /// allocated over 200 M instructions once, under a loaded machine, around those returns (cause not found).
    /// </summary>
    private const ulong TimerSliceInstructions = 1_000_000_000;

    /// <summary>
    /// Instructions in a slice while a timer deadline is less than <see cref="WfiSpinTicks"/> away. A host
    /// thread takes tens of microseconds to wake (see <see cref="Park"/>), so a vCPU busy-waiting for its timer
    /// interrupt with interrupts unmasked got it 30 µs late at the median, on Jit as on QEMU, waiting for the
    /// alarm. Instead the alarm goes off <see cref="AlarmLeadTicks"/> early, the vCPU leaves its slice, and it
    /// looks at the counter itself between slices of a few microseconds of guest code, as WFI spins up to such a
    /// deadline. A slice's end costs a return to this loop and two counter reads.
    /// </summary>
    private const ulong DeadlineSliceInstructions = 1_000;

    /// <summary>60 µs of counter ticks: about twice a host thread's wake-up time here.</summary>
    private const ulong AlarmLeadTicks = CpuModel.CounterFrequency / 16_667;

    /// <summary>Counter ticks until the next enabled, unmasked timer deadline: 0 once it has passed, ulong.MaxValue when there is none.</summary>
    private ulong UntilDeadline()
    {
        if (Processor.Timer.NextDeadline is not ulong deadline) return ulong.MaxValue;
        ulong now = Processor.Timer.Counter;
        return deadline > now ? deadline - now : 0;
    }

    /// <summary>Whether an enabled, unmasked timer's deadline is still ahead, and less than <see cref="WfiSpinTicks"/> away.</summary>
    private bool DeadlineIsNear() => UntilDeadline() is > 0 and < WfiSpinTicks;

    /// <summary>
    /// Before a slice: whether the next one must be short because a deadline is near; and if one has passed
    /// that no update took (the engine left for another reason just after it, and its alarm went off early and
    /// is gone), takes it now.
    /// </summary>
    private bool WatchDeadline()
    {
        ulong until = UntilDeadline();
        if (until == 0) TakeOverdueDeadline();
        return until is > 0 and < WfiSpinTicks;
    }

    private bool lostAlarmLogged;

    /// <summary>
    /// Raises the timer's output if an enabled deadline has passed that no update took: at a slice's end, and
    /// before one once a deadline is past. Overdue by more than 10 ms, well past an alarm still on its way, means
    /// the alarm was lost: said once per vCPU.
    /// </summary>
    private void TakeOverdueDeadline()
    {
        var timer = Processor.Timer;
        ulong late = timer.Overdue;
        if (late == 0) return;
        if (late >= CpuModel.CounterFrequency / 100 && !lostAlarmLogged)
        {
            lostAlarmLogged = true;
            Log.Warn($"domain {domain.Name}, vCPU {Id}: a timer deadline passed {late * 1000 / CpuModel.CounterFrequency} ms ago without its host alarm; taken now (logged once per vCPU)");
        }
        timer.Update();
    }

    /// <summary>
    /// WFI: the vCPU thread sleeps until an interrupt is signalled to it (masked or not, as WFI wake-up events
    /// are defined), a timer fires, or the domain asks it to stop. Without an interrupt controller only a stop
    /// request can wake it.
    /// </summary>
    // 200 µs of counter ticks: WFI spins up to a deadline this close instead of sleeping.
    private const ulong WfiSpinTicks = CpuModel.CounterFrequency / 5000;

    private void Park()
    {
        if (Processor.Gic is null)
            Log.Once("wfi-park", $"vCPU {Id}: WFI with no interrupt controller; the vCPU sleeps until stopped");
        while (true)
        {
            wake.Reset();
            if (Volatile.Read(ref state->IrqPending) != 0) return;
            if ((Volatile.Read(ref state->ExitRequest) & (ExitRequests.Stop | ExitRequests.Halt | ExitRequests.Service)) != 0) return;
            Interlocked.And(ref state->ExitRequest, ~ExitRequests.TimerCheck); // the Update below answers it
            // The timer's alarm wakes the vCPU at its deadline (HostAlarm: within microseconds where the host
            // has timerfd); the timeout is only a backstop, a millisecond past the deadline. A shorter one
            // rounds down to no wait at all, and WFI would spin.
            if (Processor.Timer.NextDeadline is ulong deadline)
            {
                ulong now = Processor.Timer.Counter;
                if (deadline <= now)
                {
                    Processor.Timer.Update();
                    if (Volatile.Read(ref state->IrqPending) != 0) return;
                    wake.Wait(1);
                    continue;
                }
                if (deadline - now < WfiSpinTicks)
                {
                    // A host thread takes tens of microseconds to wake: closer deadlines are waited for awake,
                    // and the alarm stays quiet meanwhile (the Update below re-arms it).
                    Processor.Timer.DisarmAlarm();
                    while (Processor.Timer.Counter < deadline && Volatile.Read(ref state->IrqPending) == 0 &&
                           (Volatile.Read(ref state->ExitRequest) & (ExitRequests.Stop | ExitRequests.Halt | ExitRequests.Service)) == 0)
                        Thread.SpinWait(20);
                }
                else
                {
                    double milliseconds = (deadline - now) * 1e3 / CpuModel.CounterFrequency;
                    wake.Wait(TimeSpan.FromMilliseconds(Math.Min(Math.Ceiling(milliseconds) + 1, 1e6)));
                }
                Processor.Timer.Update();
            }
            else
            {
                wake.Wait();
            }
        }
    }

    /// <summary>
    /// WFI in instruction-count time: nothing runs until an interrupt, so guest time jumps to the next armed
    /// deadline rather than being slept through. False when the wait could never end: no interrupt pending,
    /// no alarm armed and no input to come.
    /// </summary>
    private bool SkipIdleTime(InstructionCounter icount)
    {
        while (true)
        {
            wake.Reset();
            if (Volatile.Read(ref state->IrqPending) != 0) return true;
            if ((Volatile.Read(ref state->ExitRequest) & (ExitRequests.Stop | ExitRequests.Halt | ExitRequests.Service)) != 0) return true;
            // An alarm can fire without waking the vCPU (the GIC holds the interrupt back): skip on to the next.
            if (icount.SkipToNextDeadline()) continue;
            if (!domain.InputAttached) return false;
            // Input arrives in real time whatever the mode; guest time stands still until it does.
            wake.Wait();
        }
    }

    bool IHypervisorCalls.Hvc(CpuState* s, ushort imm)
    {
        Counters.Hvc++;
        // As Xen routes them: HVC #0 is SMCCC, #0xEA1 a Xen hypercall, and any other immediate is UNDEFINED
        // to the guest (EC 0, ELR at the HVC itself, which the engine has already stepped past).
        if (imm == 0) return Call(s, SmcccConduit.Hvc);
        if (imm == Hypercalls.Tag)
        {
            domain.Hypercalls.Call(s, Id);
            return true;
        }
        if (!unknownHvcLogged)
        {
            unknownHvcLogged = true;
            Log.Warn($"domain {domain.Name}, vCPU {Id}: HVC #0x{imm:x} is neither SMCCC (#0) nor a Xen hypercall (#0xea1); the guest gets Undefined (logged once per vCPU)");
        }
        s->PC -= 4;
        ExceptionEntry.Undefined(s);
        return true;
    }

    private bool unknownHvcLogged;

    // SMCCC ignores the immediate of SMC.
    bool IHypervisorCalls.Smc(CpuState* s, ushort imm)
    {
        Counters.Smc++;
        return Call(s, SmcccConduit.Smc);
    }

    private bool Call(CpuState* s, SmcccConduit conduit)
    {
        var call = new SmcccCall
        {
            X0 = s->X[0], X1 = s->X[1], X2 = s->X[2], X3 = s->X[3],
            X4 = s->X[4], X5 = s->X[5], X6 = s->X[6], X7 = s->X[7],
            DomId = domain.DomId,
            Vcpu = Id,
            Conduit = conduit,
        };
        Counters.CountSmccc(in call);
        var outcome = domain.Smccc.Dispatch(ref call);
        s->X[0] = call.X0;
        s->X[1] = call.X1;
        s->X[2] = call.X2;
        s->X[3] = call.X3;
        // SMCCC 1.2 results may use X4–X17 (FF-A's direct responses do, up to X7); a service that leaves them
        // alone leaves them as they were, which is what "preserved" asks.
        s->X[4] = call.X4;
        s->X[5] = call.X5;
        s->X[6] = call.X6;
        s->X[7] = call.X7;
        return outcome != SmcccOutcome.StopVcpu;
    }

    public void Dispose()
    {
        if (state == null) return;
        // The timer's alarm thread first: it asks this vCPU's state for a timer check, and that state is freed
        // below. Disposing it also ends the thread and closes its timer descriptor.
        Processor.Timer.Dispose();
        // 3 MiB of native TLB tables per vCPU: a host that creates and destroys domains must get them back.
        Mmu.Tlb.Dispose();
        CpuState.Free(state);
        state = null;
        wake.Dispose();
    }
}
