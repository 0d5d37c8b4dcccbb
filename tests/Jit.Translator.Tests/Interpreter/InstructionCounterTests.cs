using Jit.Runtime;
using Jit.Runtime.Timers;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>Instruction-count time: the counter as a function of retired instructions, and the alarms' budgets.</summary>
public unsafe class InstructionCounterTests
{
    /// <summary>A counter bound to a bare CpuState whose Retired the test sets, as an engine would.</summary>
    private sealed class Clock : IDisposable
    {
        public readonly CpuState* State = CpuState.Allocate();
        public readonly InstructionCounter Counter;

        public Clock(int shift = InstructionCounter.DefaultShift)
        {
            Counter = new InstructionCounter(shift);
            Counter.Bind(State);
        }

        public ulong Retired
        {
            get => State->Retired;
            set => State->Retired = value;
        }

        public void Dispose() => CpuState.Free(State);
    }

    [Theory]
    [InlineData(4, 1000, 1000)]   // 16 ns per instruction: one 62.5 MHz tick each
    [InlineData(6, 1000, 4000)]   // 64 ns: four ticks
    [InlineData(0, 1000, 62)]     // 1 ns: a tick every 16 instructions
    public void CounterFollowsRetiredInstructions(int shift, ulong retired, ulong ticks)
    {
        using var c = new Clock(shift);
        c.Retired = retired;
        Assert.Equal(ticks, c.Counter.Now);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0)]
    [InlineData(7)]
    public void BudgetEndsExactlyWhereTheDeadlineIsReached(int shift)
    {
        using var c = new Clock(shift);
        c.Retired = 12_345;
        ulong deadline = c.Counter.Now + 777;
        ulong n = c.Counter.InstructionsUntil(deadline);
        c.Retired += n - 1;
        Assert.True(c.Counter.Now < deadline, "one instruction short must still be before the deadline");
        c.Retired += 1;
        Assert.True(c.Counter.Now >= deadline);
    }

    [Fact]
    public void PlanFiresWhatIsDueAndBudgetsUpToTheNextAlarm()
    {
        using var c = new Clock();
        int fired = 0;
        using var alarm = c.Counter.CreateAlarm(() => fired++);
        Assert.Equal(500UL, c.Counter.Plan(500));   // nothing armed: the caller's budget
        alarm.Arm(100);
        Assert.Equal(100UL, c.Counter.Plan(500));
        Assert.Equal(0, fired);
        c.Retired = 100;
        Assert.Equal(500UL, c.Counter.Plan(500));
        Assert.Equal(1, fired);
        Assert.Null(c.Counter.NextDeadline);
    }

    [Fact]
    public void AlarmArmedBeforeThePlannedLookAsksTheRunLoopToPlanAgain()
    {
        using var c = new Clock();
        int replans = 0;
        c.Counter.Replan = () => replans++;
        using var alarm = c.Counter.CreateAlarm(() => { });
        alarm.Arm(1000);
        c.Counter.Plan(ulong.MaxValue);
        alarm.Arm(2000);      // later than planned: the loop looks at 1000 anyway
        Assert.Equal(0, replans);
        alarm.Arm(10);
        Assert.Equal(1, replans);
    }

    [Fact]
    public void WfiSkipsIdleTimeToTheDeadlineWithoutRetiring()
    {
        using var c = new Clock();
        int fired = 0;
        using var alarm = c.Counter.CreateAlarm(() => fired++);
        c.Retired = 50;
        alarm.Arm(62_500);
        Assert.True(c.Counter.SkipToNextDeadline());
        Assert.Equal(1, fired);
        Assert.Equal(62_500UL, c.Counter.Now);
        Assert.Equal(62_450UL, c.Counter.IdleTicks);
        Assert.Equal(50UL, c.Retired);
        Assert.False(c.Counter.SkipToNextDeadline());   // nothing armed: no time would end the wait
    }

    [Fact]
    public void GuestReadsTheInstructionCountThroughCntvct()
    {
        var counter = new InstructionCounter(6);
        using var m = new TestMachine(counter);
        counter.Bind(m.State);
        // Both reads start a block: the first after 0 instructions, the second after 11 (64 ns = 4 ticks each).
        m.Load("""
            mrs x0, cntvct_el0
            nop
            nop
            nop
            nop
            nop
            nop
            nop
            nop
            nop
            b 1f
            1: mrs x1, cntvct_el0
            hvc #0
            """);
        m.Run();
        Assert.Equal(0UL, m.X(0));
        Assert.Equal(44UL, m.X(1));
    }

    [Fact]
    public void TimerDeadlineIsAnInstructionCount()
    {
        var counter = new InstructionCounter();
        using var m = new TestMachine(counter);
        counter.Bind(m.State);
        m.Load("""
            mov x1, #1000
            msr cntv_tval_el0, x1
            mov x1, #1
            msr cntv_ctl_el0, x1
            hvc #0
            """);
        m.Run();
        ulong cval = m.Engine.Processor.Timer.ReadCompare(physical: false);
        Assert.Equal(cval, counter.NextDeadline);
        Assert.Equal(cval - counter.Now, counter.InstructionsUntil(cval));
    }
}
