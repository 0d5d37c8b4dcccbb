using Jit.Hypervisor.Builder;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>The guest platform's device tree as `jit dtb` writes it, decoded by dtc.</summary>
public class PlatformDeviceTreeTests
{
    [Fact]
    public void JitDtbDescribesThePlatformMap()
    {
        string path = Path.Combine(Path.GetTempPath(), $"jit-platform-{Guid.NewGuid():N}.dtb");
        try
        {
            var err = new StringWriter();
            Assert.Equal(0, Cli.CommandLine.Run(["dtb", "--smp", "2", "--mem", "512M", "--append", "console=ttyAMA0 quiet", "--out", path], TextWriter.Null, err));
            string dts = Dtc.Decompile(path);
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
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void InitrdRangeIsPassedInChosen()
    {
        byte[] blob = PlatformDeviceTree.Build(new PlatformDescription([(0x4000_0000, 0x2000_0000)], 1, "console=ttyAMA0", (0x5F00_0000, 0x5F10_0000)));
        string dts = Dtc.Decompile(blob);
        Assert.Contains("linux,initrd-start = <0x00 0x5f000000>;", dts);
        Assert.Contains("linux,initrd-end = <0x00 0x5f100000>;", dts);
    }
}
