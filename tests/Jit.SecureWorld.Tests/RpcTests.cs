using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class RpcTests
{
    private static (TestMachine, LinuxOpteeDriver, uint, RegisteredShm) Echo(OpteeOptions? options = null, bool probe = true)
    {
        var machine = new TestMachine(options);
        var guest = machine.Guest(0, probe);
        var session = guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        var shm = guest.Register(3000);
        shm.Write(0, Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray());
        return (machine, guest, session, shm);
    }

    private static byte[] Complemented(int n) => Enumerable.Range(0, n).Select(i => (byte)~i).ToArray();

    [Fact]
    public void With_CALL_WITH_ARG_the_OS_allocates_an_RPC_argument_once_and_keeps_it_in_the_shm_cache()
    {
        var (machine, guest, session, shm) = Echo(new OpteeOptions { OfferRpcArg = false });
        var r = guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal(Complemented(3000), shm.Read(0, 3000));
        Assert.Equal(["alloc", "cmd 6", "cmd 7"], guest.Rpcs);
        Assert.Equal(0, guest.LiveKernelBuffers);

        guest.Rpcs.Clear();
        Assert.Equal(TeeResult.Success, guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000)).Ret);
        Assert.Equal(["cmd 6", "cmd 7"], guest.Rpcs);
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray(), shm.Read(0, 3000));

        // optee_smc_remove: the cache hands back the buffer it kept, and is then empty.
        Assert.Equal(1, guest.DisableShmCache());
        Assert.Equal(0, guest.LiveRpcArgs);
        Assert.Equal(0, machine.Os.BusyThreadCount(guest.ClientId));
    }

    [Fact]
    public void Without_the_shm_cache_the_RPC_argument_is_freed_before_the_call_returns()
    {
        var (_, guest, session, shm) = Echo(new OpteeOptions { OfferRpcArg = false });
        guest.DisableShmCache();
        guest.Rpcs.Clear();
        Assert.Equal(TeeResult.Success, guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000)).Ret);
        Assert.Equal(["alloc", "cmd 6", "cmd 7", "free"], guest.Rpcs);
        Assert.Equal(0, guest.LiveRpcArgs);
    }

    [Fact]
    public void With_the_inline_RPC_argument_only_the_commands_travel_and_a_page_list_buffer_works()
    {
        var (machine, guest, session, shm) = Echo();
        guest.NoncontigShmAlloc = true;
        var big = guest.Register(10000);
        big.Write(0, new byte[10000]);
        var r = guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(big, 0, 10000));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal(Enumerable.Repeat((byte)0xFF, 10000).ToArray(), big.Read(0, 10000));
        Assert.Equal(["cmd 6", "cmd 7"], guest.Rpcs);
        Assert.Equal(0, guest.LiveKernelBuffers);
    }

    [Fact]
    public void A_failed_RPC_allocation_fails_the_TA_call_with_out_of_memory()
    {
        var (_, guest, session, shm) = Echo(new OpteeOptions { OfferRpcArg = false });
        guest.FailNextRpcAlloc = true;
        var r = guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000));
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.ErrorOutOfMemory, TeeResult.OriginTrustedApp), (r.Smc, r.Ret, r.Origin));
    }

    [Fact]
    public void An_RPC_argument_outside_shareable_memory_is_never_used_and_is_freed()
    {
        var (machine, guest, session, shm) = Echo(new OpteeOptions { OfferRpcArg = false });
        machine.Memory.Forbidden = (TestMachine.RamBase + 0xF0_0000, TestMachine.RamBase + 0xF1_0000);
        guest.BadRpcAllocAddress = TestMachine.RamBase + 0xF0_0000;
        guest.Rpcs.Clear();
        var r = guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000));
        Assert.Equal(TeeResult.ErrorCommunication, r.Ret);
        Assert.Equal(["alloc", "free"], guest.Rpcs);
    }

    [Fact]
    public void A_shared_buffer_outside_shareable_memory_fails_the_TA_call_and_is_given_back()
    {
        var (_, guest, session, shm) = Echo();
        guest.BadShmAllocAddress = 0x10;
        var r = guest.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 3000));
        Assert.Equal(TeeResult.ErrorOutOfMemory, r.Ret);
        Assert.Equal(["cmd 6", "cmd 7"], guest.Rpcs);
        Assert.Equal(0, guest.LiveKernelBuffers);
    }

    [Fact]
    public void A_suspended_call_keeps_its_session_and_memory_busy_until_it_is_resumed_and_can_be_cancelled()
    {
        var (machine, guest, session, shm) = Echo();
        var pending = guest.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, session, [Param.InOut(shm, 0, 3000)],
            cancelId: 5, stopAfterRpcs: 0);
        Assert.Equal(OpteeSmc.ReturnRpcCmd, pending.Smc);
        Assert.Equal(1, machine.Os.BusyThreadCount(guest.ClientId));

        Assert.Equal(TeeResult.ErrorBusy, guest.Invoke(session, EchoTa.CmdNull).Ret);
        Assert.Equal(TeeResult.ErrorBusy, guest.CloseSession(session).Ret);
        Assert.Equal(TeeResult.ErrorBusy, guest.Unregister(shm.Cookie).Ret);
        Assert.Equal(OpteeSmc.ReturnEBusy, (uint)guest.Fast(OpteeSmc.DisableShmCache).A0);
        // Another session of the same client is not held up.
        var other = guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        Assert.Equal(TeeResult.Success, guest.Invoke(other, EchoTa.CmdNull).Ret);

        // optee_cancel_req: the TA sees the cancellation when its call resumes, and the OS frees what it held.
        Assert.Equal(TeeResult.Success, guest.Call(OpteeMsg.CmdCancel, 0, session, [], cancelId: 5).Ret);
        var done = guest.Finish(pending);
        Assert.Equal(TeeResult.ErrorCancel, done.Ret);
        Assert.Equal(["cmd 6", "cmd 7"], guest.Rpcs);
        Assert.Equal(0, guest.LiveKernelBuffers);
        Assert.Equal(0, machine.Os.BusyThreadCount(guest.ClientId));
        Assert.Equal(TeeResult.Success, guest.Unregister(shm.Cookie).Ret);
    }

    [Fact]
    public void RETURN_FROM_RPC_without_a_suspended_call_is_ERESUME()
    {
        var (_, guest, _, _) = Echo();
        var stray = new SecureCall(OpteeSmc.ReturnFromRpc, guest.ClientId) { A3 = 0 };
        Assert.Equal(OpteeSmc.ReturnEResume, Smc(guest, stray));
        Assert.Equal(OpteeSmc.ReturnEResume, Smc(guest, stray with { A3 = 1000 }));
        Assert.Equal(OpteeSmc.ReturnEResume, Smc(guest, stray with { A3 = ulong.MaxValue }));
    }

    private static uint Smc(LinuxOpteeDriver guest, SecureCall call) => (uint)guest.Fast((uint)call.A0, call.A1, call.A2, call.A3).A0;

    [Fact]
    public void More_concurrent_calls_than_threads_get_ETHREAD_LIMIT_and_other_clients_are_not_affected()
    {
        var (machine, guest, _, shm) = Echo(new OpteeOptions { ThreadsPerClient = 2 });
        var sessions = Enumerable.Range(0, 3).Select(_ => guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session).ToArray();
        var first = guest.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, sessions[0], [Param.InOut(shm, 0, 100)], stopAfterRpcs: 0);
        var second = guest.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, sessions[1], [Param.InOut(shm, 100, 100)], stopAfterRpcs: 0);
        Assert.Equal((OpteeSmc.ReturnRpcCmd, OpteeSmc.ReturnRpcCmd), (first.Smc, second.Smc));
        Assert.NotEqual(first.Rpc.A3, second.Rpc.A3);
        Assert.Equal(OpteeSmc.ReturnEThreadLimit, guest.Invoke(sessions[2], EchoTa.CmdNull).Smc);

        var neighbour = machine.Guest(1);
        var theirs = neighbour.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser);
        Assert.Equal(TeeResult.Success, neighbour.Invoke(theirs.Session, EchoTa.CmdNull).Ret);

        Assert.Equal(TeeResult.Success, guest.Finish(first).Ret);
        Assert.Equal(TeeResult.Success, guest.Invoke(sessions[2], EchoTa.CmdNull).Ret);
        Assert.Equal(TeeResult.Success, guest.Finish(second).Ret);
    }
}
