using Jit.Runtime;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>Synchronous exceptions to EL1: vectors, ESR/ELR/FAR/SPSR, and ERET back.</summary>
public unsafe class ExceptionTests
{
    // A vector table at +0x800 whose "current EL, SPx, synchronous" entry (+0x200) leaves through hvc #1.
    private const string Vectors = """
        .org 0x800
        vectors:
        .org 0xa00
            hvc #1
        .org 0xc00
            hvc #2
        """;

    private static TestMachine Start(string body)
    {
        var m = new TestMachine();
        m.Load($"""
            ldr x0, =0x40000800
            msr vbar_el1, x0
            {body}
            hvc #0
            .ltorg
            {Vectors}
            """);
        return m;
    }

    private static uint Ec(ulong esr) => (uint)(esr >> 26);

    [Fact]
    public void UndefinedInstructionVectorsWithEcZeroAndElrAtTheInstruction()
    {
        using var m = Start("nop\n.inst 0x00a00000");
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)1], m.HvcCalls);
        Assert.Equal(0u, Ec(m.State->EsrEl1));
        Assert.Equal(1UL, (m.State->EsrEl1 >> 25) & 1); // IL: 32-bit instruction
        Assert.Equal(TestMachine.RamBase + 12, m.State->ElrEl1);
        Assert.Equal(0x3C5UL, m.State->SpsrEl1); // EL1h with DAIF masked, as at reset
    }

    [Fact]
    public void SvcReturnsPastTheInstructionWithTheImmediateInTheSyndrome()
    {
        using var m = Start("svc #0x42");
        m.Run();
        Assert.Equal(0x15u, Ec(m.State->EsrEl1));
        Assert.Equal(0x42UL, m.State->EsrEl1 & 0xFFFF);
        Assert.Equal(TestMachine.RamBase + 12, m.State->ElrEl1);
    }

    [Fact]
    public void BrkReportsItsImmediateAndPointsAtItself()
    {
        using var m = Start("brk #0x7");
        m.Run();
        Assert.Equal(0x3Cu, Ec(m.State->EsrEl1));
        Assert.Equal(7UL, m.State->EsrEl1 & 0xFFFF);
        Assert.Equal(TestMachine.RamBase + 8, m.State->ElrEl1);
    }

    [Fact]
    public void LoadFromUnbackedAddressIsASynchronousExternalDataAbort()
    {
        using var m = Start("mov x1, #0x10000000\nldr x2, [x1, #8]");
        m.Run();
        Assert.Equal(0x25u, Ec(m.State->EsrEl1));
        Assert.Equal(0x10UL, m.State->EsrEl1 & 0x3F);     // DFSC: synchronous external abort
        Assert.Equal(0UL, (m.State->EsrEl1 >> 6) & 1);    // WnR: read
        Assert.Equal(0x1000_0008UL, m.State->FarEl1);
        Assert.Equal(TestMachine.RamBase + 12, m.State->ElrEl1);
    }

    [Fact]
    public void StoreToUnbackedAddressSetsWnR()
    {
        using var m = Start("mov x1, #0x10000000\nstr x2, [x1]");
        m.Run();
        Assert.Equal(0x25u, Ec(m.State->EsrEl1));
        Assert.Equal(1UL, (m.State->EsrEl1 >> 6) & 1);
    }

    [Fact]
    public void UnalignedAccessWithMmuOffIsAnAlignmentFault()
    {
        // With the MMU off data accesses are Device memory, which must be aligned.
        using var m = Start("ldr x1, =0x40000101\nldr x2, [x1]");
        m.Run();
        Assert.Equal(0x25u, Ec(m.State->EsrEl1));
        Assert.Equal(0x21UL, m.State->EsrEl1 & 0x3F);
    }

    [Fact]
    public void BranchToUnbackedAddressIsAnInstructionAbort()
    {
        using var m = Start("mov x1, #0x10000000\nbr x1");
        m.Run();
        Assert.Equal(0x21u, Ec(m.State->EsrEl1));
        Assert.Equal(0x1000_0000UL, m.State->FarEl1);
        Assert.Equal(0x1000_0000UL, m.State->ElrEl1);
    }

    [Fact]
    public void EretReturnsToEl0AndSvcComesBackThroughTheLowerElVector()
    {
        using var m = Start("""
            adr x1, user
            msr elr_el1, x1
            msr spsr_el1, xzr
            eret
            user:
            mov x5, #5
            svc #1
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)2], m.HvcCalls);       // lower-EL synchronous vector (+0x400)
        Assert.Equal(5UL, m.X(5));
        Assert.Equal(0x15u, Ec(m.State->EsrEl1));
        Assert.Equal(0UL, m.State->SpsrEl1 & 0xF);  // came from EL0t
        Assert.Equal(1u, m.State->EL);
    }

    [Fact]
    public void PrivilegedRegisterAtEl0IsUndefined()
    {
        using var m = Start("""
            adr x1, user
            msr elr_el1, x1
            msr spsr_el1, xzr
            eret
            user:
            mrs x0, sctlr_el1
            """);
        m.Run();
        Assert.Equal([(ushort)2], m.HvcCalls);
        Assert.Equal(0u, Ec(m.State->EsrEl1));
    }

    [Fact]
    public void StackPointerSelectionBanksSpEl0AndSpEl1()
    {
        using var m = Start("""
            mov x0, #0x1000
            mov sp, x0
            msr spsel, #0
            mov x1, #0x2000
            mov sp, x1
            msr spsel, #1
            mov x2, sp
            mrs x3, sp_el0
            """);
        m.Run();
        Assert.Equal(0x1000UL, m.X(2));
        Assert.Equal(0x2000UL, m.X(3));
    }
}
