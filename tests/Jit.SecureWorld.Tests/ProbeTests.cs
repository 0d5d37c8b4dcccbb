using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.Tests;

public class ProbeTests
{
    [Fact]
    public void Linux_probe_sees_OP_TEE_with_dynamic_shared_memory_and_the_inline_RPC_argument()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        Assert.True((guest.Capabilities & OpteeSmc.SecCapDynamicShm) != 0);
        Assert.True((guest.Capabilities & OpteeSmc.SecCapHaveReservedShm) == 0);
        Assert.True((guest.Capabilities & OpteeSmc.SecCapRpcArg) != 0);
        Assert.Equal(4, guest.RpcParamCount);

        var os = guest.Fast(OpteeSmc.GetOsRevision);
        Assert.Equal((3u, 20u, 0x4a495400u), ((uint)os.A0, (uint)os.A1, (uint)os.A2));
        var uuid = guest.Fast(OpteeSmc.GetOsUuid);
        Assert.Equal(OpteeSmc.OsUuid0, (uint)uuid.A0);
        Assert.Equal(OpteeSmc.OsUuid3, (uint)uuid.A3);
        var threads = guest.Fast(OpteeSmc.GetThreadCount);
        Assert.Equal((OpteeSmc.ReturnOk, 8u), ((uint)threads.A0, (uint)threads.A1));
        // No reserved shared memory and no asynchronous notification: Linux must not fall back to either.
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)guest.Fast(OpteeSmc.GetShmConfig).A0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)guest.Fast(OpteeSmc.EnableAsyncNotif).A0);
    }

    [Fact]
    public void Without_the_RPC_argument_capability_the_driver_enables_the_shm_cache()
    {
        var machine = new TestMachine(new OpteeOptions { OfferRpcArg = false });
        var guest = machine.Guest(0);
        Assert.Equal(0, guest.RpcParamCount);
        Assert.True(guest.ShmCacheEnabled);
        Assert.Equal(ArgMode.WithArg, guest.DefaultMode);
    }

    [Fact]
    public void A_client_the_hypervisor_did_not_create_gets_ENOTAVAIL_and_the_hypervisor_may_probe()
    {
        var machine = new TestMachine();
        var stranger = machine.Driver(5);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)stranger.Fast(OpteeSmc.CallsUid).A0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)stranger.Fast(OpteeSmc.CallWithArg, 0, 0x4000_0000).A0);
        Assert.Equal(OpteeSmc.ApiUid0, (uint)machine.Hypervisor(OpteeSmc.CallsUid).A0);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)machine.Hypervisor(OpteeSmc.ExchangeCapabilities).A0);
        // The hypervisor has no sessions: its yielding calls are refused like a stranger's.
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)machine.Hypervisor(OpteeSmc.CallWithArg).A0);
    }

    [Fact]
    public void Only_the_hypervisor_creates_and_destroys_clients()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)guest.Fast(OpteeSmc.VmCreated, 7).A0);
        Assert.False(machine.Os.HasClient(7));
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)guest.Fast(OpteeSmc.VmDestroyed, guest.ClientId).A0);
        Assert.True(machine.Os.HasClient(guest.ClientId));
        // A second VM_CREATED for a live client, client 0 and IDs beyond 16 bits are refused.
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)machine.Hypervisor(OpteeSmc.VmCreated, guest.ClientId).A0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)machine.Hypervisor(OpteeSmc.VmCreated, 0).A0);
        Assert.Equal(OpteeSmc.ReturnENotAvail, (uint)machine.Hypervisor(OpteeSmc.VmCreated, 0x1_0001).A0);
    }

    [Fact]
    public void Unknown_trusted_OS_functions_and_other_owners_are_not_supported()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        Assert.Equal(ulong.MaxValue, guest.Fast(0xB200_0099).A0);
        Assert.Equal(ulong.MaxValue, guest.Fast(0x3200_0099).A0);
        Assert.Equal(ulong.MaxValue, guest.Fast(0xF200_0000 | 1).A0); // SMC64 GET_OS_REVISION does not exist
        Assert.Equal(ulong.MaxValue, guest.Fast(0x8400_0000).A0);     // PSCI is the hypervisor's, not the monitor's
        Assert.Equal(ulong.MaxValue, guest.Fast(0x0200_0001).A0);     // a yielding SiP call does not exist
    }
}
