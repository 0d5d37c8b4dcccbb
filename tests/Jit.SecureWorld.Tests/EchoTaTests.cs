using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class EchoTaTests
{
    public static TheoryData<bool> RpcArgOffered => new() { true, false };

    private static (TestMachine, LinuxOpteeDriver, uint) Open(bool rpcArg)
    {
        var machine = new TestMachine(new OpteeOptions { OfferRpcArg = rpcArg });
        var guest = machine.Guest(0);
        var open = guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.Success), (open.Smc, open.Ret));
        Assert.NotEqual(0u, open.Session);
        return (machine, guest, open.Session);
    }

    [Theory, MemberData(nameof(RpcArgOffered))]
    public void Values_go_in_and_come_back(bool rpcArg)
    {
        var (_, guest, session) = Open(rpcArg);
        var r = guest.Invoke(session, EchoTa.CmdEchoValue, Param.ValueIn(0x1111_2222, 0x3333_4444), Param.ValueOut);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.Success, TeeResult.OriginTrustedApp), (r.Smc, r.Ret, r.Origin));
        Assert.Equal((0x3333_4444ul, 0x1111_2222ul), (r.Params[1].A, r.Params[1].B));
    }

    [Theory, MemberData(nameof(RpcArgOffered))]
    public void A_memref_in_registered_scattered_pages_is_echoed_to_another(bool rpcArg)
    {
        var (_, guest, session) = Open(rpcArg);
        // 3 pages' worth starting 0x7F0 into the first page: every page boundary is crossed.
        var shm = guest.Register(10000, pageOffset: 0x7F0, out var registered);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.Success), (registered.Smc, registered.Ret));
        var data = new byte[5000];
        new Random(1).NextBytes(data);
        shm.Write(0, data);

        var r = guest.Invoke(session, EchoTa.CmdEchoMemref, Param.In(shm, 0, 5000), Param.Out(shm, 5000, 5000));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal(5000ul, r.Params[1].B);
        Assert.Equal(data, shm.Read(5000, 5000));
    }

    [Fact]
    public void A_temporary_memref_at_a_physical_address_works_and_a_short_output_gets_the_needed_size()
    {
        var (machine, guest, session) = Open(rpcArg: true);
        var pages = new PageAllocator(TestMachine.RamBase + 0x20_0000, TestMachine.RamBase + 0x30_0000);
        ulong input = pages.Contiguous(64), output = pages.Contiguous(64);
        "temporary memory"u8.CopyTo(machine.Memory.At(input, 16));

        var r = guest.Invoke(session, EchoTa.CmdEchoMemref, Param.Tmem(OpteeMsg.AttrTypeTmemInput, input, 16),
            Param.Tmem(OpteeMsg.AttrTypeTmemOutput, output, 64));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal(16ul, r.Params[1].B);
        Assert.Equal("temporary memory"u8.ToArray(), machine.Memory.At(output, 16).ToArray());

        var shortOut = guest.Invoke(session, EchoTa.CmdEchoMemref, Param.Tmem(OpteeMsg.AttrTypeTmemInput, input, 16),
            Param.Tmem(OpteeMsg.AttrTypeTmemOutput, output, 4));
        Assert.Equal(TeeResult.ErrorShortBuffer, shortOut.Ret);
        Assert.Equal(16ul, shortOut.Params[1].B);
    }

    [Fact]
    public void An_inout_memref_is_changed_in_place()
    {
        var (_, guest, session) = Open(rpcArg: true);
        var shm = guest.Register(8);
        shm.Write(0, [1, 2, 3, 4, 5, 6, 7, 8]);
        var r = guest.Invoke(session, EchoTa.CmdReverse, Param.InOut(shm, 0, 8));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal([8, 7, 6, 5, 4, 3, 2, 1], shm.Read(0, 8));
    }

    [Fact]
    public void A_closed_session_and_an_unknown_command_are_errors_and_unregistering_frees_the_cookie()
    {
        var (machine, guest, session) = Open(rpcArg: true);
        Assert.Equal(TeeResult.ErrorNotImplemented, guest.Invoke(session, 99).Ret);
        var shm = guest.Register(100);
        Assert.Equal(TeeResult.Success, guest.Unregister(shm.Cookie).Ret);
        Assert.Equal(TeeResult.ErrorItemNotFound, guest.Unregister(shm.Cookie).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(session, EchoTa.CmdReverse, Param.InOut(shm, 0, 8)).Ret);

        Assert.Equal(TeeResult.Success, guest.CloseSession(session).Ret);
        var closed = guest.Invoke(session, EchoTa.CmdNull);
        Assert.Equal((TeeResult.ErrorBadParameters, TeeResult.OriginTee), (closed.Ret, closed.Origin));
        Assert.Equal(0, machine.Os.SessionCount(guest.ClientId));
    }

    [Fact]
    public void Opening_an_unknown_TA_is_item_not_found()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        var r = guest.OpenSession(Guid.NewGuid(), OpteeMsg.LoginPublic);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.ErrorItemNotFound, TeeResult.OriginTee), (r.Smc, r.Ret, r.Origin));
    }
}
