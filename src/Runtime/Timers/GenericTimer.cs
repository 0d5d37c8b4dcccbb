using Jit.Runtime.Interrupts;

namespace Jit.Runtime.Timers;

/// <summary>
/// The EL1 virtual (CNTV_*) and physical (CNTP_*) timers of one vCPU (D11.2). Each drives a level-sensitive
/// output: asserted while ENABLE is set, IMASK clear and the counter has reached CVAL. An alarm on the domain's
/// <see cref="SystemCounter"/> fires at the nearest deadline so the output rises while the guest runs or sleeps
/// in WFI: a host timer in real time, or the run loop's instruction budget in instruction-count time.
/// </summary>
public sealed class GenericTimer : IDisposable
{
    public const ulong Enable = 1, Imask = 2, Istatus = 4;

    private readonly SystemCounter counter;
    private readonly CounterAlarm alarm;
    private readonly object gate = new();

    public ulong VirtualControl { get; private set; }
    public ulong VirtualCompare { get; private set; }
    public ulong PhysicalControl { get; private set; }
    public ulong PhysicalCompare { get; private set; }

    /// <summary>PPI 27 on the platform.</summary>
    public IInterruptLine VirtualLine { get; set; } = UnconnectedLine.Instance;
    /// <summary>PPI 30 on the platform.</summary>
    public IInterruptLine PhysicalLine { get; set; } = UnconnectedLine.Instance;

    /// <summary>Called when a timer output changes, after the line was set (the vCPU may need waking).</summary>
    public event Action? Fired;

    public GenericTimer(SystemCounter? counter = null)
    {
        this.counter = counter ?? SystemCounter.Host;
        alarm = this.counter.CreateAlarm(OnAlarm);
    }

    /// <summary>
    /// Called on the alarm's thread when a deadline passes, instead of <see cref="Update"/>: the vCPU sets it to
    /// ask its own thread to update (<see cref="ExitRequests.TimerCheck"/>), so the alarm's thread neither
    /// contends for the timer's lock nor runs the interrupt controller while the vCPU runs. Null: update here.
    /// </summary>
    public Action? AlarmExpired { get; set; }

    /// <summary>
    /// How many counter ticks before a deadline the alarm goes off (0: at it). A vCPU that watches a near
    /// deadline itself sets this to about a host thread's wake-up time, so that the alarm reaches it before the
    /// deadline rather than that long after; <see cref="AlarmExpired"/> then runs early and must not expect the
    /// deadline to have passed.
    /// </summary>
    public ulong AlarmLead { get; set; }

    private void OnAlarm()
    {
        if (AlarmExpired is { } expired) expired();
        else Update();
    }

    /// <summary>CNTPCT/CNTVCT (CNTVOFF is zero): the domain's system counter.</summary>
    public ulong Counter => counter.Now;

    public ulong ReadControl(bool physical)
    {
        ulong ctl = physical ? PhysicalControl : VirtualControl;
        ulong cval = physical ? PhysicalCompare : VirtualCompare;
        return (ctl & (Enable | Imask)) | ((ctl & Enable) != 0 && Counter >= cval ? Istatus : 0);
    }

    public ulong ReadCompare(bool physical) => physical ? PhysicalCompare : VirtualCompare;

    /// <summary>TVAL reads CVAL − counter as a signed 32-bit value (D11.2.4).</summary>
    public ulong ReadTimerValue(bool physical) => (ulong)(long)(int)(uint)(ReadCompare(physical) - Counter);

    public void WriteControl(bool physical, ulong value)
    {
        lock (gate)
        {
            if (physical) PhysicalControl = value & (Enable | Imask);
            else VirtualControl = value & (Enable | Imask);
        }
        Update();
    }

    public void WriteCompare(bool physical, ulong value)
    {
        lock (gate)
        {
            if (physical) PhysicalCompare = value;
            else VirtualCompare = value;
        }
        Update();
    }

    public void WriteTimerValue(bool physical, ulong value) =>
        WriteCompare(physical, Counter + (ulong)(long)(int)(uint)value);

    /// <summary>The counter value at which the next enabled, unmasked timer fires, or null.</summary>
    public ulong? NextDeadline
    {
        get
        {
            ulong? d = null;
            if ((VirtualControl & (Enable | Imask)) == Enable) d = VirtualCompare;
            if ((PhysicalControl & (Enable | Imask)) == Enable && (d is null || PhysicalCompare < d)) d = PhysicalCompare;
            return d;
        }
    }

    /// <summary>
    /// Disarms the alarm until the next <see cref="Update"/>: the vCPU watches the deadline itself (WFI just
    /// before it), and an alarm thread waking then would only take the vCPU's processor from it.
    /// </summary>
    public void DisarmAlarm()
    {
        lock (gate) alarm.Cancel();
    }

    private bool virtualLevel, physicalLevel;

    /// <summary>
    /// How long ago, in counter ticks, an output should have risen that no <see cref="Update"/> has raised (its
    /// deadline passed, its alarm never came); 0 when none.
    /// </summary>
    public ulong Overdue
    {
        get
        {
            lock (gate)
            {
                ulong now = Counter, late = 0;
                if ((VirtualControl & (Enable | Imask)) == Enable && now >= VirtualCompare && !virtualLevel) late = now - VirtualCompare;
                if ((PhysicalControl & (Enable | Imask)) == Enable && now >= PhysicalCompare && !physicalLevel) late = Math.Max(late, now - PhysicalCompare);
                return late;
            }
        }
    }

    /// <summary>Re-evaluates both outputs and re-arms the alarm for the next deadline.</summary>
    public void Update()
    {
        bool virt, phys;
        ulong? deadline;
        lock (gate)
        {
            ulong now = Counter;
            virt = (VirtualControl & (Enable | Imask)) == Enable && now >= VirtualCompare;
            phys = (PhysicalControl & (Enable | Imask)) == Enable && now >= PhysicalCompare;
            deadline = null;
            if ((VirtualControl & (Enable | Imask)) == Enable && !virt) deadline = VirtualCompare;
            if ((PhysicalControl & (Enable | Imask)) == Enable && !phys && (deadline is null || PhysicalCompare < deadline)) deadline = PhysicalCompare;
            if (deadline is ulong d) alarm.Arm(AlarmLead != 0 && now + AlarmLead < d ? d - AlarmLead : d);
            else alarm.Cancel();
            // The levels are set under the lock, in the order they were computed: an update that computed a
            // low level before the deadline and set it after the alarm's update had raised it would drop the
            // interrupt for good, since that alarm has fired and nothing is armed any more. (The lines take
            // the interrupt controller's lock, which never calls back into the timer.)
            VirtualLine.SetLevel(virt);
            PhysicalLine.SetLevel(phys);
            virtualLevel = virt;
            physicalLevel = phys;
        }
        if (virt || phys) Fired?.Invoke();
    }

    public void Dispose() => alarm.Dispose();
}
