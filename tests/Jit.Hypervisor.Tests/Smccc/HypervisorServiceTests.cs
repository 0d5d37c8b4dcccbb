using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>The hypervisor's own services (owners 5 and 6) as a domain routes them.</summary>
public class HypervisorServiceTests
{
    private static SmcccCall Dispatch(Domain d, uint fid)
    {
        var c = new SmcccCall { X0 = fid };
        d.Smccc.Dispatch(ref c);
        return c;
    }

    [Fact]
    public void TheVendorHypervisorUidIsJitsAndNotKvms()
    {
        using var d = new Domain("test");
        var uid = Dispatch(d, 0x8600_FF01);
        Assert.Equal(ServiceIdentity.Words(HypervisorService.JitVendorUid), ((long)uid.X0, uid.X1, uid.X2, uid.X3));
        // KVM's UID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 has 0xb66fb428 in W0; Linux must not take us for KVM.
        Assert.NotEqual(0xB66F_B428UL, uid.X0);
        Assert.Equal((0xB66F_B428L, 0xE911_C52EUL, 0x564B_CAA9UL, 0x743A_004DUL),
            ServiceIdentity.Words(new Guid("28b46fb6-2ec5-11e9-a9ca-4b564d003a74")));
    }

    [Theory]
    [InlineData(0x8500_0000u)]
    [InlineData(0x8600_0000u)]
    public void BothServicesTellTheirCallCountAndRevision(uint owner)
    {
        using var d = new Domain("test");
        Assert.Equal(3UL, Dispatch(d, owner | 0xFF00).X0);
        var revision = Dispatch(d, owner | 0xFF03);
        Assert.Equal((1UL, 0UL), (revision.X0, revision.X1));
        Assert.NotEqual(ulong.MaxValue, Dispatch(d, owner | 0xFF01).X0);
        Assert.Equal(ulong.MaxValue, Dispatch(d, owner | 0x0001).X0); // nothing else is implemented
    }

    [Theory]
    [InlineData(SmcccConduit.Hvc)]
    [InlineData(SmcccConduit.Smc)]
    public void EveryDomainMayAskOverEitherConduit(SmcccConduit conduit)
    {
        using var d = new Domain("guest", domid: 7);
        foreach (uint owner in new uint[] { 0x8500_0000, 0x8600_0000 })
        {
            var count = new SmcccCall { X0 = owner | 0xFF00, DomId = 7, Conduit = conduit };
            d.Smccc.Dispatch(ref count);
            Assert.Equal(3UL, count.X0);
        }
        var uid = new SmcccCall { X0 = 0x8500_FF01, DomId = 7, Conduit = conduit };
        d.Smccc.Dispatch(ref uid);
        Assert.Equal(ServiceIdentity.Words(HypervisorService.JitStandardUid), ((long)uid.X0, uid.X1, uid.X2, uid.X3));
    }

    [Fact]
    public void SmcccPermitCanHideTheVendorHypervisor()
    {
        using var d = new Domain("guest", domid: 1);
        SmcccPermit.TryParse("!vendor-hyp", out var hide, out _);
        d.Smccc.Policy = SmcccPolicy.Create(controlDomain: false, tee: false, [hide!]);
        Assert.Equal(ulong.MaxValue, Dispatch(d, 0x8600_FF01).X0);
        Assert.Equal(3UL, Dispatch(d, 0x8500_FF00).X0);
    }
}
