namespace Jit.Devices.Virtio;

/// <summary>Where a console's output goes.</summary>
public interface IConsoleOutput
{
    void Write(ReadOnlySpan<byte> data);
}

/// <summary>
/// virtio-console (virtio 1.2 5.3) with one port and no optional features: receiveq 0 carries <see cref="Input"/>
/// to the guest, transmitq 1 carries the guest's output to <see cref="IConsoleOutput"/>. Input waits in a
/// bounded buffer until the driver posts receive buffers; beyond 64 KiB it is dropped (and said once), as a
/// UART's FIFO would, so a host that types faster than the guest reads cannot grow memory. Input survives a
/// device reset: what was typed before the driver came up is read once it has.
/// </summary>
public sealed class VirtioConsole(IConsoleOutput output) : VirtioDevice
{
    private const int ReceiveQueue = 0, TransmitQueue = 1, InputCapacity = 64 * 1024, ChunkSize = 4096;

    private readonly object inputGate = new();
    private readonly byte[] input = new byte[InputCapacity];
    private readonly byte[] chunk = new byte[ChunkSize];
    private int inputStart, inputCount;

    public override ushort DeviceType => 3;
    public override string Name => "virtio-console";
    public override uint PciClassCode => 0x07_80_00; // simple communication controller, other
    public override ulong DeviceFeatures => 0;
    public override int QueueCount => 2;
    // 5.3.4: cols, rows, max_nr_ports, emerg_wr; none is offered, so all read 0.
    public override int ConfigSize => 12;

    public override void ReadConfig(int offset, Span<byte> data) => data.Clear();

    /// <summary>Bytes typed at the console, from any thread; delivered as soon as the guest has buffers posted.</summary>
    public void Input(ReadOnlySpan<byte> data)
    {
        lock (inputGate)
        {
            int room = InputCapacity - inputCount;
            if (data.Length > room) LogOnce("overrun", "input dropped, the guest is not reading");
            data = data[..Math.Min(data.Length, room)];
            foreach (byte b in data) input[(inputStart + inputCount++) % InputCapacity] = b;
        }
        Kick(ReceiveQueue);
    }

    protected internal override void QueueNotified(VirtQueue queue)
    {
        if (queue.Index == TransmitQueue) Transmit(queue);
        else Receive(queue);
    }

    private void Transmit(VirtQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            for (uint done = 0; done < chain.ReadableLength;)
            {
                var part = chunk.AsSpan(0, (int)Math.Min(ChunkSize, chain.ReadableLength - done));
                if (!chain.Read(done, part)) return;
                output.Write(part);
                done += (uint)part.Length;
            }
            queue.Push(chain, 0);
        }
    }

    private void Receive(VirtQueue queue)
    {
        lock (inputGate)
        {
            while (inputCount > 0 && queue.TryPop(out var chain))
            {
                uint written = 0;
                while (inputCount > 0 && written < chain.WritableLength)
                {
                    int n = Math.Min(inputCount, InputCapacity - inputStart);
                    n = (int)Math.Min((uint)n, chain.WritableLength - written);
                    if (!chain.Write(written, input.AsSpan(inputStart, n))) return;
                    inputStart = (inputStart + n) % InputCapacity;
                    inputCount -= n;
                    written += (uint)n;
                }
                queue.Push(chain, written);
            }
        }
    }

    protected internal override void DriverReady()
    {
        bool waiting;
        lock (inputGate) waiting = inputCount > 0;
        if (waiting) Kick(ReceiveQueue);
    }
}
