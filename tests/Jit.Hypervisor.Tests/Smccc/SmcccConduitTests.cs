using Jit.Hypervisor.Smccc;
using Jit.Hypervisor.Statistics;
using Jit.Runtime;
using Jit.SecureWorld.Sip;

namespace Jit.Hypervisor.Tests.Smccc;

/// <summary>
/// SMC and HVC as a vCPU makes them: the same path into the dispatcher from EL1 (the conduit only a fact for the
/// policy), UNDEFINED from EL0, denied calls counted for <c>--stats</c>, and nothing allocated per call.
/// </summary>
public unsafe class SmcccConduitTests
{
    private const ulong Ram = 0x4000_0000, Vectors = Ram + 0x800;
    private const uint SmcInstruction = 0xD400_0003, HvcInstruction = 0xD400_0002, BranchToSelf = 0x1400_0000;

    private static (Domain Domain, Vcpu Vcpu) Make(int domid)
    {
        var d = new Domain($"d{domid}", domid: domid);
        d.Memory.AddRam(Ram, 0x10000);
        var v = d.AddVcpu();
        v.Reset(Ram);
        return (d, v);
    }

    private static bool Call(Vcpu v, SmcccConduit conduit, uint fid, ulong x1 = 0)
    {
        CpuState* s = v.State;
        s->X[0] = fid;
        s->X[1] = x1;
        var calls = (IHypervisorCalls)v;
        return conduit == SmcccConduit.Smc ? calls.Smc(s, 0) : calls.Hvc(s, 0);
    }

    [Theory]
    [InlineData(SmcInstruction)]
    [InlineData(HvcInstruction)]
    public void SmcAndHvcFromEl0AreUndefined(uint instruction)
    {
        var (d, v) = Make(0);
        using var _ = d;
        Span<byte> code = stackalloc byte[4];
        BitConverter.TryWriteBytes(code, instruction);
        d.Memory.Write(Ram, code);
        // The lower-EL synchronous vector (VBAR_EL1 + 0x400) spins.
        BitConverter.TryWriteBytes(code, BranchToSelf);
        d.Memory.Write(Vectors + 0x400, code);
        CpuState* s = v.State;
        s->VbarEl1 = Vectors;
        s->EL = 0;
        s->SPSel = 0;
        s->X[0] = Psci.SystemOff;

        v.Run(10);

        Assert.Equal(1u, s->EL);
        Assert.Equal(Vectors + 0x400, s->PC);
        Assert.Equal(0UL, s->EsrEl1 >> 26);          // EC 0: unknown reason
        Assert.Equal(1UL, (s->EsrEl1 >> 25) & 1);    // IL: a 32-bit instruction
        Assert.Equal(Ram, s->ElrEl1);                // at the instruction itself
        Assert.Equal(0UL, v.Counters.Smc + v.Counters.Hvc);
        Assert.Null(d.ShutdownRequest);
    }

    [Fact]
    public void SmcAndHvcReachTheSameServicesFromEl1()
    {
        var (d, v) = Make(1);
        using var _ = d;
        foreach (var conduit in new[] { SmcccConduit.Smc, SmcccConduit.Hvc })
        {
            Assert.True(Call(v, conduit, 0x8600_FF01));
            Assert.Equal(ServiceIdentity.Words(HypervisorService.JitVendorUid).W0, (long)v.State->X[0]);
            Assert.True(Call(v, conduit, Psci.PsciVersion));
            Assert.Equal(Psci.Version, (long)v.State->X[0]);
        }
    }

    [Fact]
    public void DeniedCallsAreCountedForTheStatistics()
    {
        var (d, v) = Make(1);
        using var _ = d;
        for (int i = 0; i < 3; i++) Assert.True(Call(v, SmcccConduit.Smc, PlatformFirmware.SocId));
        Assert.True(Call(v, SmcccConduit.Hvc, 0xBF00_FF01));
        Assert.True(Call(v, SmcccConduit.Hvc, Psci.PsciVersion));
        Assert.Equal((ulong)Psci.Version, v.State->X[0]);
        var stats = RunStatistics.Collect(d, 0, TimeSpan.FromSeconds(1));
        Assert.Equal([("sip", 3UL), ("trustedOs", 1UL)], stats.SmcccDeniedByOwner.Where(o => o.Calls > 0));
        Assert.Matches(@"SMCCC denied by owner\s+sip 3, trustedOs 1", stats.ToTable());
        // Every call is counted by owner whatever its verdict.
        Assert.Contains(("sip", 3UL), stats.Totals.SmcccByOwner);
        using var json = new MemoryStream();
        stats.WriteJson(json);
        Assert.Contains("\"smcDeniedByOwner\":{\"arch\":0,\"cpu\":0,\"sip\":3,", System.Text.Encoding.UTF8.GetString(json.ToArray()));
    }

    /// <summary>
    /// A permitted fast call (PSCI over HVC, an arch call and a forwarded SiP call over SMC) and a denied one
    /// cost no allocation once warm: the check is a bit test or a range scan over a fixed table, the denial a
    /// counter, its log line written once.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SteadyStateCallsAllocateNothing(int domid)
    {
        var (d, v) = Make(domid);
        using var _ = d;
        void Round()
        {
            Call(v, SmcccConduit.Hvc, Psci.PsciVersion);
            Call(v, SmcccConduit.Smc, ArchCalls.SmcccVersion);
            Call(v, SmcccConduit.Smc, PlatformFirmware.SocId);   // forwarded for d0, denied for d1
            Call(v, SmcccConduit.Hvc, 0xBF00_FF01);              // denied: no TEE
        }
        for (int i = 0; i < 100; i++) Round();
        // Four windows: an allocation per call shows in every one; a runtime one-off (tier-up) in one at most.
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2_500; i++) Round();
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per 2,500 rounds: {string.Join(", ", windows)}");
        Assert.Equal(domid == 0 ? 0UL : 10_100UL, d.Smccc.Denied[(int)SmcccOwner.SiP]);
        Assert.Equal(10_100UL, d.Smccc.Denied[(int)SmcccOwner.TrustedOsLast]);
    }
}
