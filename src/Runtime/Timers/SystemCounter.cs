namespace Jit.Runtime.Timers;

/// <summary>
/// The system counter of a domain, read as CNTPCT_EL0/CNTVCT_EL0 at <see cref="CpuModel.CounterFrequency"/>, and
/// the alarms that devices (the generic timers, the PL031) set against it. Two clocks implement it: the host's
/// monotonic clock (<see cref="HostCounter"/>), and the retired-instruction count (<see cref="InstructionCounter"/>)
/// that makes runs reproducible.
/// </summary>
public abstract class SystemCounter
{
    /// <summary>The counter every domain uses unless it asks for instruction-count time.</summary>
    public static SystemCounter Host { get; } = new HostCounter();

    /// <summary>The counter's value now, in ticks.</summary>
    public abstract ulong Now { get; }

    /// <summary>An alarm that calls <paramref name="fire"/> once the counter has reached the deadline it is armed with.</summary>
    public abstract CounterAlarm CreateAlarm(Action fire);
}

/// <summary>One deadline on a <see cref="SystemCounter"/>; re-arming replaces the previous deadline.</summary>
public abstract class CounterAlarm : IDisposable
{
    public abstract void Arm(ulong deadline);
    public abstract void Cancel();
    public abstract void Dispose();
}
