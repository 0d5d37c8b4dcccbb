using Jit.Translator.Interpreter.FloatingPoint;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>
/// FpCore alone. The differential tests compare it with qemu; these check the host fast path against the soft
/// float on many more operands than qemu can run, and pin a few results of the Arm ARM's rules.
/// </summary>
[Collection(nameof(FpCoreTests))]
public class FpCoreTests
{
    private delegate ulong Binary(ulong a, ulong b, int n, ulong fpcr, ref ulong fpsr);

    private static readonly (string Name, Binary Op)[] binaries =
    [
        ("add", FpCore.Add), ("sub", FpCore.Sub), ("mul", FpCore.Mul), ("div", FpCore.Div),
        ("sqrt", (ulong a, ulong _, int n, ulong fpcr, ref ulong fpsr) => FpCore.Sqrt(a, n, fpcr, ref fpsr)),
    ];

    /// <summary>Normal operands of every exponent, and close pairs, so results land near both ends of the range.</summary>
    private static ulong Operand(Random r, int n, ulong other)
    {
        int f = n == 32 ? 23 : 52, e = n == 32 ? 8 : 11;
        ulong sign = (ulong)r.Next(2) << (n - 1);
        if (other != 0 && r.Next(4) == 0) return (other + (ulong)r.Next(-2, 3)) ^ (r.Next(2) == 0 ? 0 : 1UL << (n - 1));
        ulong exp = (ulong)r.Next(1, (1 << e) - 1);
        if (r.Next(3) == 0) exp = (ulong)((1 << (e - 1)) - 1 + r.Next(-30, 30));
        ulong frac = (ulong)r.NextInt64() & ((1UL << f) - 1);
        if (r.Next(4) == 0) frac &= ~((1UL << r.Next(f)) - 1);
        return sign | exp << f | frac;
    }

    [Fact]
    public void HostPathAgreesWithSoftFloat()
    {
        var r = new Random(7);
        try
        {
            foreach (int n in new[] { 32, 64 })
                foreach (var (name, op) in binaries)
                    for (int i = 0; i < 200_000; i++)
                    {
                        ulong a = Operand(r, n, 0), b = Operand(r, n, a);
                        ulong fpcr = r.Next(4) == 0 ? 1UL << 24 : 0;
                        ulong fastFlags = 0, softFlags = 0;
                        FpCore.UseHostArithmetic = true;
                        ulong fast = op(a, b, n, fpcr, ref fastFlags);
                        FpCore.UseHostArithmetic = false;
                        ulong soft = op(a, b, n, fpcr, ref softFlags);
                        Assert.True(fast == soft && fastFlags == softFlags,
                            $"{name}{n}({a:x}, {b:x}): host {fast:x} flags {fastFlags:x}, soft float {soft:x} flags {softFlags:x}");
                    }
        }
        finally
        {
            FpCore.UseHostArithmetic = true;
        }
    }

    [Theory]
    // FPProcessNaNs: a signalling NaN wins over an earlier quiet one, and comes back quiet with IOC.
    [InlineData("add", 32, 0x7FC0_0001UL, 0x7F80_0002UL, 0UL, 0x7FC0_0002UL, FpCore.Ioc)]
    // DN replaces any NaN result with the default NaN.
    [InlineData("mul", 32, 0x7FC0_1234UL, 0x3F80_0000UL, 1UL << 25, 0x7FC0_0000UL, 0UL)]
    // FZ: a denormal input counts as zero (IDC); 0 × ∞ is then invalid.
    [InlineData("mul", 64, 1UL, 0x7FF0_0000_0000_0000UL, 1UL << 24, 0x7FF8_0000_0000_0000UL, FpCore.Ioc | FpCore.Idc)]
    // Round towards minus infinity gives −0 for an exact zero sum.
    [InlineData("sub", 64, 0x3FF0_0000_0000_0000UL, 0x3FF0_0000_0000_0000UL, 2UL << 22, 0x8000_0000_0000_0000UL, 0UL)]
    // FZ flushes a tiny result to zero with UFC and no IXC.
    [InlineData("mul", 32, 0x0080_0000UL, 0x3F00_0000UL, 1UL << 24, 0UL, FpCore.Ufc)]
    // Without FZ the same product is a denormal, exact: no flags (tininess counts only when inexact).
    [InlineData("mul", 32, 0x0080_0000UL, 0x3F00_0000UL, 0UL, 0x0040_0000UL, 0UL)]
    // Division of a finite non-zero value by zero: DZC and a signed infinity.
    [InlineData("div", 64, 0xBFF0_0000_0000_0000UL, 0UL, 0UL, 0xFFF0_0000_0000_0000UL, FpCore.Dzc)]
    public void FollowsTheArmRules(string name, int n, ulong a, ulong b, ulong fpcr, ulong expected, ulong flags)
    {
        var op = binaries.Single(x => x.Name == name).Op;
        ulong fpsr = 0;
        Assert.Equal(expected, op(a, b, n, fpcr, ref fpsr));
        Assert.Equal(flags, fpsr);
    }

    [Fact]
    public void ConvertsToAlternativeHalfPrecision()
    {
        ulong ahp = 1UL << 26, fpsr = 0;
        // AHP has no infinity: +∞ becomes the largest value with IOC; 65536 is representable (exponent 31).
        Assert.Equal(0x7FFFUL, FpCore.Convert(0x7F80_0000, 32, 16, FpRounding.TieEven, ahp, ref fpsr));
        Assert.Equal(FpCore.Ioc, fpsr);
        fpsr = 0;
        Assert.Equal(0x7C00UL, FpCore.Convert(0x4780_0000, 32, 16, FpRounding.TieEven, ahp, ref fpsr));
        Assert.Equal(0UL, fpsr);
        // A NaN becomes a zero of its sign, with IOC.
        Assert.Equal(0x8000UL, FpCore.Convert(0xFFC0_0000, 32, 16, FpRounding.TieEven, ahp, ref fpsr));
        Assert.Equal(FpCore.Ioc, fpsr);
    }
}
