using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>The defaults per domid and TEE, and how <c>smccc_permit</c> entries change them owner by owner.</summary>
public class SmcccPolicyTests
{
    // One fast call of each owner, and a yielding Trusted OS call.
    private const uint Arch = 0x8000_0000, Cpu = 0x8100_0000, Sip = 0x8200_0001, Oem = 0x8300_0000, Psci = 0x8400_0000,
        Trng = 0x8400_0050, StdHyp = 0x8500_FF01, VendorHyp = 0x8600_FF01, Tapp = 0xB000_0000, Tos = 0xBF00_FF01,
        TosYielding = 0x3200_0004, Reserved = 0x8700_0000;

    private static bool Permits(SmcccPolicy p, uint fid, SmcccConduit conduit = SmcccConduit.Hvc) =>
        p.Permits(conduit, SmcccPolicy.OwnerOf(fid), fid);

    private static SmcccPolicy With(bool control, bool tee, params string[] entries) =>
        SmcccPolicy.Create(control, tee, entries.Select(e => SmcccPermit.TryParse(e, out var p, out string problem) ? p : throw new ArgumentException(problem)));

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void DefaultsFollowDomidAndTee(bool control, bool tee)
    {
        var p = SmcccPolicy.Create(control, tee);
        foreach (var conduit in new[] { SmcccConduit.Hvc, SmcccConduit.Smc })
        {
            // The standard services, for everyone.
            foreach (uint fid in new[] { Arch, Psci, Trng, StdHyp, VendorHyp })
                Assert.True(Permits(p, fid, conduit), $"0x{fid:x8} over {conduit}");
            Assert.Equal(control, Permits(p, Sip, conduit));
            Assert.Equal(tee, Permits(p, Tos, conduit));
            Assert.Equal(tee, Permits(p, TosYielding, conduit));
            Assert.Equal(tee, Permits(p, Tapp, conduit));
            foreach (uint fid in new[] { Cpu, Oem, Reserved })
                Assert.False(Permits(p, fid, conduit), $"0x{fid:x8} over {conduit}");
        }
    }

    [Fact]
    public void TheYieldingRangeBelongsToTheTrustedOs()
    {
        Assert.Equal(50, SmcccPolicy.OwnerOf(0x0200_0000));
        Assert.Equal(50, SmcccPolicy.OwnerOf(0x3FFF_FFFF));
        Assert.Equal(50, SmcccPolicy.OwnerOf(0x3200_0004));
        Assert.Equal(1, SmcccPolicy.OwnerOf(0x0100_0000));   // reserved for existing APIs: owner field
        Assert.Equal(0, SmcccPolicy.OwnerOf(0x4000_0000));
        Assert.Equal(2, SmcccPolicy.OwnerOf(0x8200_0000));
        Assert.Equal(63, SmcccPolicy.OwnerOf(0xBF00_FF01));
    }

    [Fact]
    public void ARangeGrantsOnlyItsCallsAndReplacesTheDefault()
    {
        // A domU gets the SoC ID call and nothing else of the SiP's.
        var domU = With(false, false, "sip:0x82000001");
        Assert.True(Permits(domU, 0x8200_0001));
        Assert.False(Permits(domU, 0x8200_0002));
        Assert.False(Permits(domU, 0xC200_0001));
        // The control domain, which had all of them, keeps only that one too.
        var dom0 = With(true, false, "sip:0x82000001");
        Assert.False(Permits(dom0, 0x8200_0002));
        // Owners not named keep their defaults.
        Assert.True(Permits(dom0, Psci));
        Assert.False(Permits(dom0, Tos));
    }

    [Fact]
    public void EntriesForOneOwnerAddUp()
    {
        var p = With(false, false, "sip:0x82000001", "sip:0x82000003-0x82000004", "smc:sip:0xc2000010");
        foreach (uint fid in new uint[] { 0x8200_0001, 0x8200_0003, 0x8200_0004 }) Assert.True(Permits(p, fid));
        foreach (uint fid in new uint[] { 0x8200_0000, 0x8200_0002, 0x8200_0005 }) Assert.False(Permits(p, fid));
        Assert.True(Permits(p, 0xC200_0010, SmcccConduit.Smc));
        Assert.False(Permits(p, 0xC200_0010, SmcccConduit.Hvc));
    }

    [Fact]
    public void AConduitPrefixGrantsOverThatConduitOnly()
    {
        var p = With(false, false, "smc:sip");
        Assert.True(Permits(p, Sip, SmcccConduit.Smc));
        Assert.False(Permits(p, Sip, SmcccConduit.Hvc));
        // Naming the owner replaced its default over both conduits: the control domain loses SiP over HVC.
        var dom0 = With(true, false, "smc:sip");
        Assert.False(Permits(dom0, Sip, SmcccConduit.Hvc));
    }

    [Fact]
    public void BangTakesAnOwnerAway()
    {
        var p = With(true, true, "!sip", "!tos", "!vendor-hyp");
        Assert.False(Permits(p, Sip));
        Assert.False(Permits(p, Tos));
        Assert.False(Permits(p, TosYielding));
        Assert.False(Permits(p, VendorHyp));
        Assert.True(Permits(p, Tapp));
        Assert.True(Permits(p, StdHyp));
    }

    [Fact]
    public void TrustedOsRangesCoverEveryOwnerOfTheGroup()
    {
        var p = With(false, false, "tos:0xb2000000-0xbf00ffff", "hvc:tos:0x32000000-0x3200ffff");
        Assert.True(Permits(p, 0xB200_0000));
        Assert.True(Permits(p, Tos));
        Assert.False(Permits(p, 0xBF01_0000));
        Assert.True(Permits(p, TosYielding, SmcccConduit.Hvc));
        Assert.False(Permits(p, TosYielding, SmcccConduit.Smc));
        Assert.False(Permits(p, Tapp));
    }

    [Fact]
    public void StandardServicesCanBeNarrowed()
    {
        // PSCI only: the TRNG is taken away.
        var p = With(false, false, "std:0x84000000-0x8400001f", "std:0xc4000000-0xc400001f");
        Assert.True(Permits(p, Psci));
        Assert.True(Permits(p, 0xC400_0003));
        Assert.False(Permits(p, Trng));
    }

    [Fact]
    public void ItDescribesItself()
    {
        Assert.Equal("hvc: arch sip:0x82000001 std hyp vendor-hyp\nsmc: arch sip:0x82000001-0x82000003 std hyp vendor-hyp",
            With(false, false, "hvc:sip:0x82000001", "smc:sip:0x82000001-0x82000003").ToString());
        Assert.Equal("hvc: arch sip std hyp vendor-hyp tapp tos\nsmc: arch sip std hyp vendor-hyp tapp tos", SmcccPolicy.Create(true, true).ToString());
    }

    [Fact]
    public void TheCheckAllocatesNothing()
    {
        var p = With(false, false, "sip:0x82000001", "sip:0x82000003");
        bool any = false;
        // Four windows: an allocation per check shows in every one; a runtime one-off (tier-up) in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 250; i++)
                any |= Permits(p, Psci) & !Permits(p, 0x8200_0002) & Permits(p, 0x8200_0003, SmcccConduit.Smc) & !Permits(p, Tos);
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per 250 checks: {string.Join(", ", windows)}");
        Assert.True(any);
    }
}
