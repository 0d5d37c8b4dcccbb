using System.Buffers.Binary;
using Jit.Devices.Network;
using static Jit.Devices.Tests.Network.Ethernet;

namespace Jit.Devices.Tests.Network;

public sealed class NetworkSwitchConcurrencyTests
{
    /// <summary>
    /// Four ports transmit from their own threads, unicast to a sink and now and then broadcast, while another
    /// thread attaches and detaches ports: every frame reaches the sink once and in its sender's order, and a
    /// detached port's receiver is never called after <see cref="NetworkSwitch.Detach"/> returns.
    /// </summary>
    [Fact]
    public void PortsTransmitTogetherWhilePortsComeAndGo()
    {
        const int Senders = 4, Count = 20_000, InFlight = 200;
        const ushort Probe = 0x88B5;
        using var sw = new NetworkSwitch("xenbr0");
        var received = new int[Senders];
        int misordered = 0, lateCalls = 0;
        byte[] sinkMac = Mac(0x5111);
        var sink = sw.Attach("sink", frame =>
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != Probe) return true;   // a churning port's broadcast
            int tag = BitConverter.ToInt32(frame[14..18]), sender = tag >> 24, sequence = tag & 0xFFFFFF;
            if (sequence != received[sender]) Interlocked.Increment(ref misordered);
            Volatile.Write(ref received[sender], received[sender] + 1);
            return true;
        });
        sink.Transmit(Frame(Broadcast, sinkMac));
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));

        var ports = Enumerable.Range(0, Senders).Select(i => sw.Attach($"vif{i + 1}.0", _ => true)).ToArray();
        var stop = new CancellationTokenSource();
        var churn = new Thread(() =>
        {
            int n = 0;
            while (!stop.IsCancellationRequested)
            {
                bool detached = false;
                var port = sw.Attach($"churn{n++}", _ =>
                {
                    if (Volatile.Read(ref detached)) Interlocked.Increment(ref lateCalls);
                    return true;
                });
                port.Transmit(Frame(Broadcast, Mac(0x7000 + n % 100), etherType: 0x88B6));
                Thread.Sleep(1);
                sw.Detach(port);
                Volatile.Write(ref detached, true);
            }
        });
        var senders = Enumerable.Range(0, Senders).Select(s => new Thread(() =>
        {
            byte[] unicast = Frame(sinkMac, Mac(0x100 + s)), broadcast = Frame(Broadcast, Mac(0x100 + s));
            for (int i = 0; i < Count; i++)
            {
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (i - Volatile.Read(ref received[s]) >= InFlight && DateTime.UtcNow < deadline) Thread.Yield();
                var frame = i % 16 == 0 ? broadcast : unicast;
                BitConverter.TryWriteBytes(frame.AsSpan(14), s << 24 | i);
                ports[s].Transmit(frame);
            }
        })).ToArray();
        churn.Start();
        foreach (var t in senders) t.Start();
        foreach (var t in senders) Assert.True(t.Join(TimeSpan.FromSeconds(120)));
        stop.Cancel();
        Assert.True(churn.Join(TimeSpan.FromSeconds(30)));
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));

        Assert.Equal(Enumerable.Repeat(Count, Senders), received);
        Assert.Equal(0, misordered);
        Assert.Equal(0, lateCalls);
        Assert.All(ports, p => Assert.Equal(0, p.Counters.TransmitDropped));
        Assert.True(sink.Counters.ReceivedFrames >= Senders * Count);
        Assert.Equal(Senders + 1, sw.Ports.Count);
    }

    /// <summary>Neither the transmitting thread nor the switch's thread allocates for a frame.</summary>
    [Fact]
    public void ForwardingAllocatesNothingPerFrame()
    {
        const int Warm = 200, Measured = 1000;
        using var sw = new NetworkSwitch("xenbr0");
        int seen = 0;
        long forwarderBefore = 0, forwarderAfter = 0;
        byte[] sinkMac = Mac(0xD), sourceMac = Mac(0x5);
        var sink = sw.Attach("sink", _ =>
        {
            int n = seen + 1;
            if (n == Warm) forwarderBefore = GC.GetAllocatedBytesForCurrentThread();
            if (n == Warm + Measured) forwarderAfter = GC.GetAllocatedBytesForCurrentThread();
            Volatile.Write(ref seen, n);
            return true;
        });
        var source = sw.Attach("source", _ => true);
        sink.Transmit(Frame(Broadcast, sinkMac));
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));

        var frame = Frame(sinkMac, sourceMac);
        long before = 0, after = 0;
        for (int i = 0; i < Warm + Measured + 10; i++)
        {
            if (i == Warm) before = GC.GetAllocatedBytesForCurrentThread();
            if (i == Warm + Measured) after = GC.GetAllocatedBytesForCurrentThread();
            while (i - Volatile.Read(ref seen) >= 64) Thread.Yield();
            source.Transmit(frame);
        }
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(Warm + Measured + 10, seen);
        Assert.Equal(0, after - before);
        Assert.Equal(0, forwarderAfter - forwarderBefore);
    }
}
