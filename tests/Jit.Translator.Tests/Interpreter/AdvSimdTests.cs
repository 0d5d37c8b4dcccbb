using Jit.Runtime;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>
/// AdvSIMD through the interpreter: the idioms glibc's string functions use, a destination that is also a
/// source, the zeroing of the upper half, and FPSR.QC. (Bit-exactness per form is the differential suite's job.)
/// </summary>
public unsafe class AdvSimdTests
{
    private const string EnableFp = "mov x0, #(3 << 20)\nmsr cpacr_el1, x0\nisb\n";

    private static ulong Lo(TestMachine m, int n) => m.State->V[2 * n];
    private static ulong Hi(TestMachine m, int n) => m.State->V[2 * n + 1];

    [Fact]
    public void StrlenIdiomFindsTheFirstZeroByte()
    {
        // glibc's strlen: CMEQ against zero, SHRN #4 to a nibble mask, then count trailing zeros.
        using var m = new TestMachine();
        m.Load(EnableFp + """
            ldr x2, =0x0807060504030201
            ldr x3, =0x100F0E0D000B0A09
            mov v0.d[0], x2
            mov v0.d[1], x3
            cmeq v1.16b, v0.16b, #0
            shrn v1.8b, v1.8h, #4
            mov x4, v1.d[0]
            rbit x4, x4
            clz x4, x4
            lsr x4, x4, #2
            hvc #0
            .ltorg
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(11UL, m.X(4));
    }

    [Fact]
    public void SourcesAreReadBeforeTheDestinationIsWritten()
    {
        using var m = new TestMachine();
        m.Load(EnableFp + """
            ldr x2, =0x0706050403020100
            ldr x3, =0x0F0E0D0C0B0A0908
            mov v0.d[0], x2
            mov v0.d[1], x3
            ext v1.16b, v0.16b, v0.16b, #8
            mov v2.16b, v0.16b
            movi v3.16b, #0x0F
            ldr x5, =0x0001020304050607
            mov v3.d[0], x5
            tbl v2.16b, {v2.16b}, v3.16b
            zip1 v4.16b, v0.16b, v0.16b
            mov v5.16b, v0.16b
            uzp2 v5.8h, v5.8h, v5.8h
            hvc #0
            .ltorg
            """);
        m.Run();
        Assert.Equal((0x0F0E0D0C0B0A0908UL, 0x0706050403020100UL), (Lo(m, 1), Hi(m, 1)));
        Assert.Equal((0x0001020304050607UL, 0x0F0F0F0F0F0F0F0FUL), (Lo(m, 2), Hi(m, 2)));
        Assert.Equal((0x0303020201010000UL, 0x0707060605050404UL), (Lo(m, 4), Hi(m, 4)));
        Assert.Equal((0x0F0E0B0A07060302UL, 0x0F0E0B0A07060302UL), (Lo(m, 5), Hi(m, 5)));
    }

    [Fact]
    public void SixtyFourBitAndScalarResultsZeroTheRestOfTheRegister()
    {
        using var m = new TestMachine();
        m.Load(EnableFp + """
            movi v0.2d, #0xffffffffffffffff
            movi v1.2d, #0xffffffffffffffff
            movi v2.2d, #0xffffffffffffffff
            add v0.8b, v0.8b, v0.8b
            addv b1, v1.16b
            xtn2 v2.16b, v2.8h
            hvc #0
            """);
        m.Run();
        Assert.Equal((0xFEFEFEFEFEFEFEFEUL, 0UL), (Lo(m, 0), Hi(m, 0)));
        Assert.Equal((0xF0UL, 0UL), (Lo(m, 1), Hi(m, 1)));
        // XTN2 writes the upper half and keeps the lower one.
        Assert.Equal((ulong.MaxValue, ulong.MaxValue), (Lo(m, 2), Hi(m, 2)));
    }

    [Fact]
    public void SaturationSetsQcAndQcStaysSet()
    {
        using var m = new TestMachine();
        m.Load(EnableFp + """
            movi v0.16b, #0x7f
            movi v1.16b, #0x01
            sqadd v2.16b, v0.16b, v1.16b
            mov x2, v2.d[0]
            uqadd v3.16b, v1.16b, v1.16b
            hvc #0
            """);
        m.Run();
        Assert.Equal(0x7F7F7F7F7F7F7F7FUL, m.X(2));
        Assert.NotEqual(0UL, m.State->Fpsr & (1UL << 27));
    }

    [Fact]
    public void NoSaturationLeavesQcClear()
    {
        using var m = new TestMachine();
        m.Load(EnableFp + """
            movi v0.16b, #0x20
            movi v1.8h, #0x12
            sqadd v2.16b, v0.16b, v0.16b
            sqxtn b3, h1
            hvc #0
            """);
        m.Run();
        Assert.Equal(0x4040404040404040UL, Lo(m, 2));
        Assert.Equal(0x12UL, Lo(m, 3));
        Assert.Equal(0UL, m.State->Fpsr & (1UL << 27));
    }
}
