namespace Jit.Devices.Pci;

/// <summary>
/// A BAR's window built from register blocks at fixed offsets (an MSI-X table, a PBA, a device's own registers).
/// An access that falls in no block, or straddles one's end, reads 0 and ignores writes: reserved space in a
/// BAR, as the functions we model lay it out.
/// </summary>
public sealed class PciBarWindow(string name, ulong size) : IMmioDevice
{
    private (ulong Offset, IMmioDevice Block)[] blocks = [];

    public string Name => name;
    public ulong WindowSize => size;

    /// <summary>Places <paramref name="block"/> at <paramref name="offset"/>; blocks may not overlap.</summary>
    public PciBarWindow Add(ulong offset, IMmioDevice block)
    {
        if (offset + block.WindowSize > size) throw new ArgumentException($"{block.Name} does not fit in {name}");
        foreach (var (o, b) in blocks)
            if (offset < o + b.WindowSize && o < offset + block.WindowSize)
                throw new ArgumentException($"{block.Name} overlaps {b.Name} in {name}");
        blocks = [.. blocks, (offset, block)];
        return this;
    }

    public bool Read(ulong offset, int size, out ulong value)
    {
        foreach (var (o, b) in blocks)
        {
            ulong at = offset - o;
            if (at < b.WindowSize && (ulong)size <= b.WindowSize - at) return b.Read(at, size, out value);
        }
        value = 0;
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        foreach (var (o, b) in blocks)
        {
            ulong at = offset - o;
            if (at < b.WindowSize && (ulong)size <= b.WindowSize - at) return b.Write(at, size, value);
        }
        return true;
    }
}
