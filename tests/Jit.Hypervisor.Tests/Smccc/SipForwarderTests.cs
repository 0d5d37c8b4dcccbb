using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Sip;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>SiP calls forwarded to the modelled secure monitor's platform firmware, as each domain's policy allows.</summary>
public class SipForwarderTests
{
    private static SmcccCall Call(Domain d, uint fid, ulong x1 = 0, ulong x2 = 0, SmcccConduit conduit = SmcccConduit.Smc)
    {
        var c = new SmcccCall { X0 = fid, X1 = x1, X2 = x2, X7 = 0xBAD, DomId = d.DomId, Conduit = conduit };
        d.Smccc.Dispatch(ref c);
        return c;
    }

    [Fact]
    public void TheControlDomainGetsTheFirmwaresAnswer()
    {
        using var dom0 = new Domain("dom0", domid: 0);
        var soc = Call(dom0, PlatformFirmware.SocId, x1: PlatformFirmware.SocIdVersion);
        Assert.Equal(PlatformFirmware.SocVersion, soc.X0);
        var uid = Call(dom0, PlatformFirmware.CallUid, conduit: SmcccConduit.Hvc);
        Assert.Equal(ServiceIdentity.Words(PlatformFirmware.Uid), ((long)uid.X0, uid.X1, uid.X2, uid.X3));
        // The firmware checks its arguments whoever forwarded the call.
        Assert.Equal(ulong.MaxValue - 2, Call(dom0, PlatformFirmware.ClockSet, x1: 99, x2: 1).X0);
        Assert.Equal(0UL, dom0.Smccc.Denied[(int)SmcccOwner.SiP]);
    }

    [Fact]
    public void ADomUIsDeniedAndTheFirmwareNeverSeesTheCall()
    {
        var machine = new HostMachine(EntropySources.Seeded(1));
        var host = machine.SecureWorld;
        using var dom0 = new Domain("dom0", domid: 0) { HostMachine = machine };
        using var domU = new Domain("guest", domid: 1) { HostMachine = machine };
        const uint display = 4;
        Assert.Equal(ulong.MaxValue, Call(domU, PlatformFirmware.ClockSet, x1: display, x2: 0).X0);
        Assert.True(host.Firmware.Clocks[(int)display].Running);
        Assert.Equal(1UL, domU.Smccc.Denied[(int)SmcccOwner.SiP]);

        // The same call from the control domain reaches the same, shared, firmware.
        Assert.Equal(0UL, Call(dom0, PlatformFirmware.ClockSet, x1: display, x2: 0).X0);
        Assert.False(host.Firmware.Clocks[(int)display].Running);
        var clock = Call(domU, PlatformFirmware.ClockGet, x1: display);
        Assert.Equal(ulong.MaxValue, clock.X0);
    }

    [Fact]
    public void SmcccPermitCanGiveADomUOneSipCall()
    {
        using var domU = new Domain("guest", domid: 1);
        SmcccPermit.TryParse("sip:0x82000001", out var permit, out _);
        domU.Smccc.Policy = SmcccPolicy.Create(controlDomain: false, tee: false, [permit!]);
        Assert.Equal(PlatformFirmware.SocRevision, Call(domU, PlatformFirmware.SocId, x1: PlatformFirmware.SocIdRevision).X0);
        Assert.Equal(ulong.MaxValue, Call(domU, PlatformFirmware.ClockGet, x1: 0).X0);
    }

    [Fact]
    public void TheGuestsA7IsReplacedByItsClientId()
    {
        var call = new SmcccCall { X0 = 0x8200_0001, X1 = 1, X2 = 2, X3 = 3, X4 = 4, X5 = 5, X6 = 6, X7 = 0xFFFF_FFFF, DomId = 4 };
        var smc = SipForwarder.Forwarded(in call);
        Assert.Equal(0x8200_0001u, smc.FunctionId);
        Assert.Equal(SecureCall.ClientIdForDomain(4), smc.ClientId);
        Assert.Equal(5UL, smc.A7);
        Assert.Equal((1UL, 2UL, 3UL, 4UL, 5UL, 6UL), (smc.A1, smc.A2, smc.A3, smc.A4, smc.A5, smc.A6));
    }
}
