using Jit.Runtime;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>Small whole programs whose results are known, exercising blocks, loops and memory together.</summary>
public unsafe class ProgramTests
{
    [Fact]
    public void LoopSumsOneToHundred()
    {
        using var m = new TestMachine();
        m.Load("""
            mov x0, #0
            mov x1, #100
            1: add x0, x0, x1
            subs x1, x1, #1
            b.ne 1b
            hvc #0
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(5050UL, m.X(0));
        Assert.Equal(2UL + 3 * 100 + 1, m.State->Retired);
    }

    [Fact]
    public void MemcpyThroughPairsAndPostIndex()
    {
        using var m = new TestMachine();
        m.Load("""
            ldr x1, =src
            ldr x2, =0x40100000
            mov x3, #4
            1: ldp x4, x5, [x1], #16
            stp x4, x5, [x2], #16
            subs x3, x3, #1
            b.ne 1b
            ldr x6, =0x40100000
            ldr x7, [x6, #56]
            hvc #0
            .ltorg
            .align 4
            src: .quad 1,2,3,4,5,6,7,0x1122334455667788
            """);
        m.Run();
        Assert.Equal(0x1122334455667788UL, m.X(7));
    }

    [Fact]
    public void SelfModifyingCodeIsSeenAfterTheWrite()
    {
        using var m = new TestMachine();
        // Overwrites the "mov x0, #1" that already ran once with "mov x0, #2", then runs it again.
        m.Load("""
            mov x3, #0
            again:
            target: mov x0, #1
            cbnz x3, done
            ldr w1, =0xd2800040
            adr x2, target
            str w1, [x2]
            dc cvau, x2
            ic ivau, x2
            isb
            mov x3, #1
            b again
            done: hvc #0
            .ltorg
            """);
        m.Run();
        Assert.Equal(2UL, m.X(0));
    }

    [Fact]
    public void ExclusivePairSucceedsOnceThenFailsWithoutMonitor()
    {
        using var m = new TestMachine();
        m.Load("""
            ldr x1, =0x40100000
            ldxr x2, [x1]
            add x2, x2, #5
            stxr w3, x2, [x1]
            stxr w4, x2, [x1]
            ldr x5, [x1]
            hvc #0
            .ltorg
            """);
        m.Run();
        Assert.Equal(0UL, m.X(3));
        Assert.Equal(1UL, m.X(4));
        Assert.Equal(5UL, m.X(5));
    }

    [Fact]
    public void DcZvaZeroesSixtyFourAlignedBytes()
    {
        using var m = new TestMachine();
        m.Load("""
            ldr x1, =0x40100000
            mov x2, #-1
            mov x3, #0
            1: str x2, [x1, x3]
            add x3, x3, #8
            cmp x3, #128
            b.ne 1b
            add x4, x1, #70
            dc zva, x4
            ldr x5, [x1, #56]
            ldr x6, [x1, #64]
            ldr x7, [x1, #120]
            ldr x8, [x1, #128]
            hvc #0
            .ltorg
            """);
        m.Run();
        Assert.Equal(ulong.MaxValue, m.X(5));
        Assert.Equal(0UL, m.X(6));
        Assert.Equal(0UL, m.X(7));
        Assert.Equal(0UL, m.X(8));
    }

    [Fact]
    public void GarbageNeverEscapesAsAHostException()
    {
        // Random words with a vector table that skips whatever faulted: the run must end by budget, not by throwing.
        var rng = new Random(1234);
        using var m = new TestMachine();
        m.Load("""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            ldr x1, =0x40001000
            br x1
            .ltorg
            .org 0x800
            .org 0xa00
            mrs x9, elr_el1
            add x9, x9, #4
            msr elr_el1, x9
            mov x10, #0x3c5
            msr spsr_el1, x10
            ldr x11, =0x40800000
            mov sp, x11
            eret
            .ltorg
            """);
        var words = new byte[0x4000];
        rng.NextBytes(words);
        m.Ram.Write(TestMachine.RamBase + 0x1000, words);
        var exit = m.Run(2_000_000);
        Assert.True(exit is ExitReason.InstructionLimit or ExitReason.Hvc or ExitReason.Smc or ExitReason.Wfi, $"unexpected exit {exit}");
    }
}
