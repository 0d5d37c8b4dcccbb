using System.Buffers.Binary;
using System.Text;

namespace Jit.Hypervisor.DeviceTree;

/// <summary>
/// Writes a flattened device tree (Devicetree Specification v0.4, chapter 5): header, empty memory reservation
/// block, structure block and strings block, all big-endian. Nodes are written in order with
/// <see cref="BeginNode"/>/<see cref="EndNode"/>; property names are shared through the strings block.
/// </summary>
public sealed class FdtWriter
{
    private const uint Magic = 0xD00D_FEED;
    private const uint BeginNodeToken = 1, EndNodeToken = 2, PropToken = 3, EndToken = 9;

    private readonly MemoryStream structure = new();
    private readonly MemoryStream strings = new();
    private readonly Dictionary<string, int> stringOffsets = new(StringComparer.Ordinal);
    private int depth;

    public uint BootCpuId { get; set; }

    public FdtWriter BeginNode(string name)
    {
        Token(BeginNodeToken);
        WriteAligned(Encoding.ASCII.GetBytes(name + "\0"));
        depth++;
        return this;
    }

    public FdtWriter EndNode()
    {
        if (depth == 0) throw new InvalidOperationException("EndNode without BeginNode");
        Token(EndNodeToken);
        depth--;
        return this;
    }

    public FdtWriter Property(string name, ReadOnlySpan<byte> value)
    {
        if (depth == 0) throw new InvalidOperationException($"property {name} outside a node");
        Token(PropToken);
        Word((uint)value.Length);
        Word((uint)NameOffset(name));
        WriteAligned(value);
        return this;
    }

    public FdtWriter Property(string name) => Property(name, ReadOnlySpan<byte>.Empty);

    /// <summary>Writes a parsed node with its properties and children, as it was.</summary>
    public FdtWriter Node(FdtNode node)
    {
        BeginNode(node.Name);
        foreach (var (name, value) in node.Properties) Property(name, value);
        foreach (var child in node.Children) Node(child);
        return EndNode();
    }

    public FdtWriter Property(string name, string value) => Property(name, Encoding.ASCII.GetBytes(value + "\0"));

    /// <summary>A string list ("a\0b\0").</summary>
    public FdtWriter Property(string name, params string[] values) =>
        Property(name, Encoding.ASCII.GetBytes(string.Concat(values.Select(v => v + "\0"))));

    public FdtWriter Property(string name, params uint[] cells)
    {
        var bytes = new byte[cells.Length * 4];
        for (int i = 0; i < cells.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), cells[i]);
        return Property(name, bytes);
    }

    /// <summary>64-bit values as pairs of cells (for #address-cells = #size-cells = 2).</summary>
    public FdtWriter Property(string name, params ulong[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), values[i]);
        return Property(name, bytes);
    }

    public byte[] Finish()
    {
        if (depth != 0) throw new InvalidOperationException($"{depth} node(s) not ended");
        Token(EndToken);
        const int headerSize = 40;
        const int reserveMapSize = 16; // the terminating (0, 0) entry
        int structOffset = headerSize + reserveMapSize;
        int stringsOffset = structOffset + (int)structure.Length;
        int total = stringsOffset + (int)strings.Length;
        var blob = new byte[total];
        var h = blob.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(h[0..], Magic);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], (uint)structOffset);
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], (uint)stringsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], headerSize);
        BinaryPrimitives.WriteUInt32BigEndian(h[20..], 17);  // version
        BinaryPrimitives.WriteUInt32BigEndian(h[24..], 16);  // last compatible version
        BinaryPrimitives.WriteUInt32BigEndian(h[28..], BootCpuId);
        BinaryPrimitives.WriteUInt32BigEndian(h[32..], (uint)strings.Length);
        BinaryPrimitives.WriteUInt32BigEndian(h[36..], (uint)structure.Length);
        structure.ToArray().CopyTo(blob, structOffset);
        strings.ToArray().CopyTo(blob, stringsOffset);
        return blob;
    }

    private int NameOffset(string name)
    {
        if (stringOffsets.TryGetValue(name, out int offset)) return offset;
        offset = (int)strings.Length;
        strings.Write(Encoding.ASCII.GetBytes(name + "\0"));
        stringOffsets[name] = offset;
        return offset;
    }

    private void Token(uint token) => Word(token);

    private void Word(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        structure.Write(b);
    }

    private void WriteAligned(ReadOnlySpan<byte> data)
    {
        structure.Write(data);
        while (structure.Length % 4 != 0) structure.WriteByte(0);
    }
}
