using System.Text;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>The OP-TEE mediator driven as Linux's optee driver drives it, through the domain's dispatcher and guest memory.</summary>
public class OpteeMediatorTests
{
    private static HostMachine NewMachine() => new(EntropySources.Seeded(7));

    [Fact]
    public void TheDomainIsAClientFromItsCreationAndTheProbeSeesOpteeThroughTheMediator()
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 3);
        Assert.True(machine.SecureWorld.TrustedOs.HasClient(SecureCall.ClientIdForDomain(3)));

        var revision = g.Smc(OpteeSmc.CallsRevision);
        Assert.Equal((OpteeSmc.ApiRevisionMajor, OpteeSmc.ApiRevisionMinor), ((uint)revision.X0, (uint)revision.X1));
        var os = g.Smc(OpteeSmc.GetOsRevision);
        Assert.Equal((3u, 20u), ((uint)os.X0, (uint)os.X1));
        var uuid = g.Smc(OpteeSmc.GetOsUuid);
        Assert.Equal(OpteeSmc.OsUuid0, (uint)uuid.X0);

        var caps = g.Smc(OpteeSmc.ExchangeCapabilities, OpteeSmc.NsecCapUniprocessor);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)caps.X0);
        uint secure = (uint)caps.X1;
        Assert.NotEqual(0u, secure & OpteeSmc.SecCapDynamicShm);
        // No reserved shared memory, nothing the mediator cannot translate, no virtualisation detail.
        Assert.Equal(0u, secure & (OpteeSmc.SecCapHaveReservedShm | OpteeSmc.SecCapUnregisteredShm | OpteeSmc.SecCapVirtualization | OpteeSmc.SecCapAsyncNotif));
        Assert.NotEqual(0u, secure & OpteeSmc.SecCapRpcArg);
        Assert.Equal(4UL, caps.X3);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)g.Smc(OpteeSmc.GetShmConfig).X0);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)g.Smc(OpteeSmc.GetThreadCount).X0);
    }

    [Fact]
    public void AGuestCannotCreateOrDestroyClients()
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 1);
        Assert.Equal(ulong.MaxValue, g.Smc(OpteeSmc.VmDestroyed, g.ClientId).X0);
        Assert.Equal(ulong.MaxValue, g.Smc(OpteeSmc.VmCreated, 9).X0);
        Assert.True(machine.SecureWorld.TrustedOs.HasClient(g.ClientId));
        Assert.False(machine.SecureWorld.TrustedOs.HasClient(9));
    }

    [Fact]
    public void WithoutTeeTheOsIsNotSupportedAndTheDomainIsNoClient()
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 2, TeeKind.None);
        Assert.Equal(ulong.MaxValue, g.Smc(OpteeSmc.CallsUid).X0);
        Assert.Equal(ulong.MaxValue, g.Smc(OpteeSmc.CallWithArg, 0, 0x4010_0000).X0);
        Assert.False(machine.SecureWorld.TrustedOs.HasClient(g.ClientId));
        Assert.Null(g.Domain.Tee);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EchoSessionWithValuesAndRegisteredAndTemporaryNoncontiguousMemory(bool rpcArg)
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 1);
        var drv = g.Driver;
        drv.Probe(useRpcArg: rpcArg);
        var open = drv.OpenSession(EchoTa.TaUuid);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.Success), (open.Smc, open.Ret));
        uint session = open.Session;
        Assert.Equal(1, g.Mediator.SessionCount);

        var value = drv.Invoke(session, EchoTa.CmdEchoValue, Param.ValueIn(11, 22), Param.ValueOut);
        Assert.Equal(TeeResult.Success, value.Ret);
        Assert.Equal((22UL, 11UL), (value.Params[1].A, value.Params[1].B));

        // Registered shared memory over scattered pages, starting mid-page and spanning three pages.
        var shm = drv.Register(9000, pageOffset: 0x123, out var registered);
        Assert.Equal(TeeResult.Success, registered.Ret);
        byte[] text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("through the mediator ", 200)))[..4000];
        shm.Write(0, text);
        var echo = drv.Invoke(session, EchoTa.CmdEchoMemref, Param.In(shm, 0, 4000), Param.Out(shm, 4500, 4500));
        Assert.Equal(TeeResult.Success, echo.Ret);
        Assert.Equal(4000UL, echo.Params[1].B);
        Assert.Equal(text, shm.Read(4500, 4000));
        Assert.Equal(1, machine.SecureWorld.TrustedOs.SharedMemoryCount(g.ClientId) - (rpcArg ? 1 : 0));

        // A temporary reference by page list: the mediator translates it for this call only.
        var pages = g.Pages.Scattered(2);
        g.Write(pages[0] + 0xF00, "temporary"u8);
        g.Write(pages[1], "-pages"u8);
        ulong list = drv.WritePageList(pages);
        var reverse = drv.Invoke(session, EchoTa.CmdReverse, Param.Noncontig(OpteeMsg.AttrTypeTmemInout, list | 0xF00, 0x100 + 6));
        Assert.Equal(TeeResult.Success, reverse.Ret);
        Assert.Equal("segap-"u8.ToArray(), g.Read(pages[0] + 0xF00, 6));
        // The guest's struct still holds its own page list address, never a machine address.
        Assert.Equal(list | 0xF00, reverse.Params[0].A);

        Assert.Equal(TeeResult.Success, drv.Unregister(shm.Cookie).Ret);
        Assert.Equal(TeeResult.Success, drv.CloseSession(session).Ret);
        Assert.Equal(0, g.Mediator.SessionCount);
        Assert.Equal(0, machine.SecureWorld.TrustedOs.SessionCount(g.ClientId));
        Assert.Equal(0, g.Mediator.CallsInFlight);
    }

    [Theory]
    [InlineData(ArgMode.WithArg, true)]
    [InlineData(ArgMode.WithArg, false)]
    [InlineData(ArgMode.RpcArg, true)]
    [InlineData(ArgMode.RegdArg, true)]
    [InlineData(ArgMode.RegdArg, false)]
    public void RpcShmAllocRoundTripThroughTheGuest(ArgMode mode, bool noncontig)
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 1);
        var drv = g.Driver;
        drv.Probe(useRpcArg: mode != ArgMode.WithArg);
        drv.NoncontigShmAlloc = noncontig;
        uint session = drv.OpenSession(EchoTa.TaUuid).Session;
        var shm = drv.Register(6000);
        byte[] data = [.. Enumerable.Range(0, 6000).Select(i => (byte)i)];
        shm.Write(0, data);
        var r = drv.Call(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, session, [Param.InOut(shm, 0, 6000)], mode);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.Success), (r.Smc, r.Ret));
        Assert.Equal(data.Select(b => (byte)(b ^ 0xFF)), shm.Read(0, 6000));
        Assert.Contains("cmd 6", drv.Rpcs);
        Assert.Contains("cmd 7", drv.Rpcs);
        if (mode == ArgMode.WithArg) Assert.Contains("alloc", drv.Rpcs);
        else Assert.DoesNotContain("alloc", drv.Rpcs);
        // The kernel buffer went back, on the guest's side and in the mediator's records.
        Assert.Equal(0, drv.LiveKernelBuffers);
        // The registered buffer, and with RPC_ARG the driver's argument cache.
        Assert.Equal(mode == ArgMode.WithArg ? 1 : 2, g.Mediator.SharedBufferCount);
        Assert.Equal(0, g.Mediator.CallsInFlight);

        // With the shm cache on, the RPC argument buffer stays until the driver empties the cache.
        if (mode == ArgMode.WithArg)
        {
            Assert.Equal(1, g.Mediator.RpcArgBufferCount);
            Assert.Equal(OpteeSmc.ReturnOk, (uint)g.Smc(OpteeSmc.DisableShmCache).X0);
            Assert.Equal(0, g.Mediator.RpcArgBufferCount);
        }
    }

    [Fact]
    public void TheGuestsA7NeverReachesTheOs()
    {
        // Domain 1's guest writes domain 2's client ID in a7: the OS still sees domain 1's.
        var machine = NewMachine();
        using var one = new TeeGuest(machine, 1);
        using var two = new TeeGuest(machine, 2);
        one.Driver.Probe();
        two.Driver.Probe();
        uint session = two.Driver.OpenSession(EchoTa.TaUuid).Session;
        var (at, smc, _) = one.Driver.Place(OpteeMsg.CmdCloseSession, 0, session, [], ArgMode.WithArg);
        smc.X7 = two.ClientId;
        one.Domain.Smccc.Dispatch(ref smc);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)smc.X0);
        Assert.Equal(TeeResult.ErrorBadParameters, one.Driver.ReadArg(at, 0, 0).Ret);
        Assert.Equal(1, machine.SecureWorld.TrustedOs.SessionCount(two.ClientId));
    }
}
