namespace Jit.Runtime.Timers;

/// <summary>
/// Instruction-count time (<c>--icount</c>): the counter advances 2^<see cref="Shift"/> ns of guest time per
/// instruction the vCPU retires, plus the time a WFI skipped to reach the next alarm. Nothing here reads the
/// host's clock, so a guest that gets the same input sees the same counter values and takes its timer
/// interrupts after the same instructions, run after run.
/// </summary>
/// <remarks>
/// Alarms do not fire by themselves: the vCPU's run loop asks <see cref="Plan"/> how many instructions it may
/// run before the next deadline, gives the engine that budget, and calls <see cref="Plan"/> again when the
/// engine returns, which fires what is due. Engines check their budget between blocks, so an interrupt is
/// taken at the first block boundary at or after its deadline, the same boundary in every run as long as
/// blocks are cut the same way (tier 1 compiling in the background moves the cuts; <c>tier1=sync</c> does
/// not). Everything runs on the one vCPU's thread: the mode is uniprocessor, so nothing here is locked.
/// </remarks>
public sealed unsafe class InstructionCounter : SystemCounter
{
    /// <summary>16 ns per instruction: one tick of the 62.5 MHz counter per instruction, a 62.5 MIPS guest CPU.</summary>
    public const int DefaultShift = 4;
    /// <summary>As QEMU's -icount shift: 2^10 ns (about 1 MIPS) is the slowest CPU worth modelling.</summary>
    public const int MaxShift = 10;
    // Ticks are 16 ns (62.5 MHz): 2^4 ns.
    private const int TickShift = 4;

    private readonly List<Alarm> alarms = [];
    private CpuState* cpu;
    // The counter value at which the run loop looks at the alarms again: an alarm armed earlier asks it to
    // look now. Zero while the loop is about to look anyway.
    private ulong planned;

    public InstructionCounter(int shift = DefaultShift)
    {
        if (shift is < 0 or > MaxShift) throw new ArgumentOutOfRangeException(nameof(shift), $"icount shift must be 0 to {MaxShift}");
        Shift = shift;
    }

    /// <summary>Guest time per retired instruction is 2^Shift ns.</summary>
    public int Shift { get; }

    /// <summary>Ticks WFI skipped: guest time that passed while the vCPU had nothing to run.</summary>
    public ulong IdleTicks { get; private set; }

    /// <summary>Called when an alarm is armed before the run loop's next look; it should make the engine leave soon.</summary>
    public Action? Replan { get; set; }

    /// <summary>Makes <paramref name="state"/>'s retired-instruction count the clock.</summary>
    public void Bind(CpuState* state)
    {
        if (cpu != null && cpu != state) throw new InvalidOperationException("instruction-count time follows one vCPU");
        cpu = state;
    }

    private ulong Retired => cpu == null ? 0 : cpu->Retired;

    public override ulong Now => (ulong)(((UInt128)Retired << Shift) >> TickShift) + IdleTicks;

    /// <summary>The earliest armed deadline, or null.</summary>
    public ulong? NextDeadline
    {
        get
        {
            ulong? next = null;
            foreach (var a in alarms)
                if (a.Armed && (next is null || a.Deadline < next)) next = a.Deadline;
            return next;
        }
    }

    /// <summary>Retired instructions from now until the counter reaches <paramref name="deadline"/>; 0 if it has.</summary>
    public ulong InstructionsUntil(ulong deadline)
    {
        if (deadline <= Now) return 0;
        // The least count r with ((r << Shift) >> 4) + IdleTicks >= deadline.
        UInt128 ns = (UInt128)(deadline - IdleTicks) << TickShift;
        UInt128 at = (ns + ((UInt128)1 << Shift) - 1) >> Shift;
        UInt128 left = at - Retired;
        return left > ulong.MaxValue ? ulong.MaxValue : (ulong)left;
    }

    /// <summary>
    /// Fires the alarms that are due and returns how many of <paramref name="budget"/> instructions the engine
    /// may run before the next one is.
    /// </summary>
    public ulong Plan(ulong budget)
    {
        planned = 0;
        FireDue();
        ulong? next = NextDeadline;
        planned = next ?? ulong.MaxValue;
        // At least one instruction: an engine given nothing returns at once and the loop would not advance.
        return next is ulong d ? Math.Min(budget, Math.Max(1, InstructionsUntil(d))) : budget;
    }

    /// <summary>
    /// WFI with nothing pending: moves guest time forward to the next deadline and fires what is then due.
    /// False when no alarm is armed, so no time would ever end the wait.
    /// </summary>
    public bool SkipToNextDeadline()
    {
        if (NextDeadline is not ulong d) return false;
        ulong now = Now;
        if (d > now) IdleTicks += d - now;
        planned = 0;
        FireDue();
        return true;
    }

    private void FireDue()
    {
        // A callback may re-arm its own alarm or another; go round until nothing is due. Callbacks arm only
        // future deadlines, so this ends.
        bool fired = true;
        for (int round = 0; fired && round < 16; round++)
        {
            fired = false;
            ulong now = Now;
            for (int i = 0; i < alarms.Count; i++)
            {
                var a = alarms[i];
                if (!a.Armed || a.Deadline > now) continue;
                a.Armed = false;
                a.Fire();
                fired = true;
            }
        }
    }

    public override CounterAlarm CreateAlarm(Action fire)
    {
        var a = new Alarm(this, fire);
        alarms.Add(a);
        return a;
    }

    private sealed class Alarm(InstructionCounter counter, Action fire) : CounterAlarm
    {
        public ulong Deadline;
        public bool Armed;

        public void Fire() => fire();

        public override void Arm(ulong deadline)
        {
            Deadline = deadline;
            Armed = true;
            if (deadline < counter.planned) counter.Replan?.Invoke();
        }

        public override void Cancel() => Armed = false;

        public override void Dispose()
        {
            Armed = false;
            counter.alarms.Remove(this);
        }
    }
}
