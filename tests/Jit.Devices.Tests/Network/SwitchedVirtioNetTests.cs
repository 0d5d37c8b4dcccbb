using Jit.Devices.Network;
using Jit.Devices.Tests.Virtio;
using Jit.Devices.Virtio;
using static Jit.Devices.Tests.Network.Ethernet;
using Buffer = Jit.Devices.Tests.Virtio.Buffer;

namespace Jit.Devices.Tests.Network;

/// <summary>Two guests' virtio-net devices on one switch, each driven as Linux's driver drives it.</summary>
public sealed class SwitchedVirtioNetTests : IDisposable
{
    /// <summary>One guest: its device on a switch port, every receive buffer posted, one transmit buffer.</summary>
    private sealed class Guest : IDisposable
    {
        private const int BufferSize = VirtioNet.HeaderSize + VirtioNet.MaxFrame;
        public readonly VirtioTestBed Bed;
        public readonly VirtioNet Net;
        public readonly SwitchPort Port;
        public readonly byte[] Mac;
        private readonly DriverQueue rx, tx;
        private readonly ulong[] buffers;
        private readonly ulong transmitBuffer;
        public int Received;

        public Guest(NetworkSwitch sw, string name, byte[] mac)
        {
            Mac = mac;
            Port = sw.Attach(name);
            VirtioNet? made = null;
            Bed = new VirtioTestBed(() => made = new VirtioNet(mac, Port));
            Net = made!;
            Port.Connect(Net.Receive);
            Bed.Probe();
            var q = Bed.Start(VirtioFeatures.Version1 | VirtioNet.FeatureMac | VirtioNet.FeatureStatus, queues: 2);
            (rx, tx) = (q[0], q[1]);
            buffers = [.. Enumerable.Range(0, rx.Size).Select(_ => Bed.Ram.Alloc(BufferSize, 64))];
            foreach (var b in buffers) rx.Post(new Buffer(b, BufferSize, true));
            rx.Kick();
            transmitBuffer = Bed.Ram.Alloc(BufferSize, 64);
            Bed.Ram.Write(transmitBuffer, new byte[VirtioNet.HeaderSize]);
        }

        public void Send(byte[] frame)
        {
            Bed.Ram.Write(transmitBuffer + VirtioNet.HeaderSize, frame);
            tx.Post(new Buffer(transmitBuffer, (uint)(VirtioNet.HeaderSize + frame.Length), false));
            tx.Kick();
            tx.TakeUsed();
        }

        /// <summary>The frames the device has put in the receive queue since last asked, their buffers posted again.</summary>
        public List<byte[]> Take()
        {
            var frames = new List<byte[]>();
            while (rx.TryTakeUsed(out uint id, out uint length))
            {
                Assert.Equal(1, Bed.Ram.Read(buffers[id], VirtioNet.HeaderSize)[10]);   // num_buffers
                frames.Add(Bed.Ram.Read(buffers[id] + VirtioNet.HeaderSize, (int)length - VirtioNet.HeaderSize));
                rx.Post(new Buffer(buffers[id], BufferSize, true));
            }
            if (frames.Count > 0) rx.Kick();
            Volatile.Write(ref Received, Received + frames.Count);
            return frames;
        }

        public void Dispose() => Bed.Dispose();
    }

    private readonly NetworkSwitch sw = new("xenbr0");
    private readonly Guest one, two;

    public SwitchedVirtioNetTests()
    {
        one = new Guest(sw, "vif1.0", [0x00, 0x16, 0x3E, 0x00, 0x00, 0x01]);
        two = new Guest(sw, "vif2.0", [0x00, 0x16, 0x3E, 0x00, 0x00, 0x02]);
    }

    public void Dispose()
    {
        sw.Dispose();
        one.Dispose();
        two.Dispose();
    }

    [Fact]
    public void AFrameOneGuestTransmitsArrivesInTheOthersReceiveQueue()
    {
        var request = Frame(two.Mac, one.Mac, length: 98, tag: 1);
        one.Send(request);
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(request, Assert.Single(two.Take()));
        Assert.Empty(one.Take());

        var reply = Frame(one.Mac, two.Mac, length: 1514, tag: 2);
        two.Send(reply);
        Assert.True(sw.WaitUntilIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(reply, Assert.Single(one.Take()));
        Assert.Same(one.Port, sw.PortOf(one.Mac));
        Assert.Same(two.Port, sw.PortOf(two.Mac));
        Assert.Equal(new NetworkCounters(1, 98, 0, 1, 1514, 0), one.Port.Counters);
    }

    /// <summary>
    /// Both guests transmit to each other at once as fast as the other drains them. Delivered on the transmitting
    /// thread, each would hold its own device's lock and wait for the other's.
    /// </summary>
    [Fact]
    public void GuestsSendingToEachOtherAtOnceNeitherDeadlockNorLoseFrames()
    {
        const int Count = 3000, InFlight = 128;
        int[] misordered = new int[2];
        void Run(Guest self, Guest peer, int index)
        {
            int sent = 0, expected = 0;
            var frame = Frame(peer.Mac, self.Mac, length: 200);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((sent < Count || expected < Count) && DateTime.UtcNow < deadline)
            {
                foreach (var f in self.Take())
                    if (Tag(f) != expected++) misordered[index]++;
                if (sent < Count && sent - Volatile.Read(ref peer.Received) < InFlight)
                {
                    BitConverter.TryWriteBytes(frame.AsSpan(14), sent++);
                    self.Send(frame);
                }
                else Thread.Yield();
            }
        }
        var threads = new[] { new Thread(() => Run(one, two, 0)), new Thread(() => Run(two, one, 1)) };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(90)), "a guest's thread is stuck");
        Assert.Equal(Count, one.Received);
        Assert.Equal(Count, two.Received);
        Assert.Equal([0, 0], misordered);
        Assert.Equal(0, one.Net.Dropped + two.Net.Dropped);
    }
}
