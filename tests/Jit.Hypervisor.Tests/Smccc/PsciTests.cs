using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

public class PsciTests
{
    /// <summary>One vCPU with Aff0 = 0, always on, recording what PSCI asks of the domain.</summary>
    private sealed class FakePlatform : IPsciPlatform
    {
        public readonly List<string> Requests = [];
        public VcpuPowerState State = VcpuPowerState.On;

        public int FindVcpu(ulong affinity) => affinity == 0 ? 0 : -1;
        public VcpuPowerState PowerState(int vcpu) => State;

        public long CpuOn(int vcpu, ulong entry, ulong context)
        {
            Requests.Add($"on {vcpu} 0x{entry:x} 0x{context:x}");
            return Psci.Success;
        }

        public void CpuOff(int vcpu) => Requests.Add($"off {vcpu}");
        public void Shutdown(ShutdownReason reason) => Requests.Add($"shutdown {reason}");
    }

    private readonly FakePlatform platform = new();
    private readonly Psci psci;

    public PsciTests() => psci = new Psci(platform);

    private (SmcccOutcome Outcome, long X0) Call(uint fid, ulong x1 = 0, ulong x2 = 0, ulong x3 = 0)
    {
        var c = new SmcccCall { X0 = fid, X1 = x1, X2 = x2, X3 = x3 };
        var o = psci.Call(ref c);
        return (o, (long)c.X0);
    }

    [Fact]
    public void VersionIs11() => Assert.Equal((SmcccOutcome.Done, 0x10001L), Call(Psci.PsciVersion));

    [Theory]
    [InlineData(0x8400_0000u, 0L)]   // PSCI_VERSION
    [InlineData(0x8400_0002u, 0L)]   // CPU_OFF
    [InlineData(0xC400_0003u, 0L)]   // CPU_ON (64)
    [InlineData(0x8400_0004u, 0L)]   // AFFINITY_INFO (32)
    [InlineData(0x8400_0006u, 0L)]   // MIGRATE_INFO_TYPE
    [InlineData(0x8400_0008u, 0L)]   // SYSTEM_OFF
    [InlineData(0x8400_0009u, 0L)]   // SYSTEM_RESET
    [InlineData(0x8400_000Au, 0L)]   // PSCI_FEATURES
    [InlineData(0xC400_0001u, 0L)]   // CPU_SUSPEND (entered as standby)
    [InlineData(0x8400_0005u, -1L)]  // MIGRATE
    [InlineData(0x8400_0012u, -1L)]  // SYSTEM_RESET2
    [InlineData(0x8000_0000u, 0L)]   // SMCCC_VERSION: discovered through PSCI_FEATURES
    [InlineData(0x8000_0001u, -1L)]  // SMCCC_ARCH_FEATURES is discovered through SMCCC_VERSION, not here
    public void FeaturesReportImplementedFunctions(uint queried, long expected) =>
        Assert.Equal((SmcccOutcome.Done, expected), Call(Psci.PsciFeatures, queried));

    [Fact]
    public void NoTrustedOsNeedsMigrating() => Assert.Equal((SmcccOutcome.Done, 2L), Call(Psci.MigrateInfoType));

    [Fact]
    public void SystemOffShutsTheDomainDownAndStopsTheVcpu()
    {
        Assert.Equal(SmcccOutcome.StopVcpu, Call(Psci.SystemOff).Outcome);
        Assert.Equal(["shutdown PowerOff"], platform.Requests);
    }

    [Fact]
    public void SystemResetAsksForAReset()
    {
        Assert.Equal(SmcccOutcome.StopVcpu, Call(Psci.SystemReset).Outcome);
        Assert.Equal(["shutdown Reset"], platform.Requests);
    }

    [Fact]
    public void CpuOnOfARunningVcpuIsAlreadyOn()
    {
        Assert.Equal((SmcccOutcome.Done, Psci.AlreadyOn), Call(Psci.CpuOn64, 0, 0x4000_0000, 7));
        Assert.Empty(platform.Requests);
    }

    [Fact]
    public void CpuOnOfAPendingVcpuIsOnPending()
    {
        platform.State = VcpuPowerState.OnPending;
        Assert.Equal((SmcccOutcome.Done, Psci.OnPending), Call(Psci.CpuOn64, 0, 0x4000_0000, 7));
    }

    [Fact]
    public void CpuOnOfAnOffVcpuPassesEntryAndContext()
    {
        platform.State = VcpuPowerState.Off;
        Assert.Equal((SmcccOutcome.Done, Psci.Success), Call(Psci.CpuOn64, 0, 0x4000_1000, 0x1234_5678_9ABC));
        Assert.Equal(["on 0 0x40001000 0x123456789abc"], platform.Requests);
    }

    [Fact]
    public void Smc32CpuOnSeesOnlyTheLowWords()
    {
        platform.State = VcpuPowerState.Off;
        Call(Psci.CpuOn32, 0xFFFF_FFFF_0000_0000, 0x1_4000_1000, 0x2_0000_0003);
        Assert.Equal(["on 0 0x40001000 0x3"], platform.Requests);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(0x100UL)]
    [InlineData(0x1_0000_0000UL)]
    public void CpuOnOfAnUnknownMpidrIsInvalid(ulong mpidr) =>
        Assert.Equal((SmcccOutcome.Done, Psci.InvalidParameters), Call(Psci.CpuOn64, mpidr, 0x4000_0000));

    [Fact]
    public void CpuOnIgnoresMpidrBitsOutsideTheAffinityFields() =>
        // Bit 31 (RES1) and bit 30 (U) are not affinity.
        Assert.Equal(Psci.AlreadyOn, Call(Psci.CpuOn64, 0x8000_0000, 0x4000_0000).X0);

    [Fact]
    public void AffinityInfoReportsThePowerState()
    {
        Assert.Equal((SmcccOutcome.Done, 0L), Call(Psci.AffinityInfo64, 0, 0));
        platform.State = VcpuPowerState.Off;
        Assert.Equal((SmcccOutcome.Done, 1L), Call(Psci.AffinityInfo32, 0, 0));
    }

    [Fact]
    public void AffinityInfoAnswersOnlyLevelZero()
    {
        Assert.Equal(Psci.InvalidParameters, Call(Psci.AffinityInfo64, 0, 1).X0);
        Assert.Equal(Psci.InvalidParameters, Call(Psci.AffinityInfo64, 5, 0).X0);
    }

    [Fact]
    public void CpuOffStopsTheCallingVcpu()
    {
        var c = new SmcccCall { X0 = Psci.CpuOff, Vcpu = 0 };
        Assert.Equal(SmcccOutcome.StopVcpu, psci.Call(ref c));
        Assert.Equal(["off 0"], platform.Requests);
    }

    [Theory]
    [InlineData(0x8400_0013u)]
    [InlineData(0xC400_0008u)]   // SYSTEM_OFF has no SMC64 form
    public void OtherFunctionsAreUnknown(uint fid) => Assert.Equal(SmcccOutcome.Unknown, Call(fid).Outcome);
}
