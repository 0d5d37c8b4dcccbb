using System.Text;

namespace Jit.Hypervisor.ConsoleBackend;

/// <summary>
/// The console backend's output side: passes the guest's UART output through and watches it, line by line,
/// for a kernel panic, so a run can end with the panic's reason instead of hanging in the panic loop.
/// </summary>
public sealed class ConsoleOutput(Stream inner) : WriteOnlyStream
{
    private const string PanicMarker = "Kernel panic - not syncing:";
    private readonly StringBuilder line = new();

    /// <summary>The first panic line the guest printed, or null.</summary>
    public string? Panic { get; private set; }

    public event Action<string>? Panicked;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        foreach (byte b in buffer) WriteByteScan(b);
    }

    public override void WriteByte(byte value)
    {
        inner.WriteByte(value);
        WriteByteScan(value);
    }

    private void WriteByteScan(byte b)
    {
        if (b != (byte)'\n')
        {
            if (line.Length < 512 && b != (byte)'\r') line.Append((char)b);
            return;
        }
        string text = line.ToString();
        line.Clear();
        int at = text.IndexOf(PanicMarker, StringComparison.Ordinal);
        if (at >= 0 && Panic is null)
        {
            Panic = text[at..].Trim();
            Panicked?.Invoke(Panic);
        }
    }

    public override void Flush() => inner.Flush();
}
