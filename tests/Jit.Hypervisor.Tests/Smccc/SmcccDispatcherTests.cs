using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

public class SmcccDispatcherTests
{
    private sealed class Recorder(string name, SmcccOutcome outcome = SmcccOutcome.Done) : ISmcccService
    {
        public readonly List<uint> Calls = [];
        public string Name => name;

        public SmcccOutcome Call(ref SmcccCall call)
        {
            Calls.Add(call.FunctionId);
            if (outcome != SmcccOutcome.Unknown) call.Return(0x600D, 1, 2, 3);
            return outcome;
        }
    }

    private static SmcccCall Make(uint fid, ulong x1 = 0) => new() { X0 = fid, X1 = x1, X2 = 0xAA, X3 = 0xBB };

    [Theory]
    [InlineData(0x8200_0000u, SmcccOwner.SiP)]
    [InlineData(0xC200_0010u, SmcccOwner.SiP)]
    [InlineData(0x8100_0001u, SmcccOwner.Cpu)]
    [InlineData(0x8300_FF01u, SmcccOwner.Oem)]
    [InlineData(0x8500_0000u, SmcccOwner.StandardHypervisor)]
    [InlineData(0xC600_0000u, SmcccOwner.VendorHypervisor)]
    [InlineData(0xB000_0000u, SmcccOwner.TrustedApplication)]
    [InlineData(0xBF00_0000u, SmcccOwner.TrustedOs)]
    [InlineData(0xB200_1234u, SmcccOwner.TrustedOs)]
    public void FastCallsGoToTheServiceOfTheirOwner(uint fid, SmcccOwner owner)
    {
        var d = new SmcccDispatcher();
        var services = new Dictionary<SmcccOwner, Recorder>
        {
            [SmcccOwner.Cpu] = new("cpu"), [SmcccOwner.SiP] = new("sip"), [SmcccOwner.Oem] = new("oem"),
            [SmcccOwner.StandardHypervisor] = new("std-hyp"), [SmcccOwner.VendorHypervisor] = new("vendor-hyp"),
            [SmcccOwner.TrustedApplication] = new("ta"), [SmcccOwner.TrustedOs] = new("tos"),
        };
        foreach (var (o, s) in services)
        {
            if (o == SmcccOwner.TrustedApplication) d.Route(o, SmcccOwner.TrustedApplicationLast, s);
            else if (o == SmcccOwner.TrustedOs) d.Route(o, SmcccOwner.TrustedOsLast, s);
            else d.Route(o, s);
        }
        var call = Make(fid);
        Assert.Equal(SmcccOutcome.Done, d.Dispatch(ref call));
        Assert.Equal(0x600DUL, call.X0);
        foreach (var (o, s) in services)
            Assert.Equal(o == owner ? [fid] : Array.Empty<uint>(), s.Calls);
    }

    [Fact]
    public void PsciOwnsOnlyItsRangeOfTheStandardSecureService()
    {
        var d = new SmcccDispatcher();
        var psci = new Recorder("psci");
        d.RoutePsci(psci);
        var inRange = Make(0x8400_001F);
        d.Dispatch(ref inRange);
        // 0x20 starts SDEI, which is not PSCI's.
        var sdei = Make(0x8400_0020);
        d.Dispatch(ref sdei);
        Assert.Equal([0x8400_001Fu], psci.Calls);
        Assert.Equal(ulong.MaxValue, sdei.X0);
    }

    [Theory]
    [InlineData(0x8200_0000u)]  // SiP: nothing routed
    [InlineData(0x8700_0000u)]  // reserved owner
    [InlineData(0xAF00_0000u)]  // reserved owner 47
    [InlineData(0x8401_0000u)]  // PSCI number but bits [23:16] set
    [InlineData(0x0000_0000u)]  // yielding call outside the Trusted OS range
    [InlineData(0x0100_0000u)]
    public void UnknownCallsAnswerNotSupportedAndLeaveTheOtherRegisters(uint fid)
    {
        var d = new SmcccDispatcher();
        d.RoutePsci(new Recorder("psci"));
        var call = Make(fid, x1: 0x11);
        Assert.Equal(SmcccOutcome.Done, d.Dispatch(ref call));
        Assert.Equal(ulong.MaxValue, call.X0);   // -1 in W0 and in X0
        Assert.Equal(0x11UL, call.X1);
        Assert.Equal(0xAAUL, call.X2);
    }

    [Fact]
    public void YieldingCallsGoToTheTrustedOs()
    {
        var d = new SmcccDispatcher();
        var tos = new Recorder("tos");
        d.Route(SmcccOwner.TrustedOs, SmcccOwner.TrustedOsLast, tos);
        var call = Make(0x3200_0004);
        d.Dispatch(ref call);
        Assert.Equal([0x3200_0004u], tos.Calls);
    }

    /// <summary>
    /// An unknown function ID probed again and again costs what a known one costs: after its first report,
    /// answering it allocates nothing (no log key or message is built per call).
    /// </summary>
    [Fact]
    public void RepeatedUnknownCallsAllocateNothing()
    {
        var d = new SmcccDispatcher();
        var warm = Make(0x8600_FF01);
        d.Dispatch(ref warm);
        // Four windows: an allocation per call shows in every one; a one-off of the runtime's own (a method
        // promoted by tiered compilation meanwhile) in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 250; i++)
            {
                var call = Make(0x8600_FF01);
                d.Dispatch(ref call);
                if (call.X0 != warm.X0) Assert.Fail($"call {i} answered 0x{call.X0:x}, the first 0x{warm.X0:x}");
            }
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per 250 calls: {string.Join(", ", windows)}");
        Assert.Equal(0xFFFF_FFFFUL, warm.X0 & 0xFFFF_FFFF); // NOT_SUPPORTED, -1
    }

    [Fact]
    public void AServiceThatDoesNotKnowTheFunctionGetsNotSupportedAnswered()
    {
        var d = new SmcccDispatcher();
        d.Route(SmcccOwner.SiP, new Recorder("sip", SmcccOutcome.Unknown));
        var call = Make(0x8200_0042);
        Assert.Equal(SmcccOutcome.Done, d.Dispatch(ref call));
        Assert.Equal(ulong.MaxValue, call.X0);
    }

    [Fact]
    public void StopVcpuPassesThrough()
    {
        var d = new SmcccDispatcher();
        d.RoutePsci(new Recorder("psci", SmcccOutcome.StopVcpu));
        var call = Make(Psci.SystemOff);
        Assert.Equal(SmcccOutcome.StopVcpu, d.Dispatch(ref call));
    }

    [Fact]
    public void TheStandardSecureServiceCannotBeRoutedWhole()
    {
        Assert.Throws<ArgumentException>(() => new SmcccDispatcher().Route(SmcccOwner.StandardSecure, new Recorder("x")));
    }

    [Fact]
    public void ADeniedCallReachesNoServiceAndIsAnsweredNotSupported()
    {
        var d = new SmcccDispatcher { Policy = SmcccPolicy.Create(controlDomain: false, tee: false) };
        var sip = new Recorder("sip");
        var tos = new Recorder("tos");
        d.Route(SmcccOwner.SiP, sip);
        d.Route(SmcccOwner.TrustedOs, SmcccOwner.TrustedOsLast, tos);
        foreach (uint fid in new uint[] { 0x8200_0001, 0xC200_0002, 0x8200_0001, 0xBF00_FF01, 0x3200_0004 })
        {
            var call = Make(fid, x1: 0x11);
            call.DomId = 1;
            call.Conduit = SmcccConduit.Smc;
            Assert.Equal(SmcccOutcome.Done, d.Dispatch(ref call));
            Assert.Equal(ulong.MaxValue, call.X0);
            Assert.Equal((0x11UL, 0xAAUL, 0xBBUL), (call.X1, call.X2, call.X3));
        }
        Assert.Empty(sip.Calls);
        Assert.Empty(tos.Calls);
        var byOwner = Jit.Hypervisor.Statistics.SmcccOwners.ByGroup(d.Denied.ToArray()).Where(g => g.Calls > 0);
        Assert.Equal([("sip", 3UL), ("trustedOs", 2UL)], byOwner);
    }

    [Fact]
    public void ThePolicyIsCheckedPerConduit()
    {
        var d = new SmcccDispatcher();
        d.Policy = SmcccPolicy.Create(false, false, [SmcccPermit.TryParse("smc:sip", out var p, out _) ? p : null!]);
        var sip = new Recorder("sip");
        d.Route(SmcccOwner.SiP, sip);
        var overSmc = Make(0x8200_0001);
        overSmc.Conduit = SmcccConduit.Smc;
        d.Dispatch(ref overSmc);
        var overHvc = Make(0x8200_0001);
        overHvc.Conduit = SmcccConduit.Hvc;
        d.Dispatch(ref overHvc);
        Assert.Equal((0x600DUL, ulong.MaxValue), (overSmc.X0, overHvc.X0));
        Assert.Equal([0x8200_0001u], sip.Calls);
        Assert.Equal(1UL, d.Denied[(int)SmcccOwner.SiP]);
    }

    [Fact]
    public void Smc32ArgumentsAreTruncatedTo32Bits()
    {
        var c32 = new SmcccCall { X0 = 0x8400_0003, X1 = 0xFFFF_FFFF_0000_0001 };
        var c64 = new SmcccCall { X0 = 0xC400_0003, X1 = 0xFFFF_FFFF_0000_0001 };
        Assert.Equal(1UL, c32.Arg(1));
        Assert.Equal(0xFFFF_FFFF_0000_0001UL, c64.Arg(1));
    }
}
