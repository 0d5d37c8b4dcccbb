using Jit.Hypervisor.DeviceTree;
using Jit.Hypervisor.Platform;

namespace Jit.Hypervisor.Builder;

/// <summary>
/// xl.cfg's <c>device_tree</c>: a partial device tree whose /passthrough and /aliases nodes join the generated
/// one, as libxl copies them; everything else in it is ignored, as there. Written for Xen, it names the GIC as
/// its interrupt parent by Xen's phandle 65000, which ours is (<see cref="DeviceTreeLinks"/>). Its root must use
/// two address and two size cells, as the generated root does, since the copied nodes' addresses are read with
/// the generated root's cells; and it must not define a phandle the generated tree defines.
/// </summary>
public sealed class PartialDeviceTree
{
    /// <summary>The nodes libxl copies from a partial device tree.</summary>
    public static readonly IReadOnlyList<string> CopiedNodes = ["passthrough", "aliases"];

    private PartialDeviceTree(IReadOnlyList<FdtNode> nodes) => Nodes = nodes;

    /// <summary>The nodes to append under the generated root, in the partial tree's order.</summary>
    public IReadOnlyList<FdtNode> Nodes { get; }

    /// <summary>Reads and checks <paramref name="path"/>; a bad file raises <see cref="ImageError"/> naming it.</summary>
    public static PartialDeviceTree Load(string path)
    {
        byte[] blob = LinuxImage.ReadDeviceTree(path);
        FdtNode root;
        try
        {
            root = FdtReader.Parse(blob);
        }
        catch (FdtFormatException e)
        {
            throw new ImageError(path, e.Message);
        }
        foreach (string cells in (ReadOnlySpan<string>)["#address-cells", "#size-cells"])
        {
            if (root.Cell(cells) is uint n && n != 2)
                throw new ImageError(path, $"the root's {cells} is {n}; a partial device tree must use 2, as the generated tree does");
        }
        var nodes = root.Children.Where(c => CopiedNodes.Contains(c.Name)).ToList();
        foreach (var node in nodes)
        {
            foreach (var (nodePath, n) in node.Walk("/"))
            {
                foreach (string name in (ReadOnlySpan<string>)["phandle", "linux,phandle"])
                {
                    if (n.Cell(name) is uint phandle && DeviceTreeLinks.Reserved.Contains(phandle))
                        throw new ImageError(path, $"{nodePath} defines phandle {phandle}, which the generated tree uses (65000 is the GIC, as in Xen)");
                }
            }
        }
        return new PartialDeviceTree(nodes);
    }
}
