using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>The TRNG interface (DEN0098) as Linux's arm_smccc_trng and its boot-time seeding use it.</summary>
public class TrngTests
{
    private static SmcccCall Call(Trng t, uint fid, ulong x1 = 0)
    {
        var c = new SmcccCall { X0 = fid, X1 = x1, X2 = 0xAA, X3 = 0xBB };
        Assert.Equal(SmcccOutcome.Done, t.Call(ref c));
        return c;
    }

    [Fact]
    public void VersionFeaturesAndUuidAreWhatLinuxProbes()
    {
        var t = new Trng();
        Assert.Equal(0x1_0000UL, Call(t, Trng.Version).X0);
        Assert.Equal(0UL, Call(t, Trng.Features, Trng.Rnd64).X0);
        Assert.Equal(0UL, Call(t, Trng.Features, Trng.Rnd32).X0);
        Assert.Equal(ulong.MaxValue, Call(t, Trng.Features, 0x8400_0054).X0);
        var uuid = Call(t, Trng.GetUuid);
        Assert.NotEqual(0xFFFF_FFFFUL, uuid.X0 & 0xFFFF_FFFF); // W0 = -1 would mean NOT_SUPPORTED
        Assert.Equal(ServiceIdentity.Words(Trng.BackEndUuid), ((long)uuid.X0, uuid.X1, uuid.X2, uuid.X3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(130)]
    [InlineData(192)]
    public void Rnd64FillsTheLowBitsOfX1X2X3AndNothingAbove(int bits)
    {
        var t = new Trng(seed: 7);
        ulong[] union = new ulong[3];
        for (int i = 0; i < 64; i++)
        {
            var c = Call(t, Trng.Rnd64, (ulong)bits);
            Assert.Equal(0UL, c.X0);
            ulong[] regs = [c.X3, c.X2, c.X1]; // least significant first
            for (int r = 0; r < 3; r++)
            {
                int here = Math.Clamp(bits - 64 * r, 0, 64);
                ulong allowed = here == 64 ? ulong.MaxValue : (1UL << here) - 1;
                Assert.Equal(0UL, regs[r] & ~allowed);
                union[r] |= regs[r];
            }
        }
        // 64 draws set every allowed bit at least once (a stuck bit would show).
        for (int r = 0; r < 3; r++)
        {
            int here = Math.Clamp(bits - 64 * r, 0, 64);
            Assert.Equal(here == 64 ? ulong.MaxValue : (1UL << here) - 1, union[r]);
        }
    }

    [Fact]
    public void Rnd32UsesWRegistersAndBadSizesAreInvalidWithZeroedRegisters()
    {
        var t = new Trng();
        var c = Call(t, Trng.Rnd32, 96);
        Assert.Equal(0UL, c.X0);
        Assert.True(c.X1 <= uint.MaxValue && c.X2 <= uint.MaxValue && c.X3 <= uint.MaxValue);
        foreach (var (fid, bits) in new[] { (Trng.Rnd32, 0UL), (Trng.Rnd32, 97UL), (Trng.Rnd64, 0UL), (Trng.Rnd64, 193UL) })
        {
            var bad = Call(t, fid, bits);
            Assert.Equal(unchecked((ulong)Trng.InvalidParameters), bad.X0);
            Assert.Equal((0UL, 0UL, 0UL), (bad.X1, bad.X2, bad.X3));
        }
    }

    [Fact]
    public void ASeededTrngRepeatsItsStreamAndTheHostOneDoesNot()
    {
        ulong[] Draw(Trng t) => [.. Enumerable.Range(0, 8).Select(_ => Call(t, Trng.Rnd64, 64).X3)];
        Assert.Equal(Draw(new Trng(seed: 42)), Draw(new Trng(seed: 42)));
        Assert.NotEqual(Draw(new Trng(seed: 42)), Draw(new Trng(seed: 43)));
        Assert.NotEqual(Draw(new Trng()), Draw(new Trng()));
    }

    [Fact]
    public void TheDispatcherRoutesTheTrngRangeAndKeepsPsciApart()
    {
        var d = new SmcccDispatcher();
        d.RouteTrng(new Trng());
        var c = new SmcccCall { X0 = Trng.Version };
        Assert.Equal(SmcccOutcome.Done, d.Dispatch(ref c));
        Assert.Equal(0x1_0000UL, c.X0);
        var psci = new SmcccCall { X0 = 0x8400_0000 }; // PSCI_VERSION, no PSCI routed here
        d.Dispatch(ref psci);
        Assert.Equal(ulong.MaxValue, psci.X0);
    }
}
