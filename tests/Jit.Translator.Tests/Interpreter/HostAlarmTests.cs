using Jit.Runtime;
using Jit.Runtime.Timers;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>The host counter's alarms: they fire once the counter has reached their deadline, never before, and not once cancelled.</summary>
public class HostAlarmTests
{
    private const ulong TicksPerMillisecond = CpuModel.CounterFrequency / 1000;

    [Fact]
    public void FiresAtItsDeadlineAndNotBefore()
    {
        using var fired = new ManualResetEventSlim();
        ulong seen = 0;
        using var alarm = SystemCounter.Host.CreateAlarm(() =>
        {
            seen = GuestClock.Now();
            fired.Set();
        });
        ulong deadline = GuestClock.Now() + 3 * TicksPerMillisecond;
        alarm.Arm(deadline);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "the alarm never fired");
        Assert.True(seen >= deadline, $"fired at {seen}, before its deadline {deadline}");
    }

    [Fact]
    public void ReArmingReplacesTheDeadlineAndCancelStopsIt()
    {
        // The first deadline must still be ahead when the second replaces it; a host that stalls this thread
        // past it (a loaded CI machine) voids that attempt, so try again rather than blame the alarm.
        for (int attempt = 0; attempt < 5; attempt++)
        {
            int fires = 0;
            using var alarm = SystemCounter.Host.CreateAlarm(() => Interlocked.Increment(ref fires));
            ulong first = GuestClock.Now() + 20 * TicksPerMillisecond;
            alarm.Arm(first);
            alarm.Arm(GuestClock.Now() + 60_000 * TicksPerMillisecond);
            alarm.Cancel();
            if (GuestClock.Now() >= first) continue;
            Thread.Sleep(200);
            Assert.Equal(0, Volatile.Read(ref fires));
            return;
        }
        Assert.Fail("this thread never got 20 ms without a stall to arm, re-arm and cancel");
    }

    [Fact]
    public void ADeadlineInThePastFiresAtOnce()
    {
        using var fired = new ManualResetEventSlim();
        using var alarm = SystemCounter.Host.CreateAlarm(fired.Set);
        alarm.Arm(0);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "the alarm never fired");
    }
}
