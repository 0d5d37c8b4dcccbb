using System.Text;

namespace Jit.Hypervisor.ConsoleBackend;

/// <summary>
/// A console sink that passes the guest's output on (or drops it) and raises <see cref="Seen"/> once, when the
/// output contains a marker (<c>jit disasm --until BOOT-OK</c> stops the guest there).
/// </summary>
public sealed class MarkerWatch(Stream? inner, string marker) : WriteOnlyStream
{
    private readonly byte[] pattern = Encoding.UTF8.GetBytes(marker);
    // The last pattern.Length bytes written, oldest first once full: enough to match across writes.
    private readonly Queue<byte> tail = new();
    private bool found;

    public event Action? Seen;

    public bool Found => found;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner?.Write(buffer);
        foreach (byte b in buffer) Scan(b);
    }

    public override void WriteByte(byte value)
    {
        inner?.WriteByte(value);
        Scan(value);
    }

    private void Scan(byte b)
    {
        if (found || pattern.Length == 0) return;
        tail.Enqueue(b);
        if (tail.Count > pattern.Length) tail.Dequeue();
        if (tail.Count < pattern.Length || !tail.SequenceEqual(pattern)) return;
        found = true;
        Seen?.Invoke();
    }

    public override void Flush() => inner?.Flush();
}
