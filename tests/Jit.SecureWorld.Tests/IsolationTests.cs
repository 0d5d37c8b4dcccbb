using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class IsolationTests
{
    [Fact]
    public void A_client_cannot_use_another_clients_session_or_shared_memory()
    {
        var machine = new TestMachine();
        var a = machine.Guest(0);
        var b = machine.Driver(1);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)machine.Hypervisor(OpteeSmc.VmCreated, b.ClientId).A0);
        b.Probe();
        var sessionA = a.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        var shmA = a.Register(4096);
        int registered = machine.Os.SharedMemoryCount(a.ClientId);

        Assert.Equal(TeeResult.ErrorBadParameters, b.Invoke(sessionA, EchoTa.CmdNull).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, b.CloseSession(sessionA).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, b.Call(OpteeMsg.CmdCancel, 0, sessionA, []).Ret);
        var sessionB = b.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        Assert.NotEqual(sessionA, sessionB);
        Assert.Equal(TeeResult.ErrorBadParameters, b.Invoke(sessionB, EchoTa.CmdReverse, Param.InOut(shmA, 0, 16)).Ret);
        Assert.Equal(TeeResult.ErrorItemNotFound, b.Unregister(shmA.Cookie).Ret);
        // A's cookie as B's argument buffer is not registered memory for B.
        var regd = b.Fast(OpteeSmc.CallWithRegdArg, shmA.Cookie >> 32, (uint)shmA.Cookie);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)regd.A0);

        Assert.Equal(TeeResult.Success, a.Invoke(sessionA, EchoTa.CmdReverse, Param.InOut(shmA, 0, 16)).Ret);
        Assert.Equal(registered, machine.Os.SharedMemoryCount(a.ClientId));
    }

    [Fact]
    public void The_same_cookie_in_two_clients_names_two_different_buffers()
    {
        // Two guests' kernels may well hand out equal pointers: each client's cookies are its own.
        var machine = new TestMachine();
        var a = machine.Guest(0);
        var b = machine.Guest(1);
        var shmA = a.Register(64);
        var shmB = b.Register(64);
        Assert.Equal(shmA.Cookie, shmB.Cookie);
        shmA.Write(0, [1, 2, 3, 4]);
        shmB.Write(0, [5, 6, 7, 8]);
        var sa = a.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        var sb = b.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        Assert.Equal(TeeResult.Success, a.Invoke(sa, EchoTa.CmdReverse, Param.InOut(shmA, 0, 4)).Ret);
        Assert.Equal(TeeResult.Success, b.Invoke(sb, EchoTa.CmdReverse, Param.InOut(shmB, 0, 4)).Ret);
        Assert.Equal([4, 3, 2, 1], shmA.Read(0, 4));
        Assert.Equal([8, 7, 6, 5], shmB.Read(0, 4));
    }

    [Fact]
    public void VM_DESTROYED_mid_stream_removes_every_trace_of_one_client_and_the_other_plays_on()
    {
        var machine = new TestMachine();
        var a = machine.Guest(0);
        var b = machine.Guest(1);
        var (sessionA, shmA) = Player(a);
        var (sessionB, shmB) = Player(b);
        var echo = a.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        var pending = a.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, echo, [Param.InOut(shmA, 0, 64)], stopAfterRpcs: 0);
        Assert.Equal(OpteeSmc.ReturnRpcCmd, pending.Smc);

        Assert.Equal(OpteeSmc.ReturnOk, (uint)machine.Hypervisor(OpteeSmc.VmDestroyed, a.ClientId).A0);
        Assert.False(machine.Os.HasClient(a.ClientId));
        Assert.Equal((0, 0, 0), (machine.Os.SessionCount(a.ClientId), machine.Os.SharedMemoryCount(a.ClientId),
            machine.Os.BusyThreadCount(a.ClientId)));
        // Whatever the destroyed guest's vCPUs still send is refused, the resume of its suspended call included.
        var resume = pending.Rpc with { A0 = OpteeSmc.ReturnFromRpc };
        machine.Monitor.Smc(ref resume);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)resume.A0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, a.Invoke(sessionA, ContentDecryptionTa.CmdDecrypt).Smc);

        for (int frame = 0; frame < 3; frame++) Decrypt(b, sessionB, shmB);

        // Created again, the client starts empty: the old session and cookie mean nothing.
        var again = machine.Guest(0);
        Assert.Equal(TeeResult.ErrorBadParameters, again.Invoke(sessionA, ContentDecryptionTa.CmdDecrypt).Ret);
        Assert.Equal(TeeResult.ErrorItemNotFound, again.Unregister(shmA.Cookie).Ret);
    }

    private static (uint, RegisteredShm) Player(LinuxOpteeDriver guest)
    {
        var open = guest.OpenSession(ContentDecryptionTa.TaUuid, OpteeMsg.LoginApplication, Param.ValueIn(1));
        Assert.Equal(TeeResult.Success, open.Ret);
        var shm = guest.Register(16 + 2 * 1024);
        shm.Write(0, new byte[16]);
        return (open.Session, shm);
    }

    private static void Decrypt(LinuxOpteeDriver guest, uint session, RegisteredShm shm)
    {
        shm.Write(16, new byte[1024]);
        var r = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, 1024), Param.Out(shm, 1040, 1024), Param.In(shm, 0, 16));
        Assert.Equal(TeeResult.Success, r.Ret);
        // Key 1 with a zero IV: the first key-stream block is AES(000102..0f, 0).
        Assert.Equal("C6A13B37878F5B826F4F8162A1C8D879", Convert.ToHexString(shm.Read(1040, 16)));
    }
}
