using Jit.Devices.Network;
using static Jit.Devices.Tests.Network.Ethernet;

namespace Jit.Devices.Tests.Network;

public sealed class NetworkSwitchTests : IDisposable
{
    private static readonly TimeSpan Ageing = TimeSpan.FromSeconds(300);
    private readonly ManualTime time = new();
    private readonly NetworkSwitch sw;
    private readonly Station a = new(), b = new(), c = new();
    private readonly SwitchPort pa, pb, pc;
    private static readonly byte[] MacA = Mac(0xA), MacB = Mac(0xB), MacC = Mac(0xC);

    public NetworkSwitchTests()
    {
        sw = new NetworkSwitch("xenbr0", addressCapacity: 64, ageing: Ageing, time: time);
        pa = sw.Attach("vif1.0", a.Receive);
        pb = sw.Attach("vif2.0", b.Receive);
        pc = sw.Attach("vif3.0", c.Receive);
    }

    public void Dispose() => sw.Dispose();

    private void Send(SwitchPort from, byte[] frame)
    {
        from.Transmit(frame);
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void UnknownUnicastIsFloodedToEveryOtherPortNeverBackToTheSender()
    {
        Send(pa, Frame(MacB, MacA));
        Assert.Equal(0, a.Count);
        Assert.Equal(1, b.Count);
        Assert.Equal(1, c.Count);
    }

    [Fact]
    public void ALearnedAddressGetsItsFramesAlone()
    {
        Send(pb, Frame(Broadcast, MacB));             // B announces itself
        Assert.Same(pb, sw.PortOf(MacB));
        Send(pa, Frame(MacB, MacA, tag: 7));
        Assert.Equal(7, Tag(Assert.Single(b.Frames)));
        Assert.Single(c.Frames);                      // the broadcast only
        Send(pb, Frame(MacA, MacB, tag: 8));          // A was learned from its frame
        Assert.Equal(8, Tag(a.Frames.Last()));
        Assert.Equal(2, a.Count);
        Assert.Single(c.Frames);
        Assert.Equal(2, sw.LearnedAddresses);
    }

    [Fact]
    public void BroadcastAndMulticastGoToEveryOtherPort()
    {
        byte[] ipv4Multicast = [0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB], ipv6Multicast = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];
        foreach (var group in new[] { Broadcast, ipv4Multicast, ipv6Multicast })
            Send(pa, Frame(group, MacA));
        Assert.Equal(3, c.Count);
        Assert.Equal(3, b.Count);
        Assert.Equal(0, a.Count);
        Assert.Null(sw.PortOf(Broadcast));
    }

    [Fact]
    public void AFrameForAStationOnTheSendersOwnPortIsFiltered()
    {
        Send(pa, Frame(Broadcast, MacA));
        Send(pa, Frame(MacA, Mac(0xAA)));             // a second station behind port A talks to the first
        Assert.Equal(1, b.Count);
        Assert.Equal(1, c.Count);
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public void AStationThatMovesIsFollowed()
    {
        Send(pa, Frame(Broadcast, MacC));
        Assert.Same(pa, sw.PortOf(MacC));
        Send(pc, Frame(Broadcast, MacC));
        Assert.Same(pc, sw.PortOf(MacC));
        Send(pb, Frame(MacC, MacB));
        Assert.Equal(1, a.Count);                     // C's broadcast from port C, not B's frame for C
        Assert.Equal(2, c.Count);
    }

    [Fact]
    public void RuntsAndOversizedFramesAreDroppedAndCounted()
    {
        Send(pa, Frame(Broadcast, MacA, length: NetworkSwitch.HeaderSize - 1));
        Send(pa, Frame(Broadcast, MacA, length: NetworkSwitch.MaxFrame + 1));
        Assert.Equal(0, b.Count);
        Send(pa, Frame(Broadcast, MacA, length: NetworkSwitch.HeaderSize));
        Send(pa, Frame(Broadcast, MacA, length: NetworkSwitch.MaxFrame));
        Assert.Equal([NetworkSwitch.HeaderSize, NetworkSwitch.MaxFrame], b.Frames.Select(f => f.Length));
        var counters = pa.Counters;
        Assert.Equal(2, counters.TransmitDropped);
        Assert.Equal(2, counters.TransmittedFrames);
        Assert.Equal(NetworkSwitch.HeaderSize + NetworkSwitch.MaxFrame, counters.TransmittedBytes);
    }

    [Fact]
    public void FramesFromNoStationAndToTheBridgeGroupAddressesAreNotRelayed()
    {
        Send(pa, Frame(Broadcast, [0x01, 0x00, 0x5E, 0x00, 0x00, 0x01]));    // a group source address
        Send(pa, Frame(Broadcast, [0, 0, 0, 0, 0, 0]));
        Send(pa, Frame([0x01, 0x80, 0xC2, 0x00, 0x00, 0x00], MacA));         // spanning tree
        Send(pa, Frame([0x01, 0x80, 0xC2, 0x00, 0x00, 0x01], MacA));         // pause
        Send(pa, Frame([0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E], MacA));         // LLDP
        Assert.Equal(0, b.Count + c.Count);
        Assert.Equal(5, pa.Counters.TransmitDropped);
        Assert.Equal(0, sw.LearnedAddresses);                                 // nor is anything learned from them
    }

    [Fact]
    public void AddressesAgeOutAndUnicastFloodsAgain()
    {
        Send(pb, Frame(Broadcast, MacB));
        time.Advance(Ageing);
        Assert.Same(pb, sw.PortOf(MacB));             // the ageing time itself is still in time
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(sw.PortOf(MacB));
        Assert.Equal(0, sw.LearnedAddresses);
        Send(pa, Frame(MacB, MacA));
        Assert.Equal(2, c.Count);
        Send(pb, Frame(MacA, MacB));                  // heard again: learned again
        Assert.Same(pb, sw.PortOf(MacB));
    }

    [Fact]
    public void HostileSourceAddressesCannotGrowTheTable()
    {
        pb.Connect(_ => true);
        pc.Connect(_ => true);
        var frame = Frame(Broadcast, MacA);
        for (int i = 0; i < 20_000; i++)
        {
            frame[9] = (byte)(i >> 16);
            frame[10] = (byte)(i >> 8);
            frame[11] = (byte)i;
            pa.Transmit(frame);
            if (i % 200 == 0) Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        }
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(64, sw.AddressCapacity);
        Assert.InRange(sw.LearnedAddresses, 1, 64);
        Assert.True(sw.AddressEvictions >= 20_000 - 64 - pa.Counters.TransmitDropped);

        // The flood does not stop the switch from learning the stations that talk now.
        pb.Connect(b.Receive);
        pc.Connect(c.Receive);
        Send(pb, Frame(Broadcast, MacB));
        Send(pc, Frame(MacB, MacC));
        Assert.Same(pb, sw.PortOf(MacB));
        Assert.Single(b.Frames);
        Assert.Single(c.Frames);
    }

    [Fact]
    public void ADetachedPortIsForgottenAndNeverCalledAgain()
    {
        Send(pb, Frame(Broadcast, MacB));
        Send(pc, Frame(MacB, MacC));
        int heard = b.Count;
        sw.Detach(pb);
        Assert.False(pb.IsAttached);
        Assert.Equal([pa, pc], sw.Ports);
        Assert.Null(sw.PortOf(MacB));
        Send(pc, Frame(MacB, MacC));                  // unknown again: flooded, to A only
        Assert.Equal(heard, b.Count);
        Assert.Equal(2, a.Count);
        pb.Transmit(Frame(Broadcast, MacB));          // the domain's last gasp goes nowhere
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, a.Count);
        Assert.Equal(1, pb.Counters.TransmitDropped);
        pb.Dispose();                                 // twice is harmless
    }

    [Fact]
    public void AFrameAReceiverRefusesIsCountedAsItsDrop()
    {
        b.Refuse = true;
        Send(pa, Frame(Broadcast, MacA, length: 100));
        Assert.Equal(new NetworkCounters(0, 0, 0, 0, 0, 1), pb.Counters);
        Assert.Equal(new NetworkCounters(0, 0, 0, 1, 100, 0), pc.Counters);
        Assert.Equal(new NetworkCounters(1, 100, 0, 0, 0, 0), pa.Counters);
    }

    [Fact]
    public void APortWithoutAReceiverDropsWhatComes()
    {
        var late = sw.Attach("vif4.0");
        Send(pa, Frame(Broadcast, MacA));
        Assert.Equal(1, late.Counters.ReceiveDropped);
        var d = new Station();
        late.Connect(d.Receive);
        Send(pa, Frame(Broadcast, MacA));
        Assert.Single(d.Frames);
    }

    [Fact]
    public void AFullPortQueueDropsTheExcess()
    {
        var blocker = new ManualResetEventSlim();
        var entered = new ManualResetEventSlim();
        pb.Connect(_ => { entered.Set(); blocker.Wait(); return true; });
        pc.Connect(_ => true);
        pa.Transmit(Frame(Broadcast, MacA));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));   // the switch is stuck delivering A's first frame
        for (int i = 0; i < NetworkSwitch.QueuedFrames + 10; i++) pa.Transmit(Frame(MacC, MacA));
        blocker.Set();
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        // The frame being forwarded keeps its slot until it has been delivered.
        Assert.Equal(new NetworkCounters(NetworkSwitch.QueuedFrames, 60 * NetworkSwitch.QueuedFrames, 11, 0, 0, 0), pa.Counters);
    }

    [Fact]
    public void DisposeDetachesEveryPortAndStopsTheThread()
    {
        Send(pa, Frame(Broadcast, MacA));
        sw.Dispose();
        Assert.Empty(sw.Ports);
        Assert.False(pa.IsAttached);
        pa.Transmit(Frame(Broadcast, MacA));
        Assert.Equal(1, b.Count);
        Assert.Throws<ObjectDisposedException>(() => sw.Attach("late"));
    }

    [Fact]
    public void ConstructionChecksItsArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkSwitch("x", addressCapacity: 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkSwitch("x", addressCapacity: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkSwitch("x", ageing: TimeSpan.Zero));
        using var other = new NetworkSwitch("xenbr1");
        Assert.Throws<ArgumentException>(() => other.Detach(pa));
    }
}
