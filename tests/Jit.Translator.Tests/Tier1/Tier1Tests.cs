using Jit.Runtime;
using Jit.Translator.Interpreter;
using Jit.Translator.Tests.Interpreter;
using Jit.Translator.Tier1;

namespace Jit.Translator.Tests.Tier1;

/// <summary>
/// Tier 1 on its own: blocks compiled at once (threshold 0, synchronous) must give the interpreter's results,
/// retired counts and faults; the switches must parse.
/// </summary>
public unsafe class Tier1Tests
{
    private static readonly JitOptions Sync = new() { Tier1 = Tier1Mode.Synchronous, Threshold = 0 };

    private static TestMachine Machine(JitOptions options)
    {
        var m = new TestMachine();
        m.Engine.Options = options;
        return m;
    }

    [Fact]
    public void CountedLoopRunsCompiledWithTheInterpretersRetiredCount()
    {
        using var m = Machine(Sync);
        long before = Tier1Compiler.Statistics.Compiled;
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
        Assert.True(Tier1Compiler.Statistics.Compiled > before);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LoadsAndStoresThroughTheTlbAndTheSlowPath(bool inlineTlb)
    {
        using var m = Machine(Sync with { InlineTlb = inlineTlb });
        m.Load("""
            ldr x1, =src
            ldr x2, =0x40100000
            mov x3, #4
            1: ldp x4, x5, [x1], #16
            stp x4, x5, [x2], #16
            ldrsb x8, [x1, #-1]
            ldrsw x9, [x1, #-4]
            ldrh w10, [x1, #-2]
            subs x3, x3, #1
            b.ne 1b
            ldr x6, =0x40100000
            ldr x7, [x6, #56]
            hvc #0
            .ltorg
            .align 4
            src: .quad 1,2,3,4,5,6,7,0x81223344f5667788
            """);
        // Twice: the first pass fills the TLB through the slow path, the second hits inline.
        Assert.Equal(ExitReason.Hvc, m.Run());
        m.State->PC = TestMachine.RamBase;
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(0x81223344f5667788UL, m.X(7));
        Assert.Equal(0xFFFF_FFFF_FFFF_FF81UL, m.X(8));
        Assert.Equal(0xFFFF_FFFF_8122_3344UL, m.X(9));
        Assert.Equal(0x8122UL, m.X(10));
    }

    /// <summary>
    /// SP_EL0, TPIDR_EL1 and TPIDR_EL0 are read in IL: the values are the state's, the flags of a compare before
    /// them still decide the branch after them, and SP_EL0 while it is the stack pointer is still Undefined
    /// (through the executor), at the MRS's own PC.
    /// </summary>
    [Fact]
    public void SystemRegisterReadsInIlGiveTheStateAndTheirExceptions()
    {
        using var m = Machine(Sync);
        m.Load("""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            ldr x1, =0x1111
            msr sp_el0, x1
            ldr x2, =0x2222
            msr tpidr_el1, x2
            ldr x2, =0x3333
            msr tpidr_el0, x2
            mov x3, #50
            mov x8, #0
            1: subs x3, x3, #1
            mrs x4, sp_el0
            mrs x5, tpidr_el1
            mrs x6, tpidr_el0
            mrs x9, daif
            add x8, x8, x4
            b.ne 1b
            msr spsel, #0
            fault: mrs x7, sp_el0
            hvc #0
            .ltorg
            .org 0x800
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)7], m.HvcCalls);
        Assert.Equal(0UL, m.X(3));
        Assert.Equal(50UL * 0x1111, m.X(8));
        Assert.Equal(0x2222UL, m.X(5));
        Assert.Equal(0x3333UL, m.X(6));
        Assert.Equal(0x3C0UL, m.X(9));
        Assert.Equal(0UL, m.State->EsrEl1 >> 26); // EC 0: Unknown reason (Undefined)
        Assert.Equal(0x4000_0048UL, m.State->ElrEl1); // the MRS after the 18 instructions before it
    }

    /// <summary>
    /// DC ZVA in compiled code zeroes exactly the aligned 64-byte block around its operand, through the TLB and
    /// through the slow path, and an unmapped operand (with the MMU off: beyond RAM, no device) takes a write
    /// abort at the DC's PC.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DcZvaZeroesTheAlignedBlockAndFaultsAsAWrite(bool inlineTlb)
    {
        using var m = Machine(Sync with { InlineTlb = inlineTlb });
        m.Ram.Write(0x4010_0000, Enumerable.Repeat((byte)0xAA, 256).ToArray());
        m.Load("""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            ldr x1, =0x40100047
            mov x2, #3
            1: dc zva, x1
            subs x2, x2, #1
            b.ne 1b
            ldr x3, =0x7000000000
            fault: dc zva, x3
            hvc #0
            .ltorg
            .org 0x800
            .org 0xa00
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)7], m.HvcCalls);
        byte[] after = new byte[256];
        m.Ram.Read(0x4010_0000, after);
        Assert.All(after[..64], b => Assert.Equal(0xAA, b));
        Assert.All(after[64..128], b => Assert.Equal(0, b));
        Assert.All(after[128..], b => Assert.Equal(0xAA, b));
        Assert.Equal(0x25UL, m.State->EsrEl1 >> 26); // EC 0x25: Data Abort from the current EL
        Assert.NotEqual(0UL, m.State->EsrEl1 & (1UL << 6)); // WnR: a write
        Assert.Equal(0x4000_0020UL, m.State->ElrEl1); // the second DC ZVA
    }

    /// <summary>
    /// The first five instructions of the FP tests: VBAR_EL1 at 0x40000800 (whose current-EL synchronous vector,
    /// at +0x200, is <c>hvc #7</c>) and CPACR_EL1.FPEN = 0b11.
    /// </summary>
    private const string VectorsAndFpOn = """
        ldr x0, =0x40000800
        msr vbar_el1, x0
        mov x9, #0x300000
        msr cpacr_el1, x9
        isb

        """;

    private static void AssertFpAccessTrapAt(TestMachine m, ulong pc)
    {
        Assert.Equal([(ushort)7], m.HvcCalls);
        Assert.Equal(0x07UL, m.State->EsrEl1 >> 26); // EC 0x07: access to SIMD or floating point trapped
        Assert.Equal(pc, m.State->ElrEl1);
    }

    /// <summary>
    /// SIMD&amp;FP loads and stores and FMOV in compiled code: a Q pair moves both registers whole, a narrower
    /// load zeroes the rest of its register, FMOV reaches either doubleword; with CPACR_EL1.FPEN clear the load
    /// takes the FP access trap (EC 0x07) at its own PC and writes nothing.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FpLoadsAndStoresMoveWholeRegistersAndTrapWhenFpIsOff(bool inlineTlb)
    {
        using var m = Machine(Sync with { InlineTlb = inlineTlb });
        m.Load(VectorsAndFpOn + """
            ldr x1, =src
            ldr x2, =0x40100000
            mov x3, #2
            1: ldr q3, [x1, #16]
            ldp q0, q1, [x1]
            stp q1, q0, [x2]
            ldr s3, [x1, #4]
            ldr q4, [x1, #16]
            fmov x5, d0
            fmov x6, v4.d[1]
            fmov d7, x5
            fmov v7.d[1], x6
            str q7, [x2, #32]
            subs x3, x3, #1
            b.ne 1b
            msr cpacr_el1, xzr
            isb
            fault: ldr q8, [x1]
            hvc #0
            .ltorg
            .align 4
            src: .quad 0x1111222233334444, 0x5555666677778888, 0x9999aaaabbbbcccc, 0xddddeeeeffff0000
            .org 0x800
            .org 0xa00
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        byte[] stored = new byte[48];
        m.Ram.Read(0x4010_0000, stored);
        ulong Quad(int k) => BitConverter.ToUInt64(stored, 8 * k);
        Assert.Equal([0x9999aaaabbbbccccUL, 0xddddeeeeffff0000UL, 0x1111222233334444UL, 0x5555666677778888UL, 0x1111222233334444UL, 0xddddeeeeffff0000UL],
            Enumerable.Range(0, 6).Select(Quad).ToArray());
        Assert.Equal(0x11112222UL, m.State->V[6]); // s3: the word at +4, the rest of the register zero
        Assert.Equal(0UL, m.State->V[7]);
        Assert.Equal(0x1111222233334444UL, m.X(5));
        Assert.Equal(0xddddeeeeffff0000UL, m.X(6));
        AssertFpAccessTrapAt(m, 0x4000_0058); // the LDR after the 22 instructions before it
        Assert.Equal(0UL, m.State->V[16] | m.State->V[17]);
    }

    /// <summary>
    /// LD1/ST1 of whole registers in compiled code: two Q registers from consecutive bytes, a 64-bit arrangement
    /// that zeroes the top half, a post-indexed store by the immediate and a load post-indexed by a register.
    /// </summary>
    [Fact]
    public void Ld1AndSt1MoveConsecutiveRegistersAndPostIndex()
    {
        using var m = Machine(Sync);
        m.Load(VectorsAndFpOn + """
            ldr x1, =src
            ldr x2, =0x40100000
            mov x3, #2
            mov x5, #8
            1: ldr q7, [x1, #16]
            ld1 {v5.16b, v6.16b}, [x1]
            ld1 {v7.8b}, [x1]
            mov x4, x2
            st1 {v6.4s, v7.4s}, [x4], #32
            mov x6, x1
            ld1 {v8.2s}, [x6], x5
            subs x3, x3, #1
            b.ne 1b
            hvc #0
            .ltorg
            .align 4
            src: .quad 0x1111222233334444, 0x5555666677778888, 0x9999aaaabbbbcccc, 0xddddeeeeffff0000
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([0x1111222233334444UL, 0x5555666677778888UL, 0x9999aaaabbbbccccUL, 0xddddeeeeffff0000UL],
            new[] { m.State->V[10], m.State->V[11], m.State->V[12], m.State->V[13] });
        Assert.Equal([0x1111222233334444UL, 0UL, 0x1111222233334444UL, 0UL], new[] { m.State->V[14], m.State->V[15], m.State->V[16], m.State->V[17] });
        byte[] stored = new byte[32];
        m.Ram.Read(0x4010_0000, stored);
        Assert.Equal([0x9999aaaabbbbccccUL, 0xddddeeeeffff0000UL, 0x1111222233334444UL, 0UL],
            Enumerable.Range(0, 4).Select(k => BitConverter.ToUInt64(stored, 8 * k)).ToArray());
        Assert.Equal(0x4010_0020UL, m.X(4));
        Assert.Equal(m.X(1) + 8, m.X(6));
    }

    /// <summary>
    /// AdvSIMD data processing in compiled code (DUP from a general register in IL, the rest through the
    /// executor's vector entry): the results are the interpreter's, the flags of a compare before them still
    /// decide the branch after them, and with CPACR_EL1.FPEN clear a vector compare takes the FP access trap.
    /// </summary>
    [Fact]
    public void VectorDataProcessingKeepsTheRegionsFlagsAndTrapsWhenFpIsOff()
    {
        using var m = Machine(Sync);
        m.Load(VectorsAndFpOn + """
            mov x3, #2
            mov x10, #0
            mov w4, #0x41
            1: dup v0.16b, w4
            movi v1.16b, #0x41
            cmeq v2.16b, v0.16b, v1.16b
            cmp x3, #1
            shrn v3.8b, v2.8h, #4
            umaxp v4.16b, v3.16b, v3.16b
            fmov x5, d4
            add x10, x10, #1
            b.ne 2f
            add x10, x10, #100
            2: subs x3, x3, #1
            b.ne 1b
            msr cpacr_el1, xzr
            isb
            fault: cmeq v5.16b, v0.16b, v1.16b
            hvc #0
            .ltorg
            .org 0x800
            .org 0xa00
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(102UL, m.X(10)); // +1 twice, +100 only when x3 was 1
        Assert.Equal(0x4141414141414141UL, m.State->V[0]);
        Assert.Equal(0x4141414141414141UL, m.State->V[1]);
        Assert.Equal(ulong.MaxValue, m.State->V[6]); // SHRN: 0xffff >> 4 narrowed to 0xff per byte
        Assert.Equal(0UL, m.State->V[7]);
        Assert.Equal(0x0000_0000_ffff_ffffUL, m.X(5)); // UMAXP over v3's low (ones) and high (zero) bytes
        AssertFpAccessTrapAt(m, 0x4000_0058); // the CMEQ after the 22 instructions before it
        Assert.Equal(0UL, m.State->V[10] | m.State->V[11]);
    }

    /// <summary>
    /// LDAR and STLR in compiled code: every size stores and loads (zero-extended) what the interpreter would,
    /// a compare's flags survive them, and a misaligned address is an alignment fault even with SCTLR_EL1.A clear.
    /// </summary>
    [Fact]
    public void AcquireAndReleaseAccessesMoveDataAndFaultWhenMisaligned()
    {
        using var m = Machine(Sync);
        m.Load("""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            ldr x1, =0x40100000
            ldr x2, =0x8877665544332211
            mov x9, #4
            1: subs x9, x9, #1
            stlr x2, [x1]
            add x3, x1, #8
            stlr w2, [x3]
            add x3, x1, #16
            stlrh w2, [x3]
            add x3, x1, #24
            stlrb w2, [x3]
            ldar x4, [x1]
            add x3, x1, #8
            ldar w5, [x3]
            add x3, x1, #16
            ldarh w6, [x3]
            add x3, x1, #24
            ldarb w7, [x3]
            b.ne 1b
            add x3, x1, #2
            fault: ldar w8, [x3]
            hvc #0
            .ltorg
            .org 0x800
            .org 0xa00
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)7], m.HvcCalls);
        Assert.Equal(0UL, m.X(9));
        Assert.Equal(0x8877665544332211UL, m.X(4));
        Assert.Equal(0x44332211UL, m.X(5));
        Assert.Equal(0x2211UL, m.X(6));
        Assert.Equal(0x11UL, m.X(7));
        Assert.Equal(0x25UL, m.State->EsrEl1 >> 26); // Data Abort from the current EL
        Assert.Equal(0x21UL, m.State->EsrEl1 & 0x3F); // DFSC: alignment fault
        Assert.Equal(0x4010_0002UL, m.State->FarEl1);
    }

    /// <summary>
    /// The LSE atomics in compiled code: each returns the old value (zero-extended at its size), leaves the
    /// new one in memory, keeps a compare's flags, and one to an unmapped address takes the data abort as a
    /// write at that instruction.
    /// </summary>
    [Fact]
    public void LseAtomicsReturnTheOldValueAndFaultAsWrites()
    {
        using var m = Machine(Sync);
        m.Load("""
            .arch armv8.1-a
            ldr x0, =0x40000800
            msr vbar_el1, x0
            ldr x1, =0x40100000
            mov x9, #3
            1: cmp x9, #1
            mov x2, #5
            ldaddal x2, x3, [x1]
            mov w2, #0xF0
            add x4, x1, #8
            ldsetl w2, w5, [x4]
            mov w2, #0x30
            ldclr w2, w6, [x4]
            mov x2, #77
            add x4, x1, #16
            swp x2, x7, [x4]
            add x4, x1, #24
            mov x10, #0
            mov x11, #9
            casal x10, x11, [x4]
            add x4, x1, #32
            mov w2, #0xFF
            ldeorh w2, w12, [x4]
            mov w2, #0x7F
            ldsmaxb w2, w13, [x4]
            csinc x14, x14, x14, ne
            subs x9, x9, #1
            b.ne 1b
            ldr x4, =0x90000000
            fault: ldadd x2, x15, [x4]
            hvc #0
            .ltorg
            .org 0x800
            .org 0xa00
            hvc #7
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)7], m.HvcCalls);
        byte[] after = new byte[40];
        m.Ram.Read(0x4010_0000, after);
        Assert.Equal(15UL, BitConverter.ToUInt64(after, 0)); // three LDADDs of 5
        Assert.Equal(10UL, m.X(3)); // the third one's old value
        Assert.Equal(0xC0U, BitConverter.ToUInt32(after, 8)); // LDSET 0xF0, then LDCLR 0x30
        Assert.Equal(0xC0UL, m.X(5));
        Assert.Equal(0xF0UL, m.X(6));
        Assert.Equal(77UL, BitConverter.ToUInt64(after, 16));
        Assert.Equal(77UL, m.X(7));
        Assert.Equal(9UL, BitConverter.ToUInt64(after, 24)); // CAS succeeds once: 0 -> 9
        Assert.Equal(9UL, m.X(10)); // and later compares see 9
        // LDEORH 0xFF then LDSMAXB 0x7F: a signed maximum, so 0x80 (-128) and 0xFF (-1) give way to 0x7F.
        Assert.Equal(0x007F, BitConverter.ToUInt16(after, 32));
        Assert.Equal(0x7FUL, m.X(12));
        Assert.Equal(0x80UL, m.X(13));
        Assert.Equal(1UL, m.X(14)); // the CMP's flags survived the atomics: NE on two of three passes
        Assert.Equal(0x25UL, m.State->EsrEl1 >> 26); // Data Abort from the current EL
        Assert.NotEqual(0UL, m.State->EsrEl1 & (1UL << 6)); // WnR: a write
        Assert.Equal(0x9000_0000UL, m.State->FarEl1);
    }

    [Fact]
    public void FaultingLoadTakesTheDataAbortWithTheRightPcAndCount()
    {
        using var m = Machine(Sync);
        // VBAR at 0x40001000: the current-EL synchronous vector holds an HVC.
        m.Load("""
            mov x0, #1
            mov x1, #2
            ldr x2, =0x90000000
            add x0, x0, x1
            ldr x3, [x2]
            mov x4, #5
            hvc #0
            .ltorg
            """);
        m.Load("hvc #1", 0x4000_1200);
        m.State->VbarEl1 = 0x4000_1000;
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)1], m.HvcCalls);
        Assert.Equal(TestMachine.RamBase + 16, m.State->ElrEl1);
        Assert.Equal(0x9000_0000UL, m.State->FarEl1);
        Assert.Equal(3UL, m.X(0));
        Assert.Equal(0UL, m.X(4));
        Assert.Equal(4UL + 1, m.State->Retired);
    }

    [Fact]
    public void ConditionsAfterCompareAndLogicalMatchTheFlags()
    {
        using var m = Machine(Sync);
        // Every condition after a CMP and after a TST, collected as bits by CSET.
        string body = string.Join("\n", Enumerable.Range(0, 14).Select(c =>
            $"cmp x1, x2\ncset x5, {Cond(c)}\norr x10, x10, x5, lsl #{c}\ntst x3, x4\ncset x5, {Cond(c)}\norr x11, x11, x5, lsl #{c}\ncmp w1, w2\ncset x5, {Cond(c)}\norr x12, x12, x5, lsl #{c}"));
        m.Load($"""
            mov x1, #-5
            mov x2, #7
            mov x3, #-1
            mov x4, #0x8000000000000000
            mov x10, #0
            mov x11, #0
            mov x12, #0
            {body}
            hvc #0
            """);
        m.Run();
        ulong[] compiled = [m.X(10), m.X(11), m.X(12), m.State->Nzcv];
        using var i = Machine(new JitOptions { Tier1 = Tier1Mode.Off });
        i.Load($"""
            mov x1, #-5
            mov x2, #7
            mov x3, #-1
            mov x4, #0x8000000000000000
            mov x10, #0
            mov x11, #0
            mov x12, #0
            {body}
            hvc #0
            """);
        i.Run();
        Assert.Equal([i.X(10), i.X(11), i.X(12), i.State->Nzcv], compiled);
    }

    /// <summary>
    /// Registers kept in locals or in the state give the interpreter's results: a loop, a call and return, an
    /// instruction run by the executor (MRS of MIDR_EL1), and a data abort that must find every register stored.
    /// </summary>
    [Theory]
    [InlineData("regs=locals")]
    [InlineData("regs=state")]
    [InlineData("regs=auto")]
    public void RegisterHomesGiveTheInterpretersResults(string regs)
    {
        const string Source = """
            ldr x0, =0x40000800
            msr vbar_el1, x0
            mov x1, #0
            mov x2, #40
            1: add x1, x1, x2
            bl 2f
            subs x2, x2, #1
            b.ne 1b
            mrs x5, midr_el1
            ldr x6, =0x90000000
            mov x7, #77
            ldr x8, [x6]
            hvc #0
            2: eor x3, x3, x1
            add x4, x4, #3
            ret
            .ltorg
            .org 0x800
            .org 0xa00
            hvc #7
            """;
        ulong[] Run(JitOptions o, out ulong retired, out ulong elr)
        {
            using var m = Machine(o);
            m.Load(Source);
            Assert.Equal(ExitReason.Hvc, m.Run());
            Assert.Equal([(ushort)7], m.HvcCalls);
            retired = m.State->Retired;
            elr = m.State->ElrEl1;
            return [.. Enumerable.Range(0, 31).Select(r => m.X(r))];
        }
        var interpreted = Run(new JitOptions { Tier1 = Tier1Mode.Off }, out ulong retiredI, out ulong elrI);
        var compiled = Run(JitOptions.Parse("tier1=sync,threshold=2," + regs), out ulong retiredC, out ulong elrC);
        Assert.Equal(interpreted, compiled);
        Assert.Equal((retiredI, elrI), (retiredC, elrC));
        Assert.Equal(77UL, compiled[7]);
    }

    private static string Cond(int c) => new[] { "eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le" }[c];

    [Theory]
    [InlineData("tier1=sync,threshold=0", Tier1Mode.Synchronous, 0UL, true)]
    [InlineData("tier1=off", Tier1Mode.Off, JitOptions.DefaultThreshold, true)]
    [InlineData("tier1=background,threshold=1000,inline-tlb=off", Tier1Mode.Background, 1000UL, false)]
    [InlineData("regs=auto,tier1=sync", Tier1Mode.Synchronous, JitOptions.DefaultThreshold, true)]
    public void OptionsParse(string text, Tier1Mode mode, ulong threshold, bool inlineTlb)
    {
        var o = JitOptions.Parse(text);
        Assert.Equal((mode, threshold, inlineTlb), (o.Tier1, o.Threshold, o.InlineTlb));
        Assert.Equal(o, JitOptions.Parse(o.ToString()));
    }

    [Theory]
    [InlineData("tier1=fast")]
    [InlineData("threshold=x")]
    [InlineData("regions=maybe")]
    [InlineData("regs=register")]
    [InlineData("tier1")]
    public void BadOptionsAreRejected(string text) => Assert.Throws<FormatException>(() => JitOptions.Parse(text));
}
