using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

/// <summary>virtio-net over a backend that carries virtio headers (a TAP with IFF_VNET_HDR): the offloads.</summary>
public sealed class VirtioNetOffloadTests : IDisposable
{
    private sealed class HeaderWire : IVirtioHeaderBackend
    {
        public readonly List<byte[]> Sent = [];
        public (bool Csum, bool Tso4, bool Tso6, bool Ecn)? Offloads;
        public void Transmit(ReadOnlySpan<byte> frame) => throw new InvalidOperationException("the device sends headers to a header backend");
        public void TransmitWithHeader(ReadOnlySpan<byte> headerAndFrame) => Sent.Add(headerAndFrame.ToArray());
        public void SetReceiveOffloads(bool checksum, bool tso4, bool tso6, bool ecn) => Offloads = (checksum, tso4, tso6, ecn);
    }

    private const ulong Basic = VirtioFeatures.Version1 | VirtioNet.FeatureMac | VirtioNet.FeatureStatus;
    private const ulong Tso = VirtioNet.FeatureCsum | VirtioNet.FeatureHostTso4 | VirtioNet.FeatureGuestCsum | VirtioNet.FeatureGuestTso4;
    private readonly HeaderWire wire = new();
    private readonly VirtioNet net;
    private readonly VirtioTestBed bed;

    public VirtioNetOffloadTests()
    {
        VirtioNet? made = null;
        bed = new VirtioTestBed(() => made = new VirtioNet([0x00, 0x16, 0x3E, 1, 2, 3], wire));
        net = made!;
        bed.Probe();
    }

    public void Dispose() => bed.Dispose();

    private static byte[] Header(byte flags, byte gso, ushort gsoSize = 0, ushort csumStart = 0, ushort csumOffset = 0)
    {
        var h = new byte[VirtioNet.HeaderSize];
        h[0] = flags;
        h[1] = gso;
        BitConverter.TryWriteBytes(h.AsSpan(2), (ushort)54);
        BitConverter.TryWriteBytes(h.AsSpan(4), gsoSize);
        BitConverter.TryWriteBytes(h.AsSpan(6), csumStart);
        BitConverter.TryWriteBytes(h.AsSpan(8), csumOffset);
        return h;
    }

    [Fact]
    public void OffloadsAreOfferedOnlyOverAHeaderBackend()
    {
        Assert.Equal(VirtioNet.Offloads, net.DeviceFeatures & VirtioNet.Offloads);
        Assert.Equal(0UL, new VirtioNet([0, 0x16, 0x3E, 1, 2, 3], new NullWire()).DeviceFeatures & VirtioNet.Offloads);
    }

    private sealed class NullWire : INetworkBackend
    {
        public void Transmit(ReadOnlySpan<byte> frame) { }
    }

    [Fact]
    public void ATsoSegmentGoesOutWholeWithTheGuestsHeader()
    {
        var q = bed.Start(Basic | Tso, queues: 2);
        Assert.Equal((true, true, false, false), wire.Offloads);
        var header = Header(VirtioNet.HeaderNeedsCsum, VirtioNet.GsoTcpV4, gsoSize: 1448, csumStart: 34, csumOffset: 16);
        var segment = new byte[60_000];
        Random.Shared.NextBytes(segment);
        ulong h = bed.Ram.Alloc(VirtioNet.HeaderSize), d = bed.Ram.Alloc((ulong)segment.Length);
        bed.Ram.Write(h, header);
        bed.Ram.Write(d, segment);
        q[1].Post(new Buffer(h, VirtioNet.HeaderSize, false), new Buffer(d, (uint)segment.Length, false));
        q[1].Kick();
        q[1].TakeUsed();
        Assert.Equal([.. header, .. segment], Assert.Single(wire.Sent));
    }

    [Fact]
    public void AHeaderAskingForAnOffloadNotNegotiatedIsNotSent()
    {
        var q = bed.Start(Basic, queues: 2);
        Assert.Equal((false, false, false, false), wire.Offloads);
        ulong h = bed.Ram.Alloc(VirtioNet.HeaderSize), d = bed.Ram.Alloc(4000);
        bed.Ram.Write(h, Header(VirtioNet.HeaderNeedsCsum, VirtioNet.GsoTcpV4, gsoSize: 1448, csumStart: 34, csumOffset: 16));
        q[1].Post(new Buffer(h, VirtioNet.HeaderSize, false), new Buffer(d, 4000, false));
        q[1].Kick();
        q[1].TakeUsed();
        Assert.Empty(wire.Sent);
    }

    [Fact]
    public void AReceivedSegmentArrivesWholeInABigBufferWithItsHeader()
    {
        var q = bed.Start(Basic | Tso, queues: 2);
        var header = Header(VirtioNet.HeaderNeedsCsum, VirtioNet.GsoTcpV4, gsoSize: 1448, csumStart: 34, csumOffset: 16);
        var segment = new byte[64_000];
        Random.Shared.NextBytes(segment);
        Assert.True(net.ReceiveWithHeader([.. header, .. segment]));
        ulong buffer = bed.Ram.Alloc(VirtioNet.HeaderSize + 65_600);
        q[0].Post(new Buffer(buffer, VirtioNet.HeaderSize + 65_600, true));
        q[0].Kick();
        Assert.Equal((uint)(VirtioNet.HeaderSize + segment.Length), q[0].TakeUsed().Length);
        var got = bed.Ram.Read(buffer, VirtioNet.HeaderSize);
        Assert.Equal(header[..10], got[..10]);
        Assert.Equal(1, got[10]);                      // num_buffers
        Assert.Equal(segment, bed.Ram.Read(buffer + VirtioNet.HeaderSize, segment.Length));
    }

    [Fact]
    public void WhatTheDriverDidNotNegotiateIsNeverDelivered()
    {
        var q = bed.Start(Basic, queues: 2);
        Assert.False(net.ReceiveWithHeader([.. Header(0, VirtioNet.GsoTcpV4, gsoSize: 1448), .. new byte[3000]]));
        Assert.False(net.ReceiveWithHeader([.. Header(VirtioNet.HeaderNeedsCsum, 0, csumStart: 34, csumOffset: 16), .. new byte[100]]));
        Assert.False(net.ReceiveWithHeader([.. Header(0, 0), .. new byte[VirtioNet.MaxFrame + 1]]));
        Assert.Equal(3, net.Dropped);
        // DATA_VALID is a hint the driver cannot take without GUEST_CSUM: cleared, the frame delivered.
        Assert.True(net.ReceiveWithHeader([.. Header(VirtioNet.HeaderDataValid, 0), .. new byte[100]]));
        ulong buffer = bed.Ram.Alloc(1600);
        q[0].Post(new Buffer(buffer, 1600, true));
        q[0].Kick();
        q[0].TakeUsed();
        Assert.Equal(0, bed.Ram.Read(buffer, 1)[0]);
    }

    [Fact]
    public void AResetTurnsTheHostsOffloadsOff()
    {
        bed.Start(Basic | Tso, queues: 2);
        Assert.Equal((true, true, false, false), wire.Offloads);
        bed.SetStatus(0);                              // the driver resets the device
        Assert.Equal((false, false, false, false), wire.Offloads);
    }
}
