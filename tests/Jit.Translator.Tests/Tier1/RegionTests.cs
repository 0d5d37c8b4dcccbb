using Jit.Runtime;
using Jit.Translator.Interpreter;
using Jit.Translator.Tests.Interpreter;

namespace Jit.Translator.Tests.Tier1;

/// <summary>
/// Regions: a hot block compiled with the blocks it reaches in its page, loops inside one method. A small
/// synchronous threshold lets every member run interpreted first, so the region holds the whole loop.
/// </summary>
public unsafe class RegionTests
{
    private static readonly JitOptions Regions = new() { Tier1 = Tier1Mode.Synchronous, Threshold = 2 };
    private static readonly JitOptions Interpreted = new() { Tier1 = Tier1Mode.Off };

    private static TestMachine Machine(JitOptions options, string source)
    {
        var m = new TestMachine();
        m.Engine.Options = options;
        m.Load(source);
        return m;
    }

    private static void SameAsInterpreter(string source, params int[] registers)
    {
        using var compiled = Machine(Regions, source);
        using var reference = Machine(Interpreted, source);
        Assert.Equal(ExitReason.Hvc, compiled.Run(10_000_000));
        Assert.Equal(ExitReason.Hvc, reference.Run(10_000_000));
        foreach (int r in registers) Assert.Equal((r, reference.X(r)), (r, compiled.X(r)));
        Assert.Equal(reference.State->Nzcv, compiled.State->Nzcv);
        Assert.Equal(reference.State->Retired, compiled.State->Retired);
    }

    [Fact]
    public void LoopWithBranchesInsideMatchesTheInterpreter()
    {
        // Odd and even iterations take different blocks; flags set in one member are consumed in another.
        SameAsInterpreter("""
            mov x0, #0
            mov x1, #1000
            mov x2, #0
            mov x3, #0
            1: tst x1, #1
            b.eq 2f
            add x2, x2, x1
            cmp x2, #300
            b 3f
            2: eor x3, x3, x1, lsl #3
            cmp x3, x2
            3: csinc x4, x4, x4, hi
            subs x1, x1, #1
            b.ne 1b
            hvc #0
            """, 1, 2, 3, 4);
    }

    [Fact]
    public void AStaticExitRemembersTheBlockItLeftForInItsSuccessorSlot()
    {
        // The loop calls a function in the next page: BL is a static exit of the loop's region, and the
        // dispatcher fills that exit's slot with the function's block.
        using var m = Machine(Regions, """
            mov x0, #0
            mov x1, #100
            1: bl 2f
            subs x1, x1, #1
            b.ne 1b
            hvc #0
            .balign 4096
            2: add x0, x0, #3
            ret
            """);
        Assert.Equal(ExitReason.Hvc, m.Run(10_000_000));
        Assert.Equal(300UL, m.X(0));
        ulong function = TestMachine.RamBase + 0x1000;
        var regions = m.Engine.Blocks.Where(b => b.Compiled is not null).Select(b => (Jit.Translator.Tier1.RegionClosure)b.Compiled!.Target!).ToList();
        Assert.Contains(regions, r => r.Links.Any(l => l.Block?.Pa == function));
    }

    [Fact]
    public void NestedLoopsMatchTheInterpreter()
    {
        SameAsInterpreter("""
            mov x0, #0
            mov w1, #0xffffffff
            mov x5, #200
            ldr w6, =0xedb88320
            1: mov x2, #8
            eor w1, w1, w5
            2: sbfx x3, x1, #0, #1
            subs x2, x2, #1
            and w3, w3, w6
            eor w1, w3, w1, lsr #1
            b.ne 2b
            subs x5, x5, #1
            b.hi 1b
            hvc #0
            .ltorg
            """, 1, 2, 3, 5);
    }

    [Fact]
    public void LoopStopsAtTheBudget()
    {
        using var m = Machine(Regions, "1: add x0, x0, #1\nb 1b");
        Assert.Equal(ExitReason.InstructionLimit, m.Run(100_000));
        Assert.InRange(m.State->Retired, 100_000UL, 100_000UL + 64);
        Assert.Equal(m.State->Retired, 2 * m.X(0));
    }

    [Fact]
    public void LoopStopsWhenAnotherThreadAsks()
    {
        using var m = Machine(Regions, "1: add x0, x0, #1\nb 1b");
        // Compiled before the clock starts: a cold RyuJIT can take longer than the stopper waits.
        Assert.Equal(ExitReason.InstructionLimit, m.Run(10_000));
        ulong before = m.X(0);
        CpuState* s = m.State;
        var stopper = new Thread(() =>
        {
            Thread.Sleep(100);
            Interlocked.Or(ref s->ExitRequest, ExitRequests.Stop);
        });
        stopper.Start();
        Assert.Equal(ExitReason.Stopped, m.Run(ulong.MaxValue));
        stopper.Join();
        Assert.True(m.X(0) > before + 1000, $"x0 = {m.X(0)}, retired {m.State->Retired}");
        // The loop left at an instruction boundary with its count intact.
        Assert.Equal(m.State->Retired, 2 * m.X(0));
    }

    [Fact]
    public void UnmaskedInterruptIsTakenFromInsideALoopAndAMaskedOneIsNot()
    {
        const string Loop = "1: add x0, x0, #1\nb 1b";
        using var m = Machine(Regions, Loop);
        m.Load("hvc #2", 0x4000_1280); // IRQ, current EL with SP_ELx
        m.State->VbarEl1 = 0x4000_1000;
        m.State->Daif = 0x80;
        m.State->IrqPending = 1;
        Assert.Equal(ExitReason.InstructionLimit, m.Run(50_000));
        Assert.Empty(m.HvcCalls);

        m.State->Daif = 0;
        CpuState* s = m.State;
        Volatile.Write(ref s->IrqPending, 0);
        var raiser = new Thread(() =>
        {
            Thread.Sleep(50);
            Volatile.Write(ref s->IrqPending, 1);
        });
        raiser.Start();
        Assert.Equal(ExitReason.Hvc, m.Run(ulong.MaxValue));
        raiser.Join();
        Assert.Equal([(ushort)2], m.HvcCalls);
        Assert.InRange(m.State->ElrEl1, TestMachine.RamBase, TestMachine.RamBase + 4);
    }

    /// <summary>
    /// MSR DAIFSet, MSR DAIF, MSR SP_EL0 and ISB run inside a compiled loop: a pending interrupt stays pending
    /// while masked and is taken right after the MSR DAIF that unmasks it on the 100th pass (ELR the next
    /// instruction), and SP_EL0 holds what was written, as the interpreter gives.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PstateWritesInARegionTakeAPendingInterruptWhenItIsUnmasked(bool compiled)
    {
        const string Source = """
            mov x0, #0
            mov x7, #0x80
            1: add x0, x0, #1
            msr daifset, #2
            msr sp_el0, x0
            isb
            mrs x4, sp_el0
            cmp x0, #100
            csel x6, xzr, x7, eq
            msr daif, x6
            add x5, x5, #1
            b 1b
            """;
        using var m = Machine(compiled ? Regions : Interpreted, Source);
        m.Load("hvc #2", 0x4000_1280); // IRQ, current EL with SP_ELx
        m.State->VbarEl1 = 0x4000_1000;
        m.State->IrqPending = 1;
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)2], m.HvcCalls);
        Assert.Equal(100UL, m.X(0));
        Assert.Equal(100UL, m.X(4));
        Assert.Equal(100UL, m.State->SpEl0);
        Assert.Equal(99UL, m.X(5)); // taken before the instruction after the unmasking MSR
        Assert.Equal(TestMachine.RamBase + 4 * 10, m.State->ElrEl1);
        Assert.Equal(0UL, m.State->SpsrEl1 & 0x80); // the I bit it saved: unmasked
        Assert.Equal(2UL + 10 * 99 + 8 + 1, m.State->Retired); // and the vector's HVC
    }

    [Fact]
    public void CodePatchedInsideARegionRunsAfterIcIvauAndIsb()
    {
        // Iteration 10 rewrites "add x5, x5, #1" as "add x5, x5, #100": 9 × 1 + 11 × 100.
        const string Source = """
            mov x0, #0
            mov x5, #0
            adr x1, 3f
            ldr w2, =0x910190a5
            1: add x0, x0, #1
            cmp x0, #10
            b.ne 2f
            str w2, [x1]
            dc cvau, x1
            dsb ish
            ic ivau, x1
            dsb ish
            isb
            2: nop
            3: add x5, x5, #1
            cmp x0, #20
            b.ne 1b
            hvc #0
            .ltorg
            """;
        using var m = Machine(Regions, Source);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(9UL + 11 * 100, m.X(5));
        SameAsInterpreter(Source, 0, 5);
    }

    [Fact]
    public void InstructionsWithoutIlRunInsideTheRegion()
    {
        // MRS, an exclusive pair and MSR TPIDR run through the executor; the loop still matches the interpreter.
        SameAsInterpreter("""
            ldr x1, =0x40100000
            mov x2, #300
            msr tpidr_el1, x2
            1: ldxr x3, [x1]
            add x3, x3, #3
            stxr w4, x3, [x1]
            cbnz w4, 1b
            mrs x5, tpidr_el1
            sub x5, x5, #1
            msr tpidr_el1, x5
            ldr x6, [x1]
            subs x2, x2, #1
            b.ne 1b
            hvc #0
            .ltorg
            """, 2, 3, 4, 5, 6);
    }

    [Fact]
    public void AFaultInAnExecutorInstructionIsTakenWithItsPcAndCount()
    {
        // The exclusive load runs through the executor every iteration; the 550th goes to an unmapped address.
        const string Source = """
            mov x0, #0
            ldr x1, =0x40100000
            ldr x7, =0x90000000
            mov x2, #600
            1: add x0, x0, #1
            cmp x0, #550
            csel x8, x7, x1, eq
            ldxr x3, [x8]
            subs x2, x2, #1
            b.ne 1b
            hvc #0
            .ltorg
            """;
        using var compiled = Machine(Regions, Source);
        compiled.Load("hvc #1", 0x4000_1200);
        compiled.State->VbarEl1 = 0x4000_1000;
        using var reference = Machine(Interpreted, Source);
        reference.Load("hvc #1", 0x4000_1200);
        reference.State->VbarEl1 = 0x4000_1000;
        Assert.Equal(ExitReason.Hvc, compiled.Run());
        Assert.Equal(ExitReason.Hvc, reference.Run());
        Assert.Equal([(ushort)1], compiled.HvcCalls);
        Assert.Equal(reference.State->ElrEl1, compiled.State->ElrEl1);
        Assert.Equal(0x9000_0000UL, compiled.State->FarEl1);
        Assert.Equal(550UL, compiled.X(0));
        Assert.Equal(reference.State->Retired, compiled.State->Retired);
    }

    [Fact]
    public void HvcsThatCompleteStayInsideTheRegionAndOneThatStopsLeavesWithTheHvcExit()
    {
        // HVC #7 completes (the fast path answered); HVC #9 asks to stop, so the engine returns Hvc past it.
        const string Source = """
            mov x2, #1000
            1: mov x0, x2
            hvc #7
            subs x2, x2, #1
            b.ne 1b
            hvc #9
            b .
            """;
        using var m = Machine(Regions, Source);
        m.HvcCompletes = imm => imm == 7;
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(1000, m.HvcCalls.Count(i => i == 7));
        Assert.Equal((ushort)9, m.HvcCalls[^1]);
        Assert.Equal(TestMachine.RamBase + 24, m.State->PC);
        using var reference = Machine(Interpreted, Source);
        reference.HvcCompletes = imm => imm == 7;
        Assert.Equal(ExitReason.Hvc, reference.Run());
        Assert.Equal(reference.State->Retired, m.State->Retired);
    }

    [Fact]
    public void CaspThroughTheExecutorReloadsBothRegistersOfEachPair()
    {
        // A mismatching compare loads the old pair (7, 8) into x2 and x3: x3 is in no operand field.
        SameAsInterpreter("""
            .arch armv8.1-a
            ldr x1, =0x40100000
            mov x6, #7
            mov x7, #8
            stp x6, x7, [x1]
            mov x8, #100
            1: mov x2, #7
            mov x3, #9
            mov x4, #5
            mov x5, #6
            casp x2, x3, x4, x5, [x1]
            add x9, x9, x3
            subs x8, x8, #1
            b.ne 1b
            hvc #0
            .ltorg
            """, 2, 3, 9);
    }

    [Fact]
    public void IsbAndThreadIdWritesGoOnInsideTheRegion()
    {
        SameAsInterpreter("""
            mov x2, #400
            1: msr tpidr_el0, x2
            isb
            mrs x3, tpidr_el0
            add x4, x4, x3
            subs x2, x2, #1
            b.ne 1b
            hvc #0
            """, 2, 3, 4);
    }

    [Fact]
    public void ALoopOfExecutorInstructionsStopsAtTheBudget()
    {
        // Every instruction but the branch runs through the executor: the budget still bounds the loop.
        using var m = Machine(Regions, "1: mrs x0, tpidr_el1\nmsr tpidr_el0, x0\nb 1b");
        Assert.Equal(ExitReason.InstructionLimit, m.Run(30_000));
        Assert.InRange(m.State->Retired, 30_000UL, 30_000UL + 64);
    }
}
