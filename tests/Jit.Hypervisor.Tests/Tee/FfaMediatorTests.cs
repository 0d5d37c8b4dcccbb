using System.Buffers.Binary;
using Jit.Hypervisor.Config;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;
using static Jit.Hypervisor.Tests.Tee.GuestFfaDriver;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>The FF-A mediator driven as a guest's FF-A driver drives it, through the domain's dispatcher and guest memory.</summary>
public class FfaMediatorTests
{
    private static HostMachine NewMachine() => new(EntropySources.Seeded(7));

    [Fact]
    public void TheDomainIsAnEndpointThePartitionWasToldAbout()
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 3, TeeKind.Ffa);
        var spmc = machine.SecureWorld.Spmc!;
        Assert.Equal((ushort)4, g.FfaMediator.EndpointId);
        Assert.Equal([ServicePartition.PartitionId], g.FfaMediator.Partitions);
        Assert.True(((ServicePartition)spmc.Partitions[0]).Knows(4));
        // The shadow pair is mapped for it from the start; the guest's own is not yet.
        Assert.True(spmc.HasBuffers(4));
        Assert.False(g.FfaMediator.HasBuffers);
    }

    [Fact]
    public void VersionFeaturesAndIds()
    {
        using var g = new TeeGuest(NewMachine(), 1, TeeKind.Ffa);
        Assert.Equal(FfaAbi.Version11, (uint)g.Ffa.Call(FfaAbi.Version, FfaAbi.Version11).X0);
        Assert.Equal(ulong.MaxValue, g.Ffa.Call(FfaAbi.Version, 0x0002_0000).X0);
        var id = g.Ffa.Call(FfaAbi.IdGet);
        AssertSuccess(id);
        Assert.Equal(2UL, id.X2);
        Assert.Equal(FfaAbi.SpmcId, (ushort)g.Ffa.Call(FfaAbi.SpmIdGet).X2);
        AssertSuccess(g.Ffa.Call(FfaAbi.Features, FfaAbi.MsgSendDirectReq64));
        AssertSuccess(g.Ffa.Call(FfaAbi.Features, FfaAbi.MemShare32));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.Features, FfaAbi.MsgSendDirectResp64));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.Features, FfaAbi.MemRetrieveReq32));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.Features, 2));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.MsgSendDirectResp32));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(0x8400_00A0));
    }

    [Theory]
    [InlineData(TeeKind.None)]
    [InlineData(TeeKind.Optee)]
    public void WithoutTeeFfaTheCallsAreNotSupported(TeeKind tee)
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 2, tee);
        Assert.Equal(ulong.MaxValue, g.Ffa.Call(FfaAbi.Version, FfaAbi.Version11).X0);
        Assert.Equal(ulong.MaxValue, g.Ffa.Call(FfaAbi.IdGet).X0);
        Assert.Equal(ulong.MaxValue, g.Ffa.Call(FfaAbi.MsgSendDirectReq64, (3u << 16) | ServicePartition.PartitionId).X0);
        Assert.False(machine.SecureWorld.Spmc!.HasEndpoint(3));
    }

    [Fact]
    public void PartitionInfoIsCopiedToTheGuestsRxBufferWhichItOwnsUntilItReleasesIt()
    {
        using var g = new TeeGuest(NewMachine(), 1, TeeKind.Ffa);
        AssertError(FfaAbi.Denied, g.Ffa.Call(FfaAbi.PartitionInfoGet));
        var counted = g.Ffa.Call(FfaAbi.PartitionInfoGet, 0, 0, 0, 0, FfaAbi.PartitionInfoCountOnly);
        AssertSuccess(counted);
        Assert.Equal(1UL, counted.X2);
        g.Ffa.Probe();
        var info = g.Ffa.Call(FfaAbi.PartitionInfoGet);
        AssertSuccess(info);
        Assert.Equal((1UL, 24UL), (info.X2, info.X3));
        var descriptor = g.Read(g.Ffa.Rx, 24);
        Assert.Equal(ServicePartition.PartitionId, BinaryPrimitives.ReadUInt16LittleEndian(descriptor));
        Assert.Equal(ServicePartition.PartitionUuid, new Guid(descriptor.AsSpan(8), bigEndian: true));
        AssertError(FfaAbi.Busy, g.Ffa.Call(FfaAbi.PartitionInfoGet));
        AssertSuccess(g.Ffa.Call(FfaAbi.RxRelease));
        AssertError(FfaAbi.Denied, g.Ffa.Call(FfaAbi.RxRelease));
        AssertSuccess(g.Ffa.Call(FfaAbi.PartitionInfoGet));
        // A 1.0 driver reads the 8-byte descriptors of 1.0.
        AssertSuccess(g.Ffa.Call(FfaAbi.RxRelease));
        g.Ffa.Call(FfaAbi.Version, FfaAbi.Version10);
        Assert.Equal(8UL, g.Ffa.Call(FfaAbi.PartitionInfoGet).X3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DirectRequestsGoAsTheDomainAndTheWholeResponseComesBack(bool is64)
    {
        using var g = new TeeGuest(NewMachine(), 1, TeeKind.Ffa);
        var echo = g.Ffa.Direct(ServicePartition.CmdEcho, 0x1_0000_0001, 2, 3, 4, is64);
        Assert.Equal(is64 ? FfaAbi.MsgSendDirectResp64 : FfaAbi.MsgSendDirectResp32, (uint)echo.X0);
        Assert.Equal(((uint)ServicePartition.PartitionId << 16) | 2u, (uint)echo.X1);
        Assert.Equal((0UL, is64 ? 0x1_0000_0001UL : 1UL, 2UL, 3UL, 4UL), (echo.X3, echo.X4, echo.X5, echo.X6, echo.X7));
        Assert.Equal(10UL, g.Ffa.Direct(ServicePartition.CmdAdd, 1, 2, 3, 4, is64).X4);
        // The guest's sender field is replaced by its own ID: the answer comes back to it.
        var spoofed = g.Ffa.Direct(ServicePartition.CmdEcho, 5, is64: is64, sender: 0x7777);
        Assert.Equal(2u, (uint)spoofed.X1 & 0xFFFF);
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Direct(ServicePartition.CmdEcho, receiver: 0x8002));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Direct(ServicePartition.CmdEcho, receiver: 1));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.MsgSendDirectReq32, ServicePartition.PartitionId,
            FfaAbi.FrameworkMessage | FfaAbi.VmDestroyedMessage, 0, 0, 2));
    }

    [Fact]
    public void ScatteredPagesAreSharedTheSecurePartitionWritesThemAndTheyAreReclaimed()
    {
        var machine = NewMachine();
        using var g = new TeeGuest(machine, 1, TeeKind.Ffa);
        g.Ffa.Probe();
        ulong[] pages = g.Pages.Scattered(3);
        ulong run = g.Pages.Contiguous(2 * 4096);
        for (int i = 0; i < 3; i++) g.Write(pages[i], Enumerable.Repeat((byte)(i + 1), 4096).ToArray());
        var shared = g.Ffa.Share([(pages[0], 1), (run, 2), (pages[1], 1), (pages[2], 1)]);
        AssertSuccess(shared);
        ulong handle = Handle(shared);
        Assert.Equal((1, 5), (g.FfaMediator.ShareCount, g.FfaMediator.SharedPageCount));
        Assert.Equal(1, machine.SecureWorld.Spmc!.ShareCount(2));

        Assert.Equal(5UL, g.Ffa.WithHandle(ServicePartition.CmdRetrieve, handle).X4);
        // Byte 4 of the fourth page of the region is byte 4 of pages[1].
        Assert.Equal(0x0202_0202UL, g.Ffa.WithHandle(ServicePartition.CmdRead32, handle, 3 * 4096 + 4).X4);
        AssertStatus(0, g.Ffa.WithHandle(ServicePartition.CmdWrite32, handle, 4 * 4096 + 16, 0xFEED_FACE));
        Assert.Equal(0xFEED_FACEu, BinaryPrimitives.ReadUInt32LittleEndian(g.Read(pages[2] + 16, 4)));
        AssertStatus(0, g.Ffa.WithHandle(ServicePartition.CmdWrite32, handle, 4096, 0x1234_5678));
        Assert.Equal(0x1234_5678u, BinaryPrimitives.ReadUInt32LittleEndian(g.Read(run, 4)));

        AssertError(FfaAbi.Denied, g.Ffa.Reclaim(handle));
        AssertStatus(0, g.Ffa.WithHandle(ServicePartition.CmdRelinquish, handle));
        AssertSuccess(g.Ffa.Reclaim(handle));
        Assert.Equal((0, 0), (g.FfaMediator.ShareCount, g.FfaMediator.SharedPageCount));
        Assert.Equal(0, machine.SecureWorld.Spmc.ShareCount(2));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Reclaim(handle));
    }

    [Fact]
    public void DestroyingTheDomainReclaimsItsSharesAndTellsThePartition()
    {
        var machine = NewMachine();
        var g = new TeeGuest(machine, 1, TeeKind.Ffa);
        g.Ffa.Probe();
        ulong kept = Handle(g.Ffa.Share([(g.Pages.Contiguous(4096), 1)]));
        ulong held = Handle(g.Ffa.Share([(g.Pages.Contiguous(4096), 1)]));
        g.Ffa.WithHandle(ServicePartition.CmdRetrieve, held);
        Assert.NotEqual(kept, held);
        int shadows = machine.Memory.Regions.Count(r => r.Kind == Jit.Hypervisor.Memory.MachineRegionKind.HypervisorShared);
        g.Dispose();
        var spmc = machine.SecureWorld.Spmc!;
        Assert.Equal(0, spmc.ShareCount(2));
        Assert.False(spmc.HasEndpoint(2));
        Assert.False(((ServicePartition)spmc.Partitions[0]).Knows(2));
        Assert.Equal(shadows - 1, machine.Memory.Regions.Count(r => r.Kind == Jit.Hypervisor.Memory.MachineRegionKind.HypervisorShared));
        g.FfaMediator.DomainDestroyed();
    }
}
