using Jit.Hypervisor.Config;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;
using static Jit.Hypervisor.Tests.Tee.GuestFfaDriver;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>FF-A guests that hand the mediator what no driver should, and two domains that try to reach each other.</summary>
public sealed class FfaMediatorHostileTests : IDisposable
{
    private const ulong MmioPage = OddPages.Mmio, ReadOnlyPage = OddPages.ReadOnly, ForeignPage = OddPages.Foreign;

    private readonly HostMachine machine = new(EntropySources.Seeded(3));
    private readonly TeeGuest g, other;
    private readonly OddPages odd;

    public FfaMediatorHostileTests()
    {
        g = new TeeGuest(machine, 1, TeeKind.Ffa);
        other = new TeeGuest(machine, 2, TeeKind.Ffa);
        odd = new OddPages(g, other);
    }

    public void Dispose()
    {
        g.Dispose();
        other.Dispose();
        odd.Dispose();
    }

    private Spmc Spmc => machine.SecureWorld.Spmc!;

    /// <summary>The domain's shares as the mediator and the SPMC count them: always the same number.</summary>
    private void AssertShares(int count)
    {
        Assert.Equal(count, g.FfaMediator.ShareCount);
        Assert.Equal(count, Spmc.ShareCount(2));
    }

    [Theory]
    [InlineData(0x1000UL)]                                   // below RAM, unmapped
    [InlineData(TeeGuest.RamBase + TeeGuest.RamSize)]        // just past it
    [InlineData(TeeGuest.RamBase + 0x10_0800)]               // misaligned
    [InlineData(MmioPage)]
    [InlineData(ForeignPage)]
    [InlineData(ReadOnlyPage)]
    [InlineData(0xFFFF_FFFF_FFFF_F000UL)]
    public void BuffersOutsideTheDomainsOwnRamAreRefused(ulong at)
    {
        ulong good = g.Pages.Contiguous(4096);
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, at, good, 1));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, good, at, 1));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, at, at + 0x1000, 2));
        Assert.False(g.FfaMediator.HasBuffers);
    }

    [Fact]
    public void BufferSizesAndStateAreChecked()
    {
        ulong pair = g.Pages.Contiguous(16 * 4096);
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x8000, 0));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x8000, 5));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x1000, 2));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x8000, 0x41));
        // A two-page buffer whose second page is past the end of RAM.
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxMap64, TeeGuest.RamBase + TeeGuest.RamSize - 4096, pair, 2));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxUnmap));
        AssertSuccess(g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x8000, 4));
        AssertError(FfaAbi.Denied, g.Ffa.Call(FfaAbi.RxTxMap64, pair, pair + 0x8000, 4));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.RxTxUnmap, 3u << 16));
        AssertSuccess(g.Ffa.Call(FfaAbi.RxTxUnmap, 2u << 16));
        // The shadows stay mapped at the SPMC: the guest's buffers were never the SPMC's.
        Assert.True(Spmc.HasBuffers(2));
    }

    [Fact]
    public void SharesOfMemoryThatIsNotTheDomainsOwnRamAreDenied()
    {
        g.Ffa.Probe();
        ulong own = g.Pages.Contiguous(4096);
        foreach (ulong page in new[] { MmioPage, ReadOnlyPage, ForeignPage, 0x1000UL, TeeGuest.RamBase + TeeGuest.RamSize })
        {
            AssertError(FfaAbi.Denied, g.Ffa.Share([(page, 1)]));
            AssertError(FfaAbi.Denied, g.Ffa.Share([(own, 1), (page, 1)]));
        }
        AssertError(FfaAbi.Denied, g.Ffa.Share([(TeeGuest.RamBase + TeeGuest.RamSize - 4096, 2)]));
        AssertShares(0);
    }

    [Fact]
    public void MalformedSharesAreRefused()
    {
        g.Ffa.Probe();
        ulong p = g.Pages.Contiguous(8 * 4096);
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1)], sender: 3));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1)], sender: 0));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1)], receiver: 0x8002));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1)], receiver: 3));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 2), (p + 4096, 1)]));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1), (p, 1)]));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p + 12, 1)]));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 0)]));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Share([(p, 1)], permissions: FfaMemoryTransaction.DataNoAccess));
        AssertError(FfaAbi.NoMemory, g.Ffa.Share([(p, 5000)]));

        // Lengths: beyond the TX buffer, shorter than the header, shorter than what the descriptor says, fragments.
        AssertSuccess(g.Ffa.Share([(p, 1)]));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.MemShare64, 4097, 4097));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.MemShare64, 47, 47));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.MemShare64, 90, 90));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.MemShare64, 96, 48));
        AssertError(FfaAbi.InvalidParameters, g.Ffa.Call(FfaAbi.MemShare64, 48, 96));
        AssertError(FfaAbi.NotSupported, g.Ffa.Call(FfaAbi.MemShare64, 96, 96, p, 1));
        // Offsets that point outside the descriptor or back into its header.
        var header = g.Read(g.Ffa.Tx, 96);
        foreach (var (offset, value) in new[] { (32, 4096u), (32, 16u), (28, 0u), (28, 0xFFFF_FFFFu), (24, 32u), (52, 8u), (52, 0xFFFF_FFF0u), (68, 1000u) })
        {
            var bad = (byte[])header.Clone();
            BitConverter.TryWriteBytes(bad.AsSpan(offset), value);
            g.Write(g.Ffa.Tx, bad);
            var r = g.Ffa.Call(FfaAbi.MemShare64, 96, 96);
            Assert.Equal(FfaAbi.Error, (uint)r.X0);
        }
        AssertShares(1);
    }

    [Fact]
    public void APageIsSharedOnceAtATimeAndTheLimitsHold()
    {
        g.Ffa.Probe();
        ulong p = g.Pages.Contiguous(64 * 4096);
        ulong handle = Handle(g.Ffa.Share([(p, 2)]));
        AssertError(FfaAbi.Denied, g.Ffa.Share([(p + 4096, 1)]));
        for (int i = 1; i < 32; i++) AssertSuccess(g.Ffa.Share([(p + (ulong)(i + 1) * 4096, 1)]));
        AssertError(FfaAbi.NoMemory, g.Ffa.Share([(p + 40 * 4096, 1)]));
        AssertSuccess(g.Ffa.Reclaim(handle));
        AssertSuccess(g.Ffa.Share([(p + 4096, 1)]));
    }

    [Fact]
    public void ADomainCannotReclaimOrUseAnotherDomainsShare()
    {
        g.Ffa.Probe();
        other.Ffa.Probe();
        ulong page = g.Pages.Contiguous(4096);
        g.Write(page, [1, 2, 3, 4]);
        ulong handle = Handle(g.Ffa.Share([(page, 1)]));
        AssertError(FfaAbi.InvalidParameters, other.Ffa.Reclaim(handle));
        AssertStatus(FfaAbi.InvalidParameters, other.Ffa.WithHandle(ServicePartition.CmdRetrieve, handle));
        AssertStatus(FfaAbi.Denied, other.Ffa.WithHandle(ServicePartition.CmdRead32, handle));
        // The same IPA in the other domain is the other domain's page: its share is of its own memory.
        ulong theirs = Handle(other.Ffa.Share([(page, 1)]));
        other.Ffa.WithHandle(ServicePartition.CmdRetrieve, theirs);
        Assert.Equal(0UL, other.Ffa.WithHandle(ServicePartition.CmdRead32, theirs).X4);
        g.Ffa.WithHandle(ServicePartition.CmdRetrieve, handle);
        Assert.Equal(0x0403_0201UL, g.Ffa.WithHandle(ServicePartition.CmdRead32, handle).X4);
        // Each domain's partition information lands in its own RX buffer.
        AssertSuccess(g.Ffa.Call(FfaAbi.PartitionInfoGet));
        AssertSuccess(other.Ffa.Call(FfaAbi.PartitionInfoGet));
        AssertSuccess(other.Ffa.Call(FfaAbi.RxRelease));
        AssertError(FfaAbi.Busy, g.Ffa.Call(FfaAbi.PartitionInfoGet));

        // Destroying one leaves the other whole.
        g.Dispose();
        Assert.Equal(0, Spmc.ShareCount(2));
        Assert.Equal(1, Spmc.ShareCount(3));
        Assert.Equal(0UL, other.Ffa.WithHandle(ServicePartition.CmdRead32, theirs).X3);
        AssertSuccess(other.Ffa.Call(FfaAbi.PartitionInfoGet));
    }
}
