using Jit.Hypervisor.Memory;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>Two domains on one host: neither reaches the other's sessions, buffers or calls; destroying one leaves the other whole.</summary>
public class OpteeMediatorIsolationTests
{
    [Fact]
    public void TheSameIpaOfTwoDomainsIsTwoMachineAddresses()
    {
        var machine = new HostMachine(EntropySources.Seeded(1));
        using var a = new TeeGuest(machine, 1);
        using var b = new TeeGuest(machine, 2);
        Assert.True(a.Domain.MachineRam.TryTranslate(TeeGuest.RamBase + 0x5000, out ulong ma));
        Assert.True(b.Domain.MachineRam.TryTranslate(TeeGuest.RamBase + 0x5000, out ulong mb));
        Assert.NotEqual(ma, mb);
        Assert.Equal(a.Domain.DomId, machine.Memory.Find(ma)!.DomId);
        Assert.Equal(b.Domain.DomId, machine.Memory.Find(mb)!.DomId);
        a.Write(TeeGuest.RamBase + 0x5000, "A"u8);
        b.Write(TeeGuest.RamBase + 0x5000, "B"u8);
        Span<byte> seen = stackalloc byte[1];
        Assert.Equal(MemoryStatusOk, machine.Memory.Read(ma, seen));
        Assert.Equal((byte)'A', seen[0]);
        Assert.Equal(MemoryStatusOk, machine.Memory.Read(mb, seen));
        Assert.Equal((byte)'B', seen[0]);
    }

    private const MemoryStatus MemoryStatusOk = MemoryStatus.Ok;

    [Fact]
    public void ADomainCannotUseAnotherDomainsSessionsCookiesOrThreads()
    {
        var machine = new HostMachine(EntropySources.Seeded(1));
        using var a = new TeeGuest(machine, 1);
        using var b = new TeeGuest(machine, 2);
        a.Driver.Probe();
        b.Driver.Probe();
        uint sessionA = a.Driver.OpenSession(EchoTa.TaUuid).Session;
        uint sessionB = b.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shmA = a.Driver.Register(4096);
        var shmB = b.Driver.Register(4096);

        // A's session ID from B: unknown, and A's session is untouched.
        Assert.Equal(TeeResult.ErrorBadParameters, b.Driver.Invoke(sessionA, EchoTa.CmdNull).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, b.Driver.CloseSession(sessionA).Ret);
        Assert.Equal(TeeResult.Success, a.Driver.Invoke(sessionA, EchoTa.CmdNull).Ret);

        // A's shared-memory cookie from B: as a memref, to unregister, and as the place of an argument struct.
        Assert.Equal(TeeResult.ErrorBadParameters, b.Driver.Invoke(sessionB, EchoTa.CmdReverse, Param.InOut(shmA, 0, 16)).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, b.Driver.Unregister(shmA.Cookie).Ret);
        var regd = b.Smc(OpteeSmc.CallWithRegdArg, shmA.Cookie >> 32, (uint)shmA.Cookie, 64);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)regd.X0);
        Assert.Equal(1 + 1, machine.SecureWorld.TrustedOs.SharedMemoryCount(a.ClientId)); // shmA and A's argument cache

        // A's suspended call cannot be resumed by B.
        var pending = a.Driver.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, sessionA, [Param.InOut(shmA, 0, 32)], stopAfterRpcs: 0);
        Assert.Equal(OpteeSmc.ReturnEResume, (uint)b.Smc(OpteeSmc.ReturnFromRpc, 0, 0, pending.Rpc.X3).X0);
        Assert.Equal(TeeResult.Success, a.Driver.Finish(pending).Ret);
        Assert.Equal(TeeResult.Success, b.Driver.Invoke(sessionB, EchoTa.CmdReverse, Param.InOut(shmB, 0, 16)).Ret);
    }

    [Fact]
    public void DestroyingADomainMidCallLeavesNothingOfItAndTheOtherRunsOn()
    {
        var machine = new HostMachine(EntropySources.Seeded(1));
        var os = machine.SecureWorld.TrustedOs;
        using var b = new TeeGuest(machine, 2);
        b.Driver.Probe();
        uint sessionB = b.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shmB = b.Driver.Register(4096);
        int regionsWithB = machine.Memory.Regions.Count;

        var a = new TeeGuest(machine, 1);
        a.Driver.Probe();
        uint clientA = a.ClientId;
        uint sessionA = a.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shmA = a.Driver.Register(8192);
        a.Driver.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, sessionA, [Param.InOut(shmA, 0, 100)], stopAfterRpcs: 0);
        // B is mid-call too, at the same moment.
        var pendingB = b.Driver.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, sessionB, [Param.InOut(shmB, 0, 100)], stopAfterRpcs: 0);
        Assert.Equal(1, os.BusyThreadCount(clientA));
        Assert.Equal(1, a.Mediator.CallsInFlight);
        var mediatorA = a.Mediator;

        a.Dispose();
        Assert.False(os.HasClient(clientA));
        Assert.Equal((0, 0, 0), (os.SessionCount(clientA), os.SharedMemoryCount(clientA), os.BusyThreadCount(clientA)));
        Assert.Equal((0, 0, 0, 0), (mediatorA.CallsInFlight, mediatorA.SessionCount, mediatorA.SharedBufferCount, mediatorA.ShadowPages));
        // Its RAM and its shadows left the machine address space.
        Assert.DoesNotContain(machine.Memory.Regions, r => r.DomId == 1);
        Assert.Equal(regionsWithB, machine.Memory.Regions.Count);
        // Whatever its vCPU might still try gets ENOTAVAIL.
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)a.Smc(OpteeSmc.ReturnFromRpc, 0, 0, 0).X0);

        Assert.Equal(TeeResult.Success, b.Driver.Finish(pendingB).Ret);
        Assert.Equal(TeeResult.Success, b.Driver.Invoke(sessionB, EchoTa.CmdNull).Ret);
        Assert.True(os.HasClient(b.ClientId));
        Assert.Equal(1, os.SessionCount(b.ClientId));
    }
}
