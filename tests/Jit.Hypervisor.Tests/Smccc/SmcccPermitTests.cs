using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>One entry of <c>smccc_permit</c>: the forms that parse, and a one-phrase problem for each that does not.</summary>
public class SmcccPermitTests
{
    [Theory]
    [InlineData("sip", SmcccPermitOwner.Sip, SmcccConduits.Both, true, 0u, 0u)]
    [InlineData("tos", SmcccPermitOwner.Tos, SmcccConduits.Both, true, 0u, 0u)]
    [InlineData("std", SmcccPermitOwner.Std, SmcccConduits.Both, true, 0u, 0u)]
    [InlineData("vendor-hyp", SmcccPermitOwner.VendorHyp, SmcccConduits.Both, true, 0u, 0u)]
    [InlineData("smc:sip", SmcccPermitOwner.Sip, SmcccConduits.Smc, true, 0u, 0u)]
    [InlineData("HVC:Tapp", SmcccPermitOwner.Tapp, SmcccConduits.Hvc, true, 0u, 0u)]
    [InlineData("sip:0x82000000-0x8200ffff", SmcccPermitOwner.Sip, SmcccConduits.Both, false, 0x8200_0000u, 0x8200_FFFFu)]
    [InlineData("smc:sip:0x82000001", SmcccPermitOwner.Sip, SmcccConduits.Smc, false, 0x8200_0001u, 0x8200_0001u)]
    [InlineData("sip:0xC2000000-0xC2FFFFFF", SmcccPermitOwner.Sip, SmcccConduits.Both, false, 0xC200_0000u, 0xC2FF_FFFFu)]
    // tos spans owners 50-63 and every yielding call of 0x02000000-0x3FFFFFFF.
    [InlineData("tos:0xb2000000-0xbf00ffff", SmcccPermitOwner.Tos, SmcccConduits.Both, false, 0xB200_0000u, 0xBF00_FFFFu)]
    [InlineData("tos:0x02000000-0x3fffffff", SmcccPermitOwner.Tos, SmcccConduits.Both, false, 0x0200_0000u, 0x3FFF_FFFFu)]
    [InlineData("std:0x84000050-0x8400005f", SmcccPermitOwner.Std, SmcccConduits.Both, false, 0x8400_0050u, 0x8400_005Fu)]
    public void ValidEntries(string text, SmcccPermitOwner owner, SmcccConduits conduits, bool whole, uint first, uint last)
    {
        Assert.True(SmcccPermit.TryParse(text, out var p, out string problem), problem);
        Assert.Equal((owner, conduits, whole, false), (p.Owner, p.Conduits, p.WholeOwner, p.Deny));
        if (!whole) Assert.Equal((first, last), (p.First, p.Last));
        Assert.Equal(text, p.Text);
    }

    [Fact]
    public void BangDeniesAnOwner()
    {
        Assert.True(SmcccPermit.TryParse("!sip", out var p, out _));
        Assert.True(p.Deny);
        Assert.Equal(SmcccPermitOwner.Sip, p.Owner);
    }

    [Theory]
    [InlineData("", "no owner")]
    [InlineData("secure", "\"secure\" is not an owner: arch, cpu, sip, oem, std, hyp, vendor-hyp, tapp or tos")]
    [InlineData("smc", "smc alone names no owner")]
    [InlineData("smc:", "no owner")]
    [InlineData("smc:hvc:sip", "\"hvc\" is not an owner")]
    [InlineData("sip:0x82000000:0x1", "too many ':' fields")]
    [InlineData("sip:82000000", "\"82000000\" is not a function ID: write it in hex")]
    [InlineData("sip:0x", "\"0x\" is not a function ID")]
    [InlineData("sip:0x1ffffffff", "\"0x1ffffffff\" is not a function ID")]
    [InlineData("sip:0x8200zz00", "\"0x8200zz00\" is not a function ID")]
    [InlineData("sip:0x82000000-", "\"\" is not a function ID")]
    [InlineData("sip:0x8200ffff-0x82000000", "the range 0x8200ffff-0x82000000 is empty")]
    [InlineData("sip:0x83000000", "0x83000000 is not a function ID of sip: its owner is 3 (OEM service)")]
    [InlineData("arch:0x80000000-0x83000000", "0x83000000 is not a function ID of arch")]
    [InlineData("sip:0x82000000-0xc2000000", "the range 0x82000000-0xc2000000 takes in other owners' calls")]
    // A yielding call with owner field 2 is the Trusted OS's, not the SiP's.
    [InlineData("sip:0x02000000", "0x02000000 is not a function ID of sip: its owner is 50 (trusted OS)")]
    [InlineData("!smc:sip", "'!' takes an owner alone")]
    [InlineData("!sip:0x82000000", "'!' takes an owner alone")]
    public void InvalidEntriesSayWhy(string text, string problem)
    {
        Assert.False(SmcccPermit.TryParse(text, out var p, out string said));
        Assert.Null(p);
        Assert.Contains(problem, said);
        Assert.DoesNotContain('\n', said);
    }
}
