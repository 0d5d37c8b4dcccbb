using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Timers;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>The generic timer's output reaching the CPU as an IRQ through the vector table.</summary>
public unsafe class TimerInterruptTests
{
    private sealed class IrqInput(TestMachine m) : IInterruptLine
    {
        public void SetLevel(bool asserted) => Volatile.Write(ref m.State->IrqPending, asserted ? 1 : 0);
    }

    [Fact]
    public void VirtualTimerFiresAnIrqAfterItsDeadline()
    {
        using var m = new TestMachine();
        m.Engine.Processor.Timer.VirtualLine = new IrqInput(m);
        // 62,500 ticks = 1 ms. The IRQ vector (current EL, SPx: +0x280) leaves through hvc #3.
        m.Load("""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            mrs x9, cntvct_el0
            mov x1, #62500
            add x9, x9, x1
            msr cntv_cval_el0, x9
            mov x1, #1
            msr cntv_ctl_el0, x1
            msr daifclr, #2
            1: add x2, x2, #1
            b 1b
            .ltorg
            .org 0x800
            .org 0xa80
            mrs x10, cntvct_el0
            mrs x11, cntv_ctl_el0
            hvc #3
            """);
        // A compiled loop runs billions of instructions a second: bound the wait by time, not by a budget.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ExitReason exit;
        do exit = m.Run(100_000_000);
        while (exit == ExitReason.InstructionLimit && clock.Elapsed < TimeSpan.FromSeconds(20));
        var timer = m.Engine.Processor.Timer;
        Assert.True(exit == ExitReason.Hvc,
            $"{exit} after {clock.Elapsed.TotalSeconds:F1} s: PC {m.State->PC:x}, DAIF {m.State->Daif:x}, IrqPending {m.State->IrqPending}, " +
            $"CNTV_CTL {timer.VirtualControl:x} (reads {timer.ReadControl(false):x}), CVAL {timer.VirtualCompare}, counter {timer.Counter}, x2 {m.X(2)}");
        Assert.Equal([(ushort)3], m.HvcCalls);
        Assert.True(m.X(10) >= m.X(9), "the IRQ came before the deadline");
        Assert.Equal(5UL, m.X(11)); // ENABLE | ISTATUS
        Assert.Equal(0x3C5UL & ~0x80UL, m.State->SpsrEl1 & 0x3CF); // interrupted with IRQs unmasked at EL1h
    }

    /// <summary>A counter moved by hand whose alarms never fire: a host alarm that was lost.</summary>
    private sealed class SilentCounter : SystemCounter
    {
        public ulong Value;
        public override ulong Now => Value;
        public override CounterAlarm CreateAlarm(Action fire) => new Silent();

        private sealed class Silent : CounterAlarm
        {
            public override void Arm(ulong deadline) { }
            public override void Cancel() { }
            public override void Dispose() { }
        }
    }

    /// <summary>
    /// What the vCPU's periodic look relies on: an enabled, unmasked output whose deadline passed without an
    /// update is overdue by the time since, until an update raises it; a masked one owes nothing.
    /// </summary>
    [Fact]
    public void AnOutputWhoseAlarmNeverCameIsOverdueUntilAnUpdateRaisesIt()
    {
        var counter = new SilentCounter { Value = 1000 };
        using var timer = new GenericTimer(counter);
        bool level = false;
        timer.VirtualLine = new Recorder(v => level = v);
        timer.WriteCompare(false, 5000);
        timer.WriteControl(false, GenericTimer.Enable);
        Assert.Equal(0UL, timer.Overdue);
        counter.Value = 7000;
        Assert.Equal(2000UL, timer.Overdue);
        Assert.False(level);
        timer.Update();
        Assert.True(level);
        Assert.Equal(0UL, timer.Overdue);
        timer.WriteControl(false, GenericTimer.Enable | GenericTimer.Imask);
        counter.Value = 9000;
        Assert.Equal(0UL, timer.Overdue);
    }

    /// <summary>A counter moved by hand whose alarm only records where it was armed.</summary>
    private sealed class RecordingCounter : SystemCounter
    {
        public ulong Value;
        public ulong? Armed;
        public override ulong Now => Value;
        public override CounterAlarm CreateAlarm(Action fire) => new Recording(this);

        private sealed class Recording(RecordingCounter owner) : CounterAlarm
        {
            public override void Arm(ulong deadline) => owner.Armed = deadline;
            public override void Cancel() => owner.Armed = null;
            public override void Dispose() { }
        }
    }

    /// <summary>
    /// With a lead the alarm goes off that long before a deadline, so the vCPU can watch the rest itself; a
    /// deadline closer than the lead is armed as it is, never in the past (an alarm in the past fires at once, and
    /// an update it caused would arm it again and again).
    /// </summary>
    [Fact]
    public void TheAlarmGoesOffItsLeadBeforeTheDeadlineButNeverInThePast()
    {
        var counter = new RecordingCounter { Value = 1000 };
        using var timer = new GenericTimer(counter) { AlarmLead = 300 };
        timer.WriteCompare(false, 5000);
        timer.WriteControl(false, GenericTimer.Enable);
        Assert.Equal(4700UL, counter.Armed);
        counter.Value = 4800;
        timer.Update();
        Assert.Equal(5000UL, counter.Armed);
        timer.AlarmLead = 0;
        timer.WriteCompare(false, 9000);
        Assert.Equal(9000UL, counter.Armed);
        counter.Value = 9000;
        timer.Update();
        Assert.Null(counter.Armed); // fired: the line is up and nothing is left to wait for
    }

    [Fact]
    public void MaskedTimerKeepsTheLineLowButReportsIstatus()
    {
        using var m = new TestMachine();
        bool raised = false;
        m.Engine.Processor.Timer.VirtualLine = new Recorder(v => raised |= v);
        m.Load("""
            msr cntv_tval_el0, xzr
            mov x1, #3
            msr cntv_ctl_el0, x1
            mrs x2, cntv_ctl_el0
            hvc #0
            """);
        m.Run();
        Assert.Equal(7UL, m.X(2));
        Assert.False(raised);
    }

    private sealed class Recorder(Action<bool> onLevel) : IInterruptLine
    {
        public void SetLevel(bool asserted) => onLevel(asserted);
    }
}
