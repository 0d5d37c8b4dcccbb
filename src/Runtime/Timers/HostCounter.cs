namespace Jit.Runtime.Timers;

/// <summary>
/// The counter as the host's monotonic clock (<see cref="GuestClock"/>); alarms are <see cref="HostAlarm"/>s, which
/// fire within microseconds of their deadline where the host has timerfd.
/// </summary>
public sealed class HostCounter : SystemCounter
{
    internal HostCounter()
    {
    }

    public override ulong Now => GuestClock.Now();

    public override CounterAlarm CreateAlarm(Action fire) => new HostAlarm(fire);
}
