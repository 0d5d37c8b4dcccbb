using System.Buffers.Binary;
using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

public sealed class VirtioNetConcurrencyTests
{
    private sealed class Sink : INetworkBackend
    {
        public int Frames;
        public void Transmit(ReadOnlySpan<byte> frame) => Interlocked.Increment(ref Frames);
    }

    /// <summary>
    /// A backend thread delivers numbered frames while the guest's thread recycles receive buffers and transmits:
    /// every frame arrives once, in order, and nothing deadlocks.
    /// </summary>
    [Fact]
    public void BackendAndGuestThreadsRunTogether()
    {
        const int Count = 3000, BufferSize = VirtioNet.HeaderSize + VirtioNet.MaxFrame;
        var sink = new Sink();
        VirtioNet? net = null;
        using var bed = new VirtioTestBed(() => net = new VirtioNet([2, 0, 0, 0, 0, 1], sink));
        bed.Probe();
        var q = bed.Start(VirtioFeatures.Version1 | VirtioFeatures.RingEventIndex, queues: 2);
        var (rx, tx) = (q[0], q[1]);
        rx.SetUsedEvent(0);
        var buffers = Enumerable.Range(0, rx.Size).Select(_ => bed.Ram.Alloc(BufferSize, 64)).ToArray();
        ulong txFrame = bed.Ram.Alloc(VirtioNet.HeaderSize + 60);
        foreach (var b in buffers) rx.Post(new Buffer(b, BufferSize, true));
        rx.Kick();

        var backend = new Thread(() =>
        {
            var frame = new byte[60];
            for (int i = 0; i < Count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(frame, i);
                while (!net!.Receive(frame)) Thread.Yield();
            }
        });
        backend.Start();

        int expected = 0, slot = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (expected < Count && DateTime.UtcNow < deadline)
        {
            while (rx.TryTakeUsed(out uint id, out uint length))
            {
                Assert.Equal((uint)(VirtioNet.HeaderSize + 60), length);
                Assert.Equal(expected, BinaryPrimitives.ReadInt32LittleEndian(bed.Ram.Read(buffers[id] + VirtioNet.HeaderSize, 4)));
                expected++;
                Assert.Equal(slot, (int)id);
                slot = (slot + 1) % rx.Size;
                rx.Post(new Buffer(buffers[id], BufferSize, true));
                rx.SetUsedEvent((ushort)(rx.UsedIndex));
                rx.Kick();
            }
            tx.Post(new Buffer(txFrame, VirtioNet.HeaderSize + 60, false));
            tx.Kick();
            while (tx.TryTakeUsed(out _, out _)) { }
        }
        Assert.True(backend.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(Count, expected);
        Assert.True(sink.Frames > 0);
        Assert.Equal(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
    }
}
