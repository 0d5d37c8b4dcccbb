using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>The blobs FdtWriter produces, decoded by the reference tool (dtc).</summary>
public class FdtWriterTests
{
    [Fact]
    public void NodesPropertiesAndCellsDecodeWithDtc()
    {
        var w = new FdtWriter();
        w.BeginNode("")
            .Property("#address-cells", 2u).Property("#size-cells", 2u)
            .Property("compatible", "xen,xenvm-4.17", "xen,xenvm")
            .BeginNode("memory@40000000")
                .Property("device_type", "memory")
                .Property("reg", 0x4000_0000UL, 0x2000_0000UL)
            .EndNode()
            .BeginNode("chosen").Property("bootargs", "console=ttyAMA0").Property("linux,initrd-start", 0x4800_0000UL).EndNode()
            .BeginNode("psci").Property("method", "hvc").Property("dma-coherent").EndNode()
        .EndNode();
        string dts = Dtc.Decompile(w.Finish());
        // dtc prints a string list either as "a", "b" or as "a\0b" depending on its version.
        Assert.Matches("compatible = \"xen,xenvm-4.17(\\\\0|\", \")xen,xenvm\";", dts);
        Assert.Contains("memory@40000000 {", dts);
        Assert.Contains("reg = <0x00 0x40000000 0x00 0x20000000>;", dts);
        Assert.Contains("bootargs = \"console=ttyAMA0\";", dts);
        Assert.Contains("dma-coherent;", dts);
        Assert.Contains("method = \"hvc\";", dts);
    }

    [Fact]
    public void UnbalancedNodesAreRejected()
    {
        var w = new FdtWriter();
        w.BeginNode("");
        Assert.Throws<InvalidOperationException>(() => w.Finish());
        Assert.Throws<InvalidOperationException>(() => new FdtWriter().EndNode());
        Assert.Throws<InvalidOperationException>(() => new FdtWriter().Property("x", 1u));
    }
}
