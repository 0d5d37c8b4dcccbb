using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

public sealed class VirtioNetTests : IDisposable
{
    private sealed class Wire : INetworkBackend
    {
        public readonly List<byte[]> Frames = [];
        public void Transmit(ReadOnlySpan<byte> frame) => Frames.Add(frame.ToArray());
    }

    private static readonly byte[] Mac = [0x00, 0x16, 0x3E, 0x12, 0x34, 0x56];
    private readonly Wire wire = new();
    private readonly VirtioNet net;
    private readonly VirtioTestBed bed;

    public VirtioNetTests()
    {
        VirtioNet? made = null;
        bed = new VirtioTestBed(() => made = new VirtioNet(Mac, wire));
        net = made!;
        bed.Probe();
    }

    public void Dispose() => bed.Dispose();

    private (DriverQueue Receive, DriverQueue Transmit) Start()
    {
        var q = bed.Start(VirtioFeatures.Version1 | VirtioNet.FeatureMac | VirtioNet.FeatureStatus, queues: 2);
        return (q[0], q[1]);
    }

    private static byte[] Frame(int length, byte seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 3 + seed))];

    [Fact]
    public void ConfigurationGivesTheMacAndLinkUp()
    {
        Assert.Equal(0x1041, bed.Config.Read16(2));
        Assert.Equal(0x0200_0001u, bed.Config.Read32(8));
        Assert.Equal(Mac, Enumerable.Range(0, 6).Select(i => (byte)bed.R(bed.DeviceConfig + (ulong)i, 1)).ToArray());
        Assert.Equal(VirtioNet.LinkUp, (ushort)bed.R(bed.DeviceConfig + 6, 2));
    }

    [Fact]
    public void TransmittedFramesReachTheBackendWithoutTheHeader()
    {
        var (_, tx) = Start();
        var frame = Frame(60, 1);
        ulong header = bed.Ram.Alloc(VirtioNet.HeaderSize), data = bed.Ram.Alloc(60);
        bed.Ram.Write(header, new byte[VirtioNet.HeaderSize]);
        bed.Ram.Write(data, frame);
        tx.Post(new Buffer(header, VirtioNet.HeaderSize, false), new Buffer(data, 60, false));
        tx.Kick();
        tx.TakeUsed();
        Assert.Equal(frame, Assert.Single(wire.Frames));
        Assert.Equal(1, bed.Msi.Count(0x102));
    }

    [Fact]
    public void ReceivedFramesWaitForBuffersAndArriveWithAHeader()
    {
        var (rx, _) = Start();
        var first = Frame(1514, 7);
        Assert.True(net.Receive(first));              // no buffer yet: it waits
        Assert.Equal(0, rx.UsedIndex);
        ulong buffer = bed.Ram.Alloc(1526);
        rx.Post(new Buffer(buffer, 1526, true));
        rx.Kick();
        Assert.Equal((uint)(VirtioNet.HeaderSize + 1514), rx.TakeUsed().Length);
        var header = bed.Ram.Read(buffer, VirtioNet.HeaderSize);
        Assert.Equal(1, header[10]);                  // num_buffers
        Assert.Equal(first, bed.Ram.Read(buffer + VirtioNet.HeaderSize, 1514));

        ulong second = bed.Ram.Alloc(1526);
        rx.Post(new Buffer(second, 1526, true));
        rx.Kick();
        Assert.True(net.Receive(Frame(64, 9)));       // a buffer is there: delivered at once
        Assert.Equal((uint)(VirtioNet.HeaderSize + 64), rx.TakeUsed().Length);
        Assert.Equal(2, bed.Msi.Count(0x101));
    }

    [Fact]
    public void OversizedAndOverflowingFramesAreDroppedNotQueued()
    {
        Start();
        Assert.False(net.Receive(new byte[VirtioNet.MaxFrame + 1]));
        for (int i = 0; i < VirtioNet.PendingFrames; i++) Assert.True(net.Receive(Frame(60, (byte)i)));
        Assert.False(net.Receive(Frame(60, 0)));
        Assert.Equal(2, net.Dropped);
    }

    [Fact]
    public void LinkChangeIsAConfigurationChangeTheDriverHears()
    {
        Start();
        byte generation = (byte)bed.R(bed.Common + 0x15, 1);
        net.SetLink(up: false);
        Assert.Equal(0UL, bed.R(bed.DeviceConfig + 6, 2));
        Assert.NotEqual(generation, (byte)bed.R(bed.Common + 0x15, 1));
        Assert.Equal(1, bed.Msi.Count(0x100));
        net.SetLink(up: false);                       // no change, no interrupt
        Assert.Equal(1, bed.Msi.Count(0x100));
        net.SetLink(up: true);
        Assert.Equal((ulong)VirtioNet.LinkUp, bed.R(bed.DeviceConfig + 6, 2));
        Assert.Equal(2, bed.Msi.Count(0x100));
    }
}
