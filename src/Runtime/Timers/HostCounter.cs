namespace Jit.Runtime.Timers;

/// <summary>
/// The counter as the host's monotonic clock (<see cref="GuestClock"/>); alarms are host timers, which fire on a
/// thread-pool thread with millisecond resolution (a vCPU sleeping in WFI wakes at its own deadline instead).
/// </summary>
public sealed class HostCounter : SystemCounter
{
    internal HostCounter()
    {
    }

    public override ulong Now => GuestClock.Now();

    public override CounterAlarm CreateAlarm(Action fire) => new HostAlarm(fire);

    private sealed class HostAlarm(Action fire) : CounterAlarm
    {
        private readonly Timer timer = new(_ => fire(), null, Timeout.Infinite, Timeout.Infinite);

        public override void Arm(ulong deadline)
        {
            ulong now = GuestClock.Now();
            ulong ticks = deadline > now ? deadline - now : 0;
            // Rounded up, so the alarm never fires before its deadline.
            long ms = (long)Math.Min(ticks / (CpuModel.CounterFrequency / 1000) + 1, int.MaxValue);
            timer.Change(ms, Timeout.Infinite);
        }

        public override void Cancel() => timer.Change(Timeout.Infinite, Timeout.Infinite);

        public override void Dispose() => timer.Dispose();
    }
}
