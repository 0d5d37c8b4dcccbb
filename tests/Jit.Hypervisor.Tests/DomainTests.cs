using Jit.Hypervisor.Smccc;
using Jit.Runtime;

namespace Jit.Hypervisor.Tests;

/// <summary>The HVC fast path as the engine drives it, without running guest code.</summary>
public unsafe class DomainTests : IDisposable
{
    private readonly Domain domain = new("test");
    private readonly Vcpu vcpu;

    public DomainTests()
    {
        domain.Memory.AddRam(0x4000_0000, 0x10000);
        vcpu = domain.AddVcpu();
        vcpu.Reset(0x4000_0000);
    }

    public void Dispose() => domain.Dispose();

    private bool Hvc(ulong x0, ulong x1 = 0, ushort imm = 0)
    {
        CpuState* s = vcpu.State;
        s->X[0] = x0;
        s->X[1] = x1;
        s->X[4] = 0x4444;
        bool go = ((IHypervisorCalls)vcpu).Hvc(s, imm);
        Assert.Equal(0x4444UL, s->X[4]);   // SMCCC 1.1 preserves X4–X17
        return go;
    }

    [Fact]
    public void ResetEntersAtEl1hWithInterruptsMaskedAndTheMmuOff()
    {
        CpuState* s = vcpu.State;
        Assert.Equal(0x4000_0000UL, s->PC);
        Assert.Equal(1u, s->EL);
        Assert.Equal(1u, s->SPSel);
        Assert.Equal(0x3C0UL, s->Daif);
        Assert.Equal(0UL, s->SctlrEl1 & 1);
        Assert.Equal(0x8000_0000UL, s->Mpidr);
    }

    [Fact]
    public void PsciVersionContinuesTheGuest()
    {
        Assert.True(Hvc(Psci.PsciVersion));
        Assert.Equal(0x10001UL, vcpu.State->X[0]);
        Assert.Null(domain.ShutdownRequest);
    }

    [Fact]
    public void SmcReachesTheSameDispatcher()
    {
        CpuState* s = vcpu.State;
        s->X[0] = ArchCalls.SmcccVersion;
        Assert.True(((IHypervisorCalls)vcpu).Smc(s, 0x42));
        Assert.Equal(0x10001UL, s->X[0]);
    }

    [Fact]
    public void SystemOffLeavesTheEngineAndShutsTheDomainDown()
    {
        Assert.False(Hvc(Psci.SystemOff));
        Assert.Equal(ShutdownReason.PowerOff, domain.ShutdownRequest);
        Assert.NotEqual(0, vcpu.State->ExitRequest & ExitRequests.Halt);
    }

    [Fact]
    public void TheFirstShutdownReasonWins()
    {
        Hvc(Psci.SystemReset);
        Hvc(Psci.SystemOff);
        Assert.Equal(ShutdownReason.Reset, domain.ShutdownRequest);
    }

    [Fact]
    public void CpuOffOfTheLastVcpuEndsTheDomain()
    {
        Assert.False(Hvc(Psci.CpuOff));
        Assert.Equal(VcpuPowerState.Off, vcpu.Power);
        Assert.Equal(ShutdownReason.AllVcpusOff, domain.ShutdownRequest);
    }

    [Fact]
    public void CpuOnOfTheRunningVcpuIsAlreadyOn()
    {
        Assert.True(Hvc(Psci.CpuOn64, 0x8000_0000));
        Assert.Equal(unchecked((ulong)Psci.AlreadyOn), vcpu.State->X[0]);
    }

    [Fact]
    public void HvcWithAnImmediateOtherThanSmcccOrXenIsUndefined()
    {
        CpuState* s = vcpu.State;
        s->VbarEl1 = 0x4000_0800;
        s->PC = 0x4000_0104; // the engine has stepped past the HVC at 0x4000_0100
        Assert.True(Hvc(Psci.SystemOff, imm: 1));
        Assert.Equal(0UL, s->EsrEl1 >> 26); // EC 0: Unknown reason
        Assert.Equal(0x4000_0100UL, s->ElrEl1);
        Assert.Equal(0x4000_0A00UL, s->PC); // synchronous, current EL with SP_ELx
        Assert.Equal(Psci.SystemOff, s->X[0]);
        Assert.Null(domain.ShutdownRequest);
    }

    [Fact]
    public void XenHypercallsAnswerEnosysAndLeaveTheOtherRegisters()
    {
        CpuState* s = vcpu.State;
        s->X[16] = 17; // __HYPERVISOR_xen_version
        s->PC = 0x4000_0104;
        Assert.True(Hvc(0, 0x1111, imm: 0xEA1));
        Assert.Equal(unchecked((ulong)-38), s->X[0]);
        Assert.Equal(0x1111UL, s->X[1]);
        Assert.Equal(17UL, s->X[16]);
        Assert.Equal(0x4000_0104UL, s->PC);
    }

    [Fact]
    public void AStopRequestEndsTheRunLoopBeforeTheEngineRuns()
    {
        domain.Stop();
        Assert.Equal(VcpuExit.Stopped, domain.Run());
    }
}

/// <summary>Services learn who called: the domain's domid and the vCPU, whatever the conduit.</summary>
public unsafe class SmcccCallerTests
{
    private sealed class Recorder : ISmcccService
    {
        public string Name => "recorder";
        public (int DomId, int Vcpu, SmcccConduit Conduit)? Last;

        public SmcccOutcome Call(ref SmcccCall call)
        {
            Last = (call.DomId, call.Vcpu, call.Conduit);
            call.X0 = 0;
            return SmcccOutcome.Done;
        }
    }

    [Fact]
    public void AServiceSeesTheCallingDomainAndVcpu()
    {
        using var domain = new Domain("guest", domid: 7);
        domain.Memory.AddRam(0x4000_0000, 0x10000);
        domain.AddVcpu();
        var second = domain.AddVcpu();
        var recorder = new Recorder();
        // An owner every domain may call (SiP, say, is the control domain's only).
        domain.Smccc.Route(SmcccOwner.VendorHypervisor, recorder);
        CpuState* s = second.State;
        s->X[0] = 0x8600_0001;
        Assert.True(((IHypervisorCalls)second).Smc(s, 0));
        Assert.Equal((7, 1, SmcccConduit.Smc), recorder.Last);
    }
}
