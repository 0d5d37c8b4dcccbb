using Jit.Devices.Virtio;

namespace Jit.Devices.Network;

/// <summary>
/// One port of a <see cref="NetworkSwitch"/>, made by <see cref="NetworkSwitch.Attach"/>: the backend of one
/// network device, whose frames wait in the port's queue of <see cref="NetworkSwitch.QueuedFrames"/> until the switch
/// forwards them, and which delivers the switch's frames to its receiver. Disposing it detaches it.
/// </summary>
public sealed class SwitchPort : INetworkBackend, IDisposable
{
    private const int Mask = NetworkSwitch.QueuedFrames - 1, SlotSize = NetworkSwitch.MaxFrame;

    private readonly NetworkSwitch owner;
    private readonly object queueGate = new();
    private readonly byte[] slots = new byte[NetworkSwitch.QueuedFrames * SlotSize];
    private readonly int[] lengths = new int[NetworkSwitch.QueuedFrames];
    // tail: written by transmitters under queueGate; head: by the switch under its lock. Both only grow (mod 2^32).
    private int head, tail;
    private bool attached = true;   // cleared under the switch's lock and queueGate both
    private volatile FrameReceiver? receiver;
    private long transmittedFrames, transmittedBytes, transmitDropped, receivedFrames, receivedBytes, receiveDropped;

    internal SwitchPort(NetworkSwitch owner, string name, FrameReceiver? receive)
    {
        this.owner = owner;
        Name = name;
        receiver = receive;
    }

    /// <summary>As the toolstack names it, e.g. "vif1.0".</summary>
    public string Name { get; }

    public NetworkSwitch Switch => owner;

    public bool IsAttached { get { lock (queueGate) return attached; } }

    /// <summary>
    /// Where the switch's frames for this port go from now on (until then they are dropped): how a device made
    /// after its port, as a <see cref="VirtioNet"/> with the port as its backend is, is plugged in.
    /// </summary>
    public void Connect(FrameReceiver receive) => receiver = receive;

    /// <summary>
    /// Transmitted: what the device sent and the switch took (or dropped: a runt, an oversized frame, a full queue, a
    /// bad source address, a detached port). Received: what the switch delivered to it (or it refused).
    /// </summary>
    public NetworkCounters Counters => new(
        Interlocked.Read(ref transmittedFrames), Interlocked.Read(ref transmittedBytes), Interlocked.Read(ref transmitDropped),
        Interlocked.Read(ref receivedFrames), Interlocked.Read(ref receivedBytes), Interlocked.Read(ref receiveDropped));

    /// <summary>A frame from the device, from any thread: copied into the port's queue, never forwarded on the caller's thread.</summary>
    public void Transmit(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < NetworkSwitch.HeaderSize || frame.Length > NetworkSwitch.MaxFrame)
        {
            Interlocked.Increment(ref transmitDropped);
            return;
        }
        lock (queueGate)
        {
            if (!attached || tail - Volatile.Read(ref head) == NetworkSwitch.QueuedFrames)
            {
                Interlocked.Increment(ref transmitDropped);
                return;
            }
            int slot = tail & Mask;
            frame.CopyTo(slots.AsSpan(slot * SlotSize));
            lengths[slot] = frame.Length;
            Interlocked.Increment(ref transmittedFrames);
            Interlocked.Add(ref transmittedBytes, frame.Length);
            Volatile.Write(ref tail, tail + 1);
        }
        owner.Wake();
    }

    public void Dispose() => owner.Detach(this);

    // ---- the switch's side, under its lock ----

    internal bool QueueEmpty => Volatile.Read(ref tail) == head;

    /// <summary>The oldest queued frame, which stays queued until <see cref="Dequeue"/>.</summary>
    internal bool TryPeek(out ReadOnlySpan<byte> frame)
    {
        frame = default;
        if (!attached || Volatile.Read(ref tail) == head) return false;
        int slot = head & Mask;
        frame = slots.AsSpan(slot * SlotSize, lengths[slot]);
        return true;
    }

    internal void Dequeue() => Volatile.Write(ref head, head + 1);

    /// <summary>A frame the switch took but would not forward.</summary>
    internal void DropTransmitted() => Interlocked.Increment(ref transmitDropped);

    internal void Deliver(ReadOnlySpan<byte> frame)
    {
        if (receiver is { } receive && receive(frame))
        {
            Interlocked.Increment(ref receivedFrames);
            Interlocked.Add(ref receivedBytes, frame.Length);
        }
        else Interlocked.Increment(ref receiveDropped);
    }

    /// <summary>Detaches the port: later frames are dropped, queued ones are discarded, the receiver is let go.</summary>
    internal bool Close()
    {
        lock (queueGate)
        {
            if (!attached) return false;
            attached = false;
            Interlocked.Add(ref transmitDropped, tail - head);
            head = tail;
        }
        receiver = null;
        return true;
    }
}
