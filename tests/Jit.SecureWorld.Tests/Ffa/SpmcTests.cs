using System.Buffers.Binary;
using Jit.SecureWorld.Ffa;

namespace Jit.SecureWorld.Tests.Ffa;

/// <summary>The SPMC driven through the secure monitor as the hypervisor forwards a VM's FF-A calls.</summary>
public class SpmcTests
{
    internal static void AssertError(int expected, in SecureCall call)
    {
        Assert.Equal(FfaAbi.Error, (uint)call.A0);
        Assert.Equal(expected, (int)(uint)call.A2);
    }

    /// <summary>The service partition's status in w3 of its response.</summary>
    internal static void AssertStatus(int expected, in SecureCall response) => Assert.Equal(expected, (int)(uint)response.A3);

    internal static void AssertSuccess(in SecureCall call) => Assert.True((uint)call.A0 == FfaAbi.Success32, $"FFA_ERROR {(int)(uint)call.A2}");

    [Theory]
    [InlineData(0x0001_0001u, 0x0001_0001u)]
    [InlineData(0x0001_0000u, 0x0001_0001u)]
    [InlineData(0x0001_0002u, 0x0001_0001u)]
    [InlineData(0x0002_0000u, 0xFFFF_FFFFu)]
    [InlineData(0x8001_0001u, 0xFFFF_FFFFu)]
    public void VersionAnswersOneOneToMajorOneAndNotSupportedToAnythingElse(uint asked, uint answer)
    {
        var vm = new SpmcMachine().Vm(1, map: false);
        Assert.Equal(answer, (uint)vm.Call(FfaAbi.Version, asked).A0);
    }

    [Fact]
    public void FeaturesIdAndSpmId()
    {
        var vm = new SpmcMachine().Vm(3, map: false);
        AssertSuccess(vm.Call(FfaAbi.Features, FfaAbi.MemShare64));
        AssertSuccess(vm.Call(FfaAbi.Features, FfaAbi.RxTxMap64));
        AssertError(FfaAbi.NotSupported, vm.Call(FfaAbi.Features, FfaAbi.MemLend32));
        AssertError(FfaAbi.NotSupported, vm.Call(FfaAbi.Features, 1)); // the notification pending interrupt
        var id = vm.Call(FfaAbi.IdGet);
        AssertSuccess(id);
        Assert.Equal(3UL, id.A2);
        Assert.Equal(FfaAbi.SpmcId, (ushort)vm.Call(FfaAbi.SpmIdGet).A2);
        AssertError(FfaAbi.NotSupported, vm.Call(0x8400_00FF));
    }

    [Fact]
    public void PartitionInfoGoesToTheRxBufferWhichTheCallerOwnsUntilItReleasesIt()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1);
        var info = vm.Call(FfaAbi.PartitionInfoGet);
        AssertSuccess(info);
        Assert.Equal((1UL, 24UL), (info.A2, info.A3));
        var descriptor = machine.Memory.At(vm.Rx, 24);
        Assert.Equal(ServicePartition.PartitionId, BinaryPrimitives.ReadUInt16LittleEndian(descriptor));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(descriptor[2..]));
        Assert.Equal(machine.Partition.Properties, BinaryPrimitives.ReadUInt32LittleEndian(descriptor[4..]));
        Assert.Equal(ServicePartition.PartitionUuid, new Guid(descriptor[8..], bigEndian: true));

        AssertError(FfaAbi.Busy, vm.Call(FfaAbi.PartitionInfoGet));
        AssertSuccess(vm.Call(FfaAbi.RxRelease));
        AssertError(FfaAbi.Denied, vm.Call(FfaAbi.RxRelease));

        // By UUID, four bytes a register; the count alone leaves the RX buffer alone.
        var uuid = new byte[16];
        ServicePartition.PartitionUuid.TryWriteBytes(uuid, bigEndian: true, out _);
        ulong W(int i) => BinaryPrimitives.ReadUInt32LittleEndian(uuid.AsSpan(4 * i));
        var counted = vm.Call(FfaAbi.PartitionInfoGet, W(0), W(1), W(2), W(3), FfaAbi.PartitionInfoCountOnly);
        AssertSuccess(counted);
        Assert.Equal(1UL, counted.A2);
        AssertSuccess(vm.Call(FfaAbi.PartitionInfoGet, W(0), W(1), W(2), W(3)));
        AssertSuccess(vm.Call(FfaAbi.RxRelease));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.PartitionInfoGet, W(0) ^ 1, W(1), W(2), W(3)));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.PartitionInfoGet, 0, 0, 0, 0, 2));
    }

    [Fact]
    public void AVersionOneZeroCallerGetsEightByteDescriptors()
    {
        var vm = new SpmcMachine().Vm(2);
        vm.Call(FfaAbi.Version, FfaAbi.Version10);
        var info = vm.Call(FfaAbi.PartitionInfoGet);
        AssertSuccess(info);
        Assert.Equal(8UL, info.A3);
    }

    [Fact]
    public void PartitionInfoNeedsBuffers()
    {
        var vm = new SpmcMachine().Vm(1, map: false);
        vm.Call(FfaAbi.Version, FfaAbi.Version11);
        AssertError(FfaAbi.Denied, vm.Call(FfaAbi.PartitionInfoGet));
    }

    [Fact]
    public void RxTxMapChecksItsArguments()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1, map: false);
        machine.Memory.Forbidden = (vm.Base + 0x10_0000, vm.Base + 0x10_1000);
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx, vm.Rx, 0));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx, vm.Rx, 17));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx, vm.Rx, 1 | 0x100));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx + 8, vm.Rx, 1));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx, vm.Tx, 1));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Tx, vm.Tx + 0x1000, 2));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, vm.Base + 0x10_0000, vm.Rx, 1));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, 0x1000, vm.Rx, 1));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxMap64, ulong.MaxValue & ~0xFFFUL, vm.Rx, 1));
        // SMC32 addresses are 32 bits: the high half is not an address.
        AssertSuccess(vm.Call(FfaAbi.RxTxMap32, vm.Tx | (1UL << 40), vm.Rx, 1));
        AssertError(FfaAbi.Denied, vm.MapBuffers());
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxUnmap, 7u << 16));
        AssertSuccess(vm.Call(FfaAbi.RxTxUnmap));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.RxTxUnmap));
        AssertSuccess(vm.MapBuffers());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DirectRequestsEchoAndAddAndTheResponseComesFromThePartition(bool is64)
    {
        var vm = new SpmcMachine().Vm(4, map: false);
        ulong big = 0x1234_5678_9ABC_DEF0;
        var echo = vm.Direct(ServicePartition.CmdEcho, big, 2, 3, 4, is64);
        Assert.Equal(is64 ? FfaAbi.MsgSendDirectResp64 : FfaAbi.MsgSendDirectResp32, (uint)echo.A0);
        Assert.Equal(((uint)ServicePartition.PartitionId << 16) | 4u, (uint)echo.A1);
        Assert.Equal((0UL, is64 ? big : (uint)big, 2UL, 3UL, 4UL), (echo.A3, echo.A4, echo.A5, echo.A6, echo.A7));
        var sum = vm.Direct(ServicePartition.CmdAdd, 1, 2, 3, 0xFFFF_FFFF, is64);
        Assert.Equal(is64 ? 0x1_0000_0005UL : 5UL, sum.A4);
        AssertStatus(FfaAbi.NotSupported, vm.Direct(0x77, is64: is64));
    }

    [Fact]
    public void DirectRequestsAreRefusedToUnknownPartitionsSpoofedSendersAndFrameworkMessagesFromVms()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1, map: false);
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MsgSendDirectReq64, (1u << 16) | 0x8077));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MsgSendDirectReq64, (2u << 16) | ServicePartition.PartitionId));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MsgSendDirectReq64, (1u << 16) | ServicePartition.PartitionId, 1));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MsgSendDirectReq32, (1u << 16) | ServicePartition.PartitionId,
            FfaAbi.FrameworkMessage | FfaAbi.VmDestroyedMessage, 0, 0, 1));
        Assert.True(machine.Partition.Knows(1));
        // A VM the partition was never told about is refused by the partition itself.
        var stranger = new SpmcEndpoint(machine, 9);
        AssertStatus(FfaAbi.Denied, stranger.Direct(ServicePartition.CmdEcho));
    }

    [Fact]
    public void AShareIsRetrievedReadWrittenRelinquishedAndReclaimed()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1);
        machine.Memory.At(vm.Page(0), 4096).Fill(1);
        machine.Memory.At(vm.Page(2), 4096).Fill(2);
        var shared = vm.Share([(vm.Page(0), 1), (vm.Page(2), 1)]);
        AssertSuccess(shared);
        ulong handle = SpmcEndpoint.Handle(shared);
        Assert.Equal(1, machine.Spmc.ShareCount(1));

        // The partition touches it only once it retrieved it.
        AssertStatus(FfaAbi.Denied, vm.WithHandle(ServicePartition.CmdRead32, handle));
        var retrieved = vm.WithHandle(ServicePartition.CmdRetrieve, handle);
        Assert.Equal((0UL, 2UL), (retrieved.A3, retrieved.A4));
        Assert.Equal(0x0101_0101UL, vm.WithHandle(ServicePartition.CmdRead32, handle, 4).A4);
        Assert.Equal(0UL, vm.WithHandle(ServicePartition.CmdWrite32, handle, 4096 + 8, 0xCAFE_F00D).A3);
        Assert.Equal(0xCAFE_F00Du, BinaryPrimitives.ReadUInt32LittleEndian(machine.Memory.At(vm.Page(2) + 8, 4)));
        AssertStatus(FfaAbi.InvalidParameters, vm.WithHandle(ServicePartition.CmdRead32, handle, 8192));
        var checksum = vm.WithHandle(ServicePartition.CmdChecksum, handle);
        Assert.Equal((0UL, 8192UL), (checksum.A3, checksum.A5));
        Assert.Equal((ulong)(4096 + 2 * 4092 + 0xCA + 0xFE + 0xF0 + 0x0D), checksum.A4);

        AssertError(FfaAbi.Denied, vm.Call(FfaAbi.MemReclaim, (uint)handle, handle >> 32));
        Assert.Equal(0UL, vm.WithHandle(ServicePartition.CmdRelinquish, handle).A3);
        AssertSuccess(vm.Call(FfaAbi.MemReclaim, (uint)handle, handle >> 32, FfaAbi.ReclaimZeroMemory));
        Assert.All(machine.Memory.At(vm.Page(2), 4096).ToArray(), b => Assert.Equal(0, b));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemReclaim, (uint)handle, handle >> 32));
        AssertStatus(FfaAbi.InvalidParameters, vm.WithHandle(ServicePartition.CmdRetrieve, handle));
        // The pages may be shared again.
        AssertSuccess(vm.Share([(vm.Page(0), 1)]));
    }

    [Fact]
    public void AReadOnlyShareCannotBeWritten()
    {
        var vm = new SpmcMachine().Vm(1);
        ulong handle = SpmcEndpoint.Handle(vm.Share([(vm.Page(0), 1)], FfaMemoryTransaction.DataReadOnly));
        vm.WithHandle(ServicePartition.CmdRetrieve, handle);
        Assert.Equal(0UL, vm.WithHandle(ServicePartition.CmdRead32, handle).A3);
        AssertStatus(FfaAbi.Denied, vm.WithHandle(ServicePartition.CmdWrite32, handle, 0, 1));
    }

    [Fact]
    public void MalformedOrForbiddenSharesAreRefused()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1);
        machine.Memory.Forbidden = (vm.Page(8), vm.Page(9));
        AssertError(FfaAbi.InvalidParameters, vm.Share([(vm.Page(0), 1)], sender: 2));
        AssertError(FfaAbi.InvalidParameters, vm.Share([(vm.Page(0), 1)], receiver: 0x8077));
        AssertError(FfaAbi.InvalidParameters, vm.Share([(vm.Page(0), 2), (vm.Page(1), 1)]));
        AssertError(FfaAbi.InvalidParameters, vm.Share([(vm.Page(0) + 8, 1)]));
        AssertError(FfaAbi.InvalidParameters, vm.Share([(vm.Page(0), 1)], permissions: FfaMemoryTransaction.DataReadWrite | 0x8));
        AssertError(FfaAbi.Denied, vm.Share([(vm.Page(8), 1)]));
        AssertError(FfaAbi.Denied, vm.Share([(0x1000, 1)]));
        AssertError(FfaAbi.NoMemory, vm.Share([(vm.Page(0), 5000)]));
        AssertSuccess(vm.Share([(vm.Page(0), 2)]));
        AssertError(FfaAbi.Denied, vm.Share([(vm.Page(1), 1)]));

        // The registers: a buffer of the caller's own, fragments, lengths outside the TX buffer.
        int length = FfaMemoryTransaction.Build(machine.Memory.At(vm.Tx, 4096), 1, [(ServicePartition.PartitionId, 3)], [(vm.Page(4), 1)]);
        AssertError(FfaAbi.NotSupported, vm.Call(FfaAbi.MemShare64, (uint)length, (uint)length, vm.Page(5), 1));
        AssertError(FfaAbi.NotSupported, vm.Call(FfaAbi.MemShare64, (uint)length, 48));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemShare64, 40, 40));
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemShare64, 8192, 8192));
        // Device memory, and a composite descriptor whose ranges run past the end.
        var tx = machine.Memory.At(vm.Tx, 4096);
        BinaryPrimitives.WriteUInt16LittleEndian(tx[2..], 0x04);
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemShare64, (uint)length, (uint)length));
        BinaryPrimitives.WriteUInt16LittleEndian(tx[2..], FfaMemoryTransaction.NormalWriteBackInnerShareable);
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemShare64, (uint)length - 1, (uint)length - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(tx[32..], 4096);
        AssertError(FfaAbi.InvalidParameters, vm.Call(FfaAbi.MemShare64, (uint)length, (uint)length));
        Assert.Equal(1, machine.Spmc.ShareCount(1));
    }

    [Fact]
    public void VmsNeverReachEachOthersShares()
    {
        var machine = new SpmcMachine();
        var one = machine.Vm(1);
        var two = machine.Vm(2);
        ulong handle = SpmcEndpoint.Handle(one.Share([(one.Page(0), 1)]));
        // Two cannot reclaim it, make the partition retrieve it, or share one's pages as one.
        AssertError(FfaAbi.InvalidParameters, two.Call(FfaAbi.MemReclaim, (uint)handle, handle >> 32));
        AssertStatus(FfaAbi.InvalidParameters, two.WithHandle(ServicePartition.CmdRetrieve, handle));
        AssertError(FfaAbi.InvalidParameters, two.Share([(one.Page(0), 1)], sender: 1));
        Assert.Equal(0UL, one.WithHandle(ServicePartition.CmdRetrieve, handle).A3);
        AssertStatus(FfaAbi.Denied, two.WithHandle(ServicePartition.CmdRead32, handle));
        // Their RX buffers are their own.
        AssertSuccess(one.Call(FfaAbi.PartitionInfoGet));
        AssertSuccess(two.Call(FfaAbi.PartitionInfoGet));
        AssertError(FfaAbi.Denied, two.Call(FfaAbi.RxRelease, 1));
    }

    [Fact]
    public void AfterVmDestroyedNothingOfTheVmIsLeft()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1);
        ulong handle = SpmcEndpoint.Handle(vm.Share([(vm.Page(0), 3)]));
        vm.WithHandle(ServicePartition.CmdRetrieve, handle);
        var response = machine.Tell(1, FfaAbi.VmDestroyedMessage);
        Assert.Equal(FfaAbi.MsgSendDirectResp32, (uint)response.A0);
        Assert.Equal(FfaAbi.FrameworkMessage | FfaAbi.VmDestroyedResponse, (uint)response.A2);
        Assert.False(machine.Spmc.HasEndpoint(1));
        Assert.Equal(0, machine.Spmc.ShareCount(1));
        Assert.False(machine.Partition.Knows(1));
        AssertStatus(FfaAbi.Denied, vm.Direct(ServicePartition.CmdEcho));
        AssertError(FfaAbi.InvalidParameters, machine.Tell(0, FfaAbi.VmCreatedMessage));
        AssertError(FfaAbi.InvalidParameters, machine.Tell(1, 9));
    }

    [Fact]
    public void AHundredThousandRandomCallsNeverThrow()
    {
        var machine = new SpmcMachine();
        var vm = machine.Vm(1);
        var random = new Random(77);
        var tx = machine.Memory.At(vm.Tx, 4096);
        ulong[] interesting = [0, 1, 48, 64, 80, vm.Tx, vm.Rx, vm.Page(0), 0xFFA0_0001, ServicePartition.PartitionId, (1u << 16) | ServicePartition.PartitionId];
        ulong Word() => random.Next(3) switch
        {
            0 => interesting[random.Next(interesting.Length)],
            1 => (ulong)random.NextInt64(),
            _ => (uint)random.Next(256),
        };
        for (int i = 0; i < 100_000; i++)
        {
            if (i % 500 == 0)
            {
                FfaMemoryTransaction.Build(tx, 1, [(ServicePartition.PartitionId, 3)], [(vm.Page(random.Next(8)), (uint)random.Next(1, 4))]);
                for (int k = random.Next(4); k > 0; k--) tx[random.Next(128)] = (byte)random.Next(256);
            }
            uint fid = random.Next(2) == 0 ? (uint)(0x8400_0060 + random.Next(0xA0)) | (random.Next(2) == 0 ? 0x4000_0000u : 0) : (uint)random.NextInt64(0, 1L << 32);
            var call = new SecureCall(fid, (uint)Word())
            {
                Endpoint = random.Next(10) == 0 ? (ushort)random.Next(4) : (ushort)1,
                A1 = Word(), A2 = Word(), A3 = Word(), A4 = Word(), A5 = Word(), A6 = Word(), A7 = Word(),
            };
            machine.Monitor.Smc(ref call);
        }
        // The VM still works.
        machine.Tell(1, FfaAbi.VmCreatedMessage);
        Assert.Equal(0UL, vm.Direct(ServicePartition.CmdEcho).A3);
    }
}
