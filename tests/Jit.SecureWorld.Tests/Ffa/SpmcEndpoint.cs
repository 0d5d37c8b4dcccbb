using Jit.SecureWorld.Ffa;

namespace Jit.SecureWorld.Tests.Ffa;

/// <summary>
/// One normal-world endpoint as the hypervisor presents it to the SPMC (the VM's ID beside the registers), with its
/// own 4 MiB of the test machine's memory: an RX/TX pair at its start and pages for shares after them.
/// </summary>
public sealed class SpmcEndpoint
{
    public const int BufferPages = 1;

    public SpmcEndpoint(SpmcMachine machine, ushort id)
    {
        Machine = machine;
        Id = id;
        Base = TestMachine.RamBase + (ulong)(id % 4) * TestMachine.GuestRam;
        Tx = Base;
        Rx = Base + 0x1000;
    }

    public SpmcMachine Machine { get; }
    public ushort Id { get; }
    public ulong Base { get; }
    public ulong Tx { get; }
    public ulong Rx { get; }

    /// <summary>A page of the endpoint's memory for shares: page 16 onwards.</summary>
    public ulong Page(int n) => Base + (ulong)(16 + n) * 4096;

    public SecureCall Call(uint fid, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0, ulong a7 = 0)
    {
        var call = new SecureCall(fid, SecureCall.HypervisorClientId) { Endpoint = Id, A1 = a1, A2 = a2, A3 = a3, A4 = a4, A5 = a5, A6 = a6, A7 = a7 };
        Machine.Monitor.Smc(ref call);
        return call;
    }

    public SecureCall MapBuffers() => Call(FfaAbi.RxTxMap64, Tx, Rx, BufferPages);

    /// <summary>A direct request to the service partition: command in w3, arguments in w4–w7.</summary>
    public SecureCall Direct(uint command, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0, ulong a7 = 0, bool is64 = true) =>
        Call(is64 ? FfaAbi.MsgSendDirectReq64 : FfaAbi.MsgSendDirectReq32, ((uint)Id << 16) | ServicePartition.PartitionId, 0, command, a4, a5, a6, a7);

    public SecureCall WithHandle(uint command, ulong handle, ulong a6 = 0, ulong a7 = 0) => Direct(command, (uint)handle, handle >> 32, a6, a7);

    /// <summary>Writes a share descriptor to the TX buffer and sends FFA_MEM_SHARE; returns the SPMC's answer.</summary>
    public SecureCall Share(ReadOnlySpan<(ulong, uint)> ranges, byte permissions = FfaMemoryTransaction.DataReadWrite, ushort? sender = null,
        ushort receiver = ServicePartition.PartitionId)
    {
        var tx = Machine.Memory.At(Tx, BufferPages * 4096);
        int length = FfaMemoryTransaction.Build(tx, sender ?? Id, [(receiver, permissions)], ranges);
        return Call(FfaAbi.MemShare64, (uint)length, (uint)length);
    }

    public static ulong Handle(in SecureCall success) => (uint)success.A2 | ((ulong)(uint)success.A3 << 32);
}

/// <summary>The secure world over 16 MiB of array memory, from which the tests make FF-A endpoints.</summary>
public sealed class SpmcMachine
{
    public SpmcMachine()
    {
        Memory = new ArrayMachineMemory(TestMachine.RamBase, 4 * TestMachine.GuestRam);
        Monitor = SecureMonitor.Create(Memory, EntropySources.Seeded(1));
    }

    public ArrayMachineMemory Memory { get; }
    public SecureMonitor Monitor { get; }
    public Spmc Spmc => Monitor.Spmc!;
    public ServicePartition Partition => (ServicePartition)Spmc.Partitions[0];

    /// <summary>A framework message from the hypervisor about <paramref name="vm"/> to the service partition.</summary>
    public SecureCall Tell(ushort vm, uint message)
    {
        var call = new SecureCall(FfaAbi.MsgSendDirectReq32, SecureCall.HypervisorClientId)
        {
            Endpoint = FfaAbi.HypervisorId, A1 = ServicePartition.PartitionId, A2 = FfaAbi.FrameworkMessage | message, A5 = vm,
        };
        Monitor.Smc(ref call);
        return call;
    }

    /// <summary>VM <paramref name="vm"/>, announced to the partition, with its buffers mapped.</summary>
    public SpmcEndpoint Vm(ushort vm, bool map = true)
    {
        Assert.Equal(FfaAbi.MsgSendDirectResp32, (uint)Tell(vm, FfaAbi.VmCreatedMessage).A0);
        var endpoint = new SpmcEndpoint(this, vm);
        if (map) Assert.Equal(FfaAbi.Success32, (uint)endpoint.MapBuffers().A0);
        return endpoint;
    }
}
