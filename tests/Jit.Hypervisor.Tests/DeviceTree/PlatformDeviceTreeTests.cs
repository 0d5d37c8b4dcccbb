using System.Text.RegularExpressions;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Platform;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>The guest platform's device tree as `jit dtb` writes it, decoded by dtc.</summary>
public class PlatformDeviceTreeTests
{
    /// <summary>What `jit dtb ARGS --out FILE` writes, as dtc decompiles it, and what dtc's checks said of it.</summary>
    private static string JitDtb(string[] args, out string warnings)
    {
        string path = Path.Combine(Path.GetTempPath(), $"jit-platform-{Guid.NewGuid():N}.dtb");
        try
        {
            Assert.Equal(0, Jit.Tool.Cli.CommandLine.Run(["dtb", .. args, "--out", path], TextWriter.Null, new StringWriter()));
            return Dtc.Decompile(path, out warnings);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void JitDtbDescribesThePlatformMap()
    {
        string dts = JitDtb(["--smp", "2", "--mem", "512M", "--append", "console=ttyAMA0 quiet"], out _);
        Assert.Contains("memory@40000000 {", dts);
        Assert.Contains("reg = <0x00 0x40000000 0x00 0x20000000>;", dts);
        Assert.Contains("cpu@0 {", dts);
        Assert.Contains("cpu@1 {", dts);
        Assert.Contains("enable-method = \"psci\";", dts);
        Assert.Contains("method = \"hvc\";", dts);
        Assert.Contains("interrupt-controller@3001000 {", dts);
        Assert.Contains("compatible = \"arm,gic-v3\";", dts);
        Assert.Contains("reg = <0x00 0x3001000 0x00 0x10000 0x00 0x3020000 0x00 0x40000>;", dts); // two redistributors
        Assert.Contains("compatible = \"arm,armv8-timer\";", dts);
        Assert.Contains("interrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;", dts);
        Assert.Contains("pl011@22000000 {", dts);
        Assert.Matches("clock-names = \"uartclk(\\\\0|\", \")apb_pclk\";", dts);
        Assert.Contains("pl031@22010000 {", dts);
        Assert.Contains("bootargs = \"console=ttyAMA0 quiet\";", dts);
        Assert.Contains("stdout-path = \"/pl011@22000000\";", dts);
        Assert.Contains("kaslr-seed", dts);
    }

    /// <summary>
    /// The ITS under the GIC node and the ECAM host bridge with its windows, MSIs to the ITS and INTx swizzled
    /// over SPIs 34–37, as the arm,gic-v3 and pci-host-ecam-generic bindings want them; dtc's checks are silent.
    /// </summary>
    [Fact]
    public void JitDtbDescribesTheItsAndThePciHostBridge()
    {
        string dts = JitDtb([], out string warnings);
        Assert.True(warnings.Length == 0, $"dtc warns:\n{warnings}");

        string gic = Node(dts, "interrupt-controller@3001000");
        string its = Node(gic, "msi-controller@3120000");
        Assert.Contains("compatible = \"arm,gic-v3-its\";", its);
        Assert.Contains("msi-controller;", its);
        Assert.Contains("#msi-cells = <0x01>;", its);
        Assert.Contains("reg = <0x00 0x3120000 0x00 0x20000>;", its);
        string itsPhandle = Regex.Match(its, @"phandle = <(0x[0-9a-f]+)>;").Groups[1].Value;

        string pcie = Node(dts, "pcie@10000000");
        Assert.Contains("compatible = \"pci-host-ecam-generic\";", pcie);
        Assert.Contains("device_type = \"pci\";", pcie);
        Assert.Contains("#address-cells = <0x03>;", pcie);
        Assert.Contains("#size-cells = <0x02>;", pcie);
        Assert.Contains("#interrupt-cells = <0x01>;", pcie);
        Assert.Contains("reg = <0x00 0x10000000 0x00 0x10000000>;", pcie);
        Assert.Contains("bus-range = <0x00 0xff>;", pcie);
        Assert.Contains("ranges = <0x2000000 0x00 0x23000000 0x00 0x23000000 0x00 0x10000000 " +
            "0x43000000 0x01 0x00 0x01 0x00 0x01 0x00>;", pcie);
        Assert.Contains($"msi-map = <0x00 {itsPhandle} 0x00 0x10000>;", pcie);
        Assert.Contains("interrupt-map-mask = <0x1800 0x00 0x00 0x07>;", pcie);
        // Device 1's INTA is the second line, SPI 35; the GIC (Xen's phandle 65000) and its two address cells come before the specifier.
        Assert.Contains("interrupt-map = <0x00 0x00 0x00 0x01 0xfde8 0x00 0x00 0x00 0x02 0x04 ", pcie);
        Assert.Contains(" 0x800 0x00 0x00 0x01 0xfde8 0x00 0x00 0x00 0x03 0x04 ", pcie);
        Assert.Contains("dma-coherent;", pcie);
        Assert.Contains("linux,pci-domain = <0x00>;", pcie);
    }

    /// <summary>
    /// The SMMUv3 as the arm,smmu-v3 binding has it — registers, three rising-edge SPIs named eventq, gerror and
    /// cmdq-sync, one StreamID cell, coherent, Xen's IOMMU phandle, and the ITS as its msi-parent with the DeviceID
    /// just above the PCI requester IDs — and the bridge's identity iommu-map to it; with --smmu=off neither. dtc's
    /// checks are silent.
    /// </summary>
    [Fact]
    public void JitDtbDescribesTheSmmuInFrontOfThePciHostBridge()
    {
        string dts = JitDtb([], out string warnings);
        Assert.True(warnings.Length == 0, $"dtc warns:\n{warnings}");
        string smmu = Node(dts, "iommu@22020000");
        Assert.Contains("compatible = \"arm,smmu-v3\";", smmu);
        Assert.Contains("reg = <0x00 0x22020000 0x00 0x20000>;", smmu);
        Assert.Contains("interrupts = <0x00 0x06 0x01 0x00 0x07 0x01 0x00 0x08 0x01>;", smmu);
        Assert.Matches("interrupt-names = \"eventq(\\\\0|\", \")gerror(\\\\0|\", \")cmdq-sync\";", smmu);
        Assert.Contains("#iommu-cells = <0x01>;", smmu);
        Assert.Contains("dma-coherent;", smmu);
        Assert.Contains("phandle = <0xfde9>;", smmu);
        string itsPhandle = Regex.Match(Node(dts, "msi-controller@3120000"), @"phandle = <(0x[0-9a-f]+)>;").Groups[1].Value;
        Assert.Contains($"msi-parent = <{itsPhandle} 0x10000>;", smmu);
        Assert.Contains("iommu-map = <0x00 0xfde9 0x00 0x10000>;", Node(dts, "pcie@10000000"));

        string without = JitDtb(["--smmu=off"], out _);
        Assert.DoesNotContain("iommu", without);
    }

    /// <summary>The text of the node named <paramref name="name"/> in dtc's output, up to its closing brace.</summary>
    private static string Node(string dts, string name)
    {
        int start = dts.IndexOf(name + " {", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no node {name} in:\n{dts}");
        int depth = 0;
        for (int i = dts.IndexOf('{', start); i < dts.Length; i++)
        {
            if (dts[i] == '{') depth++;
            else if (dts[i] == '}' && --depth == 0) return dts[start..(i + 1)];
        }
        return dts[start..];
    }

    [Fact]
    public void InitrdRangeIsPassedInChosen()
    {
        var plan = PlatformPlan.For(new PlatformRequest(1, [(0x4000_0000, 0x2000_0000)]));
        byte[] blob = PlatformDeviceTree.Build(plan, new BootChosen("console=ttyAMA0", (0x5F00_0000, 0x5F10_0000)));
        string dts = Dtc.Decompile(blob);
        Assert.Contains("linux,initrd-start = <0x00 0x5f000000>;", dts);
        Assert.Contains("linux,initrd-end = <0x00 0x5f100000>;", dts);
    }
}
