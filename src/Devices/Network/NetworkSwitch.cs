using System.Diagnostics;
using Jit.Devices.Virtio;

namespace Jit.Devices.Network;

/// <summary>
/// A learning Ethernet switch that domains' network devices join, as a Xen vif joins the host bridge xl's
/// <c>bridge=NAME</c> names. It learns the port of each source address (802.1Q 8.8, see <see cref="MacTable"/>),
/// sends a frame for a known address to that port only, floods group-addressed frames and unknown destinations to
/// every other port, and never sends a frame back out of the port it came in on.
/// <para>
/// A port's frames wait in its bounded queue and are forwarded by the switch's own thread, one from each port in
/// turn, so one busy guest cannot starve the others. Not on the transmitting vCPU's thread: a guest transmits under
/// its virtio transport's lock and a receiving device takes its own, so two domains sending to each other at once
/// would each hold one lock and wait for the other. Nothing is allocated per frame: frames are copied into the
/// queue, and out of it by the receiver (<see cref="VirtioNet.Receive"/>).
/// </para>
/// </summary>
public sealed class NetworkSwitch : IDisposable
{
    /// <summary>The frames the switch carries: an Ethernet header at least, 1518 bytes (a tagged 1500-byte payload) at most.</summary>
    public const int HeaderSize = 14, MaxFrame = VirtioNet.MaxFrame;

    /// <summary>Frames a port holds before the switch forwards them; beyond, a transmitted frame is dropped.</summary>
    public const int QueuedFrames = 256;

    public const int DefaultAddressCapacity = 4096;

    /// <summary>The ageing time IEEE 802.1D recommends.</summary>
    public static readonly TimeSpan DefaultAgeing = TimeSpan.FromSeconds(300);

    private const ulong GroupAddress = 1UL << 40;   // the I/G bit: the least significant bit of the first octet
    private const ulong ReservedGroup = 0x0180_C200_0000, ReservedMask = 0xFFFF_FFFF_FFF0;

    private readonly object gate = new();
    private readonly MacTable addresses;
    private readonly TimeProvider time;
    // Little spinning before sleeping: the switch's thread shares the host's cores with the vCPUs.
    private readonly ManualResetEventSlim wake = new(false, spinCount: 10);
    private volatile SwitchPort[] ports = [];
    private Thread? forwarder;
    private int wakePending;
    private volatile bool disposed;

    /// <param name="name">The bridge's name in the domain configuration.</param>
    /// <param name="addressCapacity">The most addresses it learns: a power of two, at least 4.</param>
    /// <param name="ageing">How long an address is remembered without a frame from it; <see cref="DefaultAgeing"/> by default.</param>
    /// <param name="time">The clock ageing runs on; the host's by default (tests pass their own).</param>
    public NetworkSwitch(string name, int addressCapacity = DefaultAddressCapacity, TimeSpan? ageing = null, TimeProvider? time = null)
    {
        Name = name;
        this.time = time ?? TimeProvider.System;
        double seconds = (ageing ?? DefaultAgeing).TotalSeconds;
        if (seconds <= 0) throw new ArgumentOutOfRangeException(nameof(ageing), ageing, "the ageing time must be positive");
        addresses = new MacTable(addressCapacity, (long)Math.Ceiling(seconds * this.time.TimestampFrequency));
    }

    public string Name { get; }

    public IReadOnlyList<SwitchPort> Ports => Array.AsReadOnly(ports);

    /// <summary>Addresses learned and not yet aged out.</summary>
    public int LearnedAddresses { get { lock (gate) return addresses.Count(time.GetTimestamp()); } }

    public int AddressCapacity => addresses.Capacity;

    /// <summary>Learned addresses forgotten to make room for new ones before they aged out.</summary>
    public long AddressEvictions { get { lock (gate) return addresses.Evictions; } }

    /// <summary>The port a frame for <paramref name="mac"/> would go to alone; null when it would be flooded.</summary>
    public SwitchPort? PortOf(ReadOnlySpan<byte> mac)
    {
        ulong address = MacTable.Key(mac);
        if ((address & GroupAddress) != 0) return null;
        lock (gate) return addresses.Lookup(address, time.GetTimestamp());
    }

    /// <summary>
    /// A new port named <paramref name="name"/> (e.g. "vif1.0"), delivering to <paramref name="receive"/>, or to what
    /// <see cref="SwitchPort.Connect"/> gives it later.
    /// </summary>
    public SwitchPort Attach(string name, FrameReceiver? receive = null)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var port = new SwitchPort(this, name, receive);
            ports = [.. ports, port];
            if (forwarder is null)
            {
                forwarder = new Thread(Forward) { IsBackground = true, Name = $"switch {Name}" };
                forwarder.Start();
            }
            return port;
        }
    }

    /// <summary>
    /// Takes <paramref name="port"/> off the switch (its domain is gone): its queued frames are discarded and the
    /// addresses learned on it forgotten. When this returns its receiver is not running and is never called again,
    /// so it must not be called from that receiver.
    /// </summary>
    public void Detach(SwitchPort port)
    {
        if (port.Switch != this) throw new ArgumentException($"port {port.Name} is not on switch {Name}");
        lock (gate)
        {
            if (!port.Close()) return;
            ports = Array.FindAll(ports, p => p != port);
            addresses.Forget(port);
        }
    }

    /// <summary>Waits until every frame transmitted so far has been forwarded; false if that took longer than <paramref name="timeout"/>.</summary>
    public bool WaitUntilIdle(TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            lock (gate)
                if (Array.TrueForAll(ports, p => p.QueueEmpty)) return true;
            if (Stopwatch.GetElapsedTime(start) > timeout) return false;
            Thread.Sleep(1);
        }
    }

    /// <summary>Detaches every port and stops the switch's thread.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            foreach (var port in ports) port.Close();
            ports = [];
        }
        wake.Set();
        if (forwarder is { } f && f != Thread.CurrentThread) f.Join();
    }

    /// <summary>A port queued a frame.</summary>
    internal void Wake()
    {
        if (Interlocked.Exchange(ref wakePending, 1) == 0) wake.Set();
    }

    private void Forward()
    {
        while (true)
        {
            wake.Wait();
            if (disposed) return;
            // Cleared before looking at the queues: a frame queued after this point wakes the thread again.
            wake.Reset();
            Interlocked.Exchange(ref wakePending, 0);
            bool forwarded;
            do
            {
                forwarded = false;
                foreach (var port in ports) forwarded |= ForwardOne(port);
            }
            while (forwarded && !disposed);
        }
    }

    private bool ForwardOne(SwitchPort from)
    {
        lock (gate)
        {
            if (!from.TryPeek(out var frame)) return false;
            Forward(from, frame);
            from.Dequeue();
            return true;
        }
    }

    // 802.1Q 8.6 (forwarding process), 8.7 (learning process); under the lock.
    private void Forward(SwitchPort from, ReadOnlySpan<byte> frame)
    {
        ulong destination = MacTable.Key(frame), source = MacTable.Key(frame[6..]);
        // A group or all-zero source address is no station's (802.3 3.2.3); frames to the reserved group
        // addresses 01-80-C2-00-00-0x (pause, spanning tree, LLDP, ...) are for the bridge itself and never relayed (8.6.3).
        if ((source & GroupAddress) != 0 || source == 0 || (destination & ReservedMask) == ReservedGroup)
        {
            from.DropTransmitted();
            return;
        }
        long now = time.GetTimestamp();
        addresses.Learn(source, from, now);
        if ((destination & GroupAddress) == 0 && addresses.Lookup(destination, now) is { } to)
        {
            // A station on the port the frame came from has heard it already.
            if (to != from) to.Deliver(frame);
            return;
        }
        foreach (var port in ports)
            if (port != from) port.Deliver(frame);
    }
}
