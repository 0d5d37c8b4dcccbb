using System.Buffers.Binary;

namespace Jit.Hypervisor.DeviceTree;

/// <summary>One node of a parsed flattened device tree: its name, its properties in order and its children.</summary>
public sealed class FdtNode(string name)
{
    public string Name { get; } = name;
    public List<(string Name, byte[] Value)> Properties { get; } = [];
    public List<FdtNode> Children { get; } = [];

    public FdtNode? Child(string name) => Children.Find(c => c.Name == name);

    public byte[]? Property(string name) => Properties.Find(p => p.Name == name).Value;

    /// <summary>A one-cell property's value, or null when absent or not one cell.</summary>
    public uint? Cell(string name) => Property(name) is { Length: 4 } v ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;

    /// <summary>This node and every node below it, depth first, with each one's path.</summary>
    public IEnumerable<(string Path, FdtNode Node)> Walk(string path = "")
    {
        string here = path.Length == 0 && Name.Length == 0 ? "/" : path == "/" ? "/" + Name : path + "/" + Name;
        yield return (here, this);
        foreach (var c in Children)
            foreach (var x in c.Walk(here)) yield return x;
    }
}
