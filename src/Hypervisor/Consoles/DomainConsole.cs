using Jit.Devices.Uart;

namespace Jit.Hypervisor.Consoles;

/// <summary>
/// One domain's console as the console service carries it (xenconsoled's job): every byte the guest's UART
/// sends is appended to the domain's log file, which outlives the domain and never drops a byte, and to a ring
/// from which one attached client is served. The UART's writer (a vCPU) never waits for that client: bytes
/// beyond the ring are dropped and counted, as a UART with a full FIFO and nobody reading would lose them.
/// Input from the client is buffered and fed to the UART as its receive FIFO takes it.
/// </summary>
public sealed class DomainConsole : ConsoleBackend.WriteOnlyStream
{
    public const int RingSize = 64 << 10;

    private readonly FileStream log;
    private readonly byte[] ring = new byte[RingSize];
    private readonly object gate = new();
    private int head, count;
    private Stream? client;
    private Thread? pump;
    private readonly Queue<byte> input = new();
    private readonly Thread feeder;
    private volatile bool closed;

    /// <param name="logPath">The log file (created or appended to).</param>
    public DomainConsole(string logPath)
    {
        LogPath = logPath;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096);
        feeder = new Thread(Feed) { IsBackground = true, Name = "console input " + Path.GetFileName(logPath) };
        feeder.Start();
    }

    public string LogPath { get; }

    /// <summary>Bytes the attached client could not take in time: dropped from its stream (never from the log).</summary>
    public long Dropped { get; private set; }

    /// <summary>The UART input goes to; set once the domain's UART exists.</summary>
    public Pl011? Uart { get; set; }

    public bool Attached
    {
        get { lock (gate) return client is not null; }
    }

    /// <summary>
    /// Serves <paramref name="stream"/> as the interactive client until it closes or detaches: output from now on
    /// goes to it, its bytes go to the guest. False when another client is attached (one at a time, as xl's).
    /// </summary>
    public bool Attach(Stream stream)
    {
        lock (gate)
        {
            if (client is not null || closed) return false;
            client = stream;
            head = count = 0;
            pump = new Thread(() => Pump(stream)) { IsBackground = true, Name = "console output " + Path.GetFileName(LogPath) };
            pump.Start();
        }
        var buffer = new byte[256];
        try
        {
            while (!closed)
            {
                int n = stream.Read(buffer);
                if (n <= 0) break;
                lock (input)
                {
                    for (int i = 0; i < n; i++) input.Enqueue(buffer[i]);
                    Monitor.PulseAll(input);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        Detach(stream);
        return true;
    }

    private void Detach(Stream stream)
    {
        lock (gate)
        {
            if (client != stream) return;
            client = null;
            Monitor.PulseAll(gate);
        }
    }

    // Copies the ring to the client; its writes may block, the UART's never do.
    private void Pump(Stream stream)
    {
        var chunk = new byte[4096];
        while (true)
        {
            int n;
            lock (gate)
            {
                while (count == 0 && client == stream && !closed) Monitor.Wait(gate);
                if (client != stream) return;
                if (count == 0 && closed) return;
                int start = (head - count + RingSize) % RingSize;
                n = Math.Min(count, Math.Min(chunk.Length, RingSize - start));
                Array.Copy(ring, start, chunk, 0, n);
                count -= n;
            }
            try
            {
                stream.Write(chunk, 0, n);
                stream.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                Detach(stream);
                return;
            }
        }
    }

    private void Feed()
    {
        while (!closed)
        {
            byte b;
            lock (input)
            {
                while (input.Count == 0 && !closed) Monitor.Wait(input, 200);
                if (closed) return;
                b = input.Peek();
            }
            // The receive FIFO takes it when the guest has enabled reception and has room; until then it waits here.
            if (Uart is { ReceiveEnabled: true } uart && uart.Receive(b))
                lock (input) input.Dequeue();
            else
                Thread.Sleep(2);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        bool line = buffer.Contains((byte)'\n');
        lock (gate)
        {
            if (closed) return;
            log.Write(buffer);
            if (line) log.Flush();
            if (client is null) return;
            foreach (byte b in buffer)
            {
                if (count == RingSize)
                {
                    Dropped++;
                    continue;
                }
                ring[head] = b;
                head = (head + 1) % RingSize;
                count++;
            }
            Monitor.PulseAll(gate);
        }
    }

    public override void WriteByte(byte value)
    {
        Span<byte> one = stackalloc byte[1];
        one[0] = value;
        Write(one);
    }

    public override void Flush()
    {
        lock (gate) if (!closed) log.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (gate)
            {
                if (closed) return;
                closed = true;
                log.Dispose();
                Monitor.PulseAll(gate);
            }
            lock (input) Monitor.PulseAll(input);
        }
        base.Dispose(disposing);
    }

}
