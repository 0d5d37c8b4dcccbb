namespace Jit.Devices.Virtio;

/// <summary>What carries a virtio-net device's frames outside the guest: a switch port, a TAP device, ...</summary>
public interface INetworkBackend
{
    /// <summary>An Ethernet frame the guest sent (no virtio header, no FCS). Called on the notifying vCPU's thread; must not block for long.</summary>
    void Transmit(ReadOnlySpan<byte> frame);
}

/// <summary>
/// A backend that carries each frame with its virtio-net header, both ways (a TAP with IFF_VNET_HDR): a frame may
/// then be a 64 KiB TCP segment with its checksum left to do, and whoever is cheapest finishes it (the host's
/// network stack, which often never needs to). The device offers the checksum and segmentation offloads only
/// over such a backend.
/// </summary>
public interface IVirtioHeaderBackend : INetworkBackend
{
    /// <summary>A frame the guest sent with its <see cref="VirtioNet.HeaderSize"/>-byte header in front, as the guest wrote it.</summary>
    void TransmitWithHeader(ReadOnlySpan<byte> headerAndFrame);

    /// <summary>
    /// What the driver accepts in received frames (partial checksums, TCP segments of IPv4 or IPv6, with ECN): the
    /// backend hands over only those. Frames then reach the device's <see cref="VirtioNet.ReceiveWithHeader"/>.
    /// </summary>
    void SetReceiveOffloads(bool checksum, bool tso4, bool tso6, bool ecn);
}

/// <summary>
/// virtio-net (virtio 1.2 5.1) with one queue pair, a MAC address and link status. Over a plain backend (a switch
/// port) there are no offloads: frames are at most 1518 bytes (1500-byte MTU, a VLAN tag), checksums are
/// complete, nothing is segmented. Over an <see cref="IVirtioHeaderBackend"/> the checksum and TSO offloads are
/// offered both ways and the header passes through (5.1.6.2, 5.1.6.4): without them every 1.5 KiB of a TCP stream
/// costs the guest a checksum and a trip through its stack, which under emulation dominates a bulk transfer. The
/// guest's frames go to the backend as they are transmitted; the backend's go in through <see cref="Receive"/> or
/// <see cref="ReceiveWithHeader"/>, wait in a bounded queue of <see cref="PendingFrames"/> until the driver has
/// receive buffers, and beyond it are dropped as a full NIC drops them.
/// </summary>
public sealed class VirtioNet : VirtioDevice
{
    // 5.1.3
    public const ulong FeatureCsum = 1UL << 0, FeatureGuestCsum = 1UL << 1, FeatureMac = 1UL << 5,
        FeatureGuestTso4 = 1UL << 7, FeatureGuestTso6 = 1UL << 8, FeatureGuestEcn = 1UL << 9,
        FeatureHostTso4 = 1UL << 11, FeatureHostTso6 = 1UL << 12, FeatureHostEcn = 1UL << 13, FeatureStatus = 1UL << 16;
    public const ulong Offloads = FeatureCsum | FeatureGuestCsum | FeatureGuestTso4 | FeatureGuestTso6 | FeatureGuestEcn |
                                  FeatureHostTso4 | FeatureHostTso6 | FeatureHostEcn;
    public const ushort LinkUp = 1;
    public const int HeaderSize = 12; // struct virtio_net_hdr with num_buffers: its size whenever VERSION_1 is negotiated (5.1.6)
    public const int MaxFrame = 1518, PendingFrames = 256;
    /// <summary>A segmentation-offloaded frame: an IP packet of up to 64 KiB behind an Ethernet header and a VLAN tag.</summary>
    public const int MaxOffloadedFrame = 65535 + 18;

    // struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers.
    public const byte HeaderNeedsCsum = 1, HeaderDataValid = 2;
    public const byte GsoNone = 0, GsoTcpV4 = 1, GsoUdp = 3, GsoTcpV6 = 4, GsoEcn = 0x80;
    private const int FlagsField = 0, GsoTypeField = 1, NumBuffersField = 10;

    private const int ReceiveQueue = 0, TransmitQueue = 1;
    private const int MaxTransmit = HeaderSize + 65535;

    private readonly INetworkBackend backend;
    private readonly IVirtioHeaderBackend? headerBackend;
    private readonly byte[] config = new byte[8];
    private readonly object pendingGate = new();
    // Each pending slot holds the header the guest will get and the frame behind it; a slot grows (once) when an
    // offloaded frame is larger than it.
    private readonly byte[][] pending = new byte[PendingFrames][];
    private readonly int[] pendingLength = new int[PendingFrames];
    private readonly byte[] transmitBuffer = new byte[MaxTransmit];
    private int pendingStart, pendingCount;
    private long dropped;

    public VirtioNet(ReadOnlySpan<byte> mac, INetworkBackend backend)
    {
        if (mac.Length != 6) throw new ArgumentException("a MAC address is 6 bytes");
        this.backend = backend;
        headerBackend = backend as IVirtioHeaderBackend;
        mac.CopyTo(config);
        config[6] = (byte)LinkUp;
        for (int i = 0; i < PendingFrames; i++) pending[i] = new byte[HeaderSize + MaxFrame];
        Receiver = headerBackend is null ? Receive : ReceiveWithHeader;
    }

    public override ushort DeviceType => 1;
    public override string Name => "virtio-net";
    public override uint PciClassCode => 0x02_00_00; // Ethernet controller
    public override ulong DeviceFeatures => FeatureMac | FeatureStatus | (headerBackend is null ? 0 : Offloads);

    /// <summary>What the backend delivers the host's frames to: <see cref="Receive"/>, or <see cref="ReceiveWithHeader"/> over an <see cref="IVirtioHeaderBackend"/>.</summary>
    public Network.FrameReceiver Receiver { get; }
    public override int QueueCount => 2;
    public override int ConfigSize => config.Length;

    /// <summary>Frames dropped because the guest had no receive buffers or they were too large.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    public override void ReadConfig(int offset, Span<byte> data)
    {
        lock (config) config.AsSpan(offset, data.Length).CopyTo(data);
    }

    /// <summary>Plugs or unplugs the cable: the status field changes and the driver hears of it (5.1.4).</summary>
    public void SetLink(bool up)
    {
        lock (config)
        {
            if ((config[6] & LinkUp) != 0 == up) return;
            config[6] = up ? (byte)LinkUp : (byte)0;
        }
        ConfigChanged();
    }

    /// <summary>A frame from the backend for the guest, from any thread; false when it was dropped.</summary>
    public bool Receive(ReadOnlySpan<byte> frame) => Enqueue(default, frame);

    /// <summary>
    /// A frame from an <see cref="IVirtioHeaderBackend"/> with its header in front, from any thread; false when it
    /// was dropped. The header may ask of the driver only what it negotiated: a segment or a partial checksum it
    /// did not accept is dropped (a backend told too late, after a reset), a DATA_VALID it cannot use is cleared.
    /// </summary>
    public bool ReceiveWithHeader(ReadOnlySpan<byte> headerAndFrame)
    {
        if (headerAndFrame.Length < HeaderSize) return Drop();
        var header = headerAndFrame[..HeaderSize];
        byte flags = header[FlagsField], gso = header[GsoTypeField];
        bool guestCsum = Negotiated(FeatureGuestCsum);
        if ((flags & HeaderNeedsCsum) != 0 && !guestCsum) return Drop();
        if (gso != GsoNone)
        {
            ulong needed = (gso & ~GsoEcn) switch
            {
                GsoTcpV4 => FeatureGuestTso4,
                GsoTcpV6 => FeatureGuestTso6,
                _ => ulong.MaxValue,
            };
            if (needed == ulong.MaxValue || !Negotiated(needed) || ((gso & GsoEcn) != 0 && !Negotiated(FeatureGuestEcn))) return Drop();
        }
        return Enqueue(header, headerAndFrame[HeaderSize..], guestCsum ? flags : (byte)0);
    }

    private bool Enqueue(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, byte flags = 0)
    {
        int max = (NegotiatedFeatures & (FeatureGuestTso4 | FeatureGuestTso6)) != 0 ? MaxOffloadedFrame : MaxFrame;
        lock (pendingGate)
        {
            if (frame.Length > max || pendingCount == PendingFrames) return Drop();
            int slot = (pendingStart + pendingCount++) % PendingFrames;
            if (pending[slot].Length < HeaderSize + frame.Length) pending[slot] = new byte[HeaderSize + MaxOffloadedFrame];
            var s = pending[slot].AsSpan();
            if (header.IsEmpty) s[..HeaderSize].Clear();
            else header.CopyTo(s);
            s[FlagsField] = flags;
            // num_buffers: always one, as mergeable receive buffers are not offered.
            s[NumBuffersField] = 1;
            s[NumBuffersField + 1] = 0;
            frame.CopyTo(s[HeaderSize..]);
            pendingLength[slot] = HeaderSize + frame.Length;
        }
        Kick(ReceiveQueue);
        return true;
    }

    private bool Drop()
    {
        Interlocked.Increment(ref dropped);
        return false;
    }

    protected internal override void QueueNotified(VirtQueue queue)
    {
        if (queue.Index == TransmitQueue) Transmit(queue);
        else DeliverPending(queue);
    }

    private void Transmit(VirtQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            uint length = chain.ReadableLength;
            if (length < HeaderSize || length > MaxTransmit)
                LogOnce("tx-size", $"dropped a transmitted buffer of {length} bytes");
            else
            {
                if (!chain.Read(0, transmitBuffer.AsSpan(0, (int)length))) return;
                var sent = transmitBuffer.AsSpan(0, (int)length);
                if (headerBackend is not null && AsksOnlyWhatWasNegotiated(sent)) headerBackend.TransmitWithHeader(sent);
                else if (headerBackend is not null) LogOnce("tx-header", "dropped a frame whose header asks for an offload the driver did not negotiate");
                // Without offloads the header can ask for nothing: the frame is as sent.
                else backend.Transmit(sent[HeaderSize..]);
            }
            queue.Push(chain, 0);
        }
    }

    /// <summary>5.1.6.2: the driver sets NEEDS_CSUM only with CSUM, and a gso_type only with the matching HOST_TSO.</summary>
    private bool AsksOnlyWhatWasNegotiated(ReadOnlySpan<byte> header)
    {
        if ((header[FlagsField] & HeaderNeedsCsum) != 0 && !Negotiated(FeatureCsum)) return false;
        byte gso = header[GsoTypeField];
        if (gso == GsoNone) return true;
        bool ecn = (gso & GsoEcn) == 0 || Negotiated(FeatureHostEcn);
        return ecn && (gso & ~GsoEcn) switch
        {
            GsoTcpV4 => Negotiated(FeatureHostTso4),
            GsoTcpV6 => Negotiated(FeatureHostTso6),
            _ => false,
        };
    }

    private void DeliverPending(VirtQueue queue)
    {
        lock (pendingGate)
        {
            while (pendingCount > 0 && queue.TryPop(out var chain))
            {
                var packet = pending[pendingStart].AsSpan(0, pendingLength[pendingStart]);
                pendingStart = (pendingStart + 1) % PendingFrames;
                pendingCount--;
                if (chain.WritableLength < packet.Length)
                {
                    // 5.1.6.3, setting up receive buffers: without mergeable buffers each must hold a whole frame; the driver gave less.
                    LogOnce("rx-small", $"receive buffer of {chain.WritableLength} bytes is too small for a frame of {packet.Length - HeaderSize}");
                    Interlocked.Increment(ref dropped);
                    queue.Push(chain, 0);
                    continue;
                }
                if (!chain.Write(0, packet)) return;
                queue.Push(chain, (uint)packet.Length);
            }
        }
    }

    protected internal override void Reset() => headerBackend?.SetReceiveOffloads(false, false, false, false);

    protected internal override void DriverReady()
    {
        headerBackend?.SetReceiveOffloads(Negotiated(FeatureGuestCsum), Negotiated(FeatureGuestTso4), Negotiated(FeatureGuestTso6), Negotiated(FeatureGuestEcn));
        bool waiting;
        lock (pendingGate) waiting = pendingCount > 0;
        if (waiting) Kick(ReceiveQueue);
    }
}
