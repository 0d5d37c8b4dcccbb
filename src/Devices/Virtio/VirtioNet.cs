namespace Jit.Devices.Virtio;

/// <summary>What carries a virtio-net device's frames outside the guest: a switch port, a TAP device, ...</summary>
public interface INetworkBackend
{
    /// <summary>An Ethernet frame the guest sent (no virtio header, no FCS). Called on the notifying vCPU's thread; must not block for long.</summary>
    void Transmit(ReadOnlySpan<byte> frame);
}

/// <summary>
/// virtio-net (virtio 1.2 5.1) with one queue pair, a MAC address and link status, and no offloads: frames are
/// at most 1518 bytes (1500-byte MTU, a VLAN tag), checksums are complete, nothing is segmented. The guest's
/// frames go to the backend as they are transmitted; the backend's go in through <see cref="Receive"/>, wait in
/// a bounded queue of <see cref="PendingFrames"/> until the driver has receive buffers, and beyond it are
/// dropped as a full NIC drops them.
/// </summary>
public sealed class VirtioNet : VirtioDevice
{
    // 5.1.3
    public const ulong FeatureMac = 1UL << 5, FeatureStatus = 1UL << 16;
    public const ushort LinkUp = 1;
    public const int HeaderSize = 12; // struct virtio_net_hdr with num_buffers: its size whenever VERSION_1 is negotiated (5.1.6)
    public const int MaxFrame = 1518, PendingFrames = 256;

    private const int ReceiveQueue = 0, TransmitQueue = 1, NumBuffersField = 10;
    private const int MaxTransmit = HeaderSize + 65535;

    private readonly INetworkBackend backend;
    private readonly byte[] config = new byte[8];
    private readonly object pendingGate = new();
    private readonly byte[][] pending = new byte[PendingFrames][];
    private readonly int[] pendingLength = new int[PendingFrames];
    private readonly byte[] transmitBuffer = new byte[MaxTransmit];
    private readonly byte[] receiveHeader = new byte[HeaderSize];
    private int pendingStart, pendingCount;
    private long dropped;

    public VirtioNet(ReadOnlySpan<byte> mac, INetworkBackend backend)
    {
        if (mac.Length != 6) throw new ArgumentException("a MAC address is 6 bytes");
        this.backend = backend;
        mac.CopyTo(config);
        config[6] = (byte)LinkUp;
        for (int i = 0; i < PendingFrames; i++) pending[i] = new byte[MaxFrame];
        receiveHeader[NumBuffersField] = 1;
    }

    public override ushort DeviceType => 1;
    public override string Name => "virtio-net";
    public override uint PciClassCode => 0x02_00_00; // Ethernet controller
    public override ulong DeviceFeatures => FeatureMac | FeatureStatus;
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
    public bool Receive(ReadOnlySpan<byte> frame)
    {
        lock (pendingGate)
        {
            if (frame.Length > MaxFrame || pendingCount == PendingFrames)
            {
                Interlocked.Increment(ref dropped);
                return false;
            }
            int slot = (pendingStart + pendingCount++) % PendingFrames;
            frame.CopyTo(pending[slot]);
            pendingLength[slot] = frame.Length;
        }
        Kick(ReceiveQueue);
        return true;
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
                // The header can ask for nothing we offered (no checksum or segmentation offload): the frame is as sent.
                backend.Transmit(transmitBuffer.AsSpan(HeaderSize, (int)length - HeaderSize));
            }
            queue.Push(chain, 0);
        }
    }

    private void DeliverPending(VirtQueue queue)
    {
        lock (pendingGate)
        {
            while (pendingCount > 0 && queue.TryPop(out var chain))
            {
                var frame = pending[pendingStart].AsSpan(0, pendingLength[pendingStart]);
                pendingStart = (pendingStart + 1) % PendingFrames;
                pendingCount--;
                if (chain.WritableLength < HeaderSize + frame.Length)
                {
                    // 5.1.6.3, setting up receive buffers: without mergeable buffers each must hold a whole frame; the driver gave less.
                    LogOnce("rx-small", $"receive buffer of {chain.WritableLength} bytes is too small for a frame");
                    Interlocked.Increment(ref dropped);
                    queue.Push(chain, 0);
                    continue;
                }
                if (!chain.Write(0, receiveHeader) || !chain.Write(HeaderSize, frame)) return;
                queue.Push(chain, (uint)(HeaderSize + frame.Length));
            }
        }
    }

    protected internal override void DriverReady()
    {
        bool waiting;
        lock (pendingGate) waiting = pendingCount > 0;
        if (waiting) Kick(ReceiveQueue);
    }
}
