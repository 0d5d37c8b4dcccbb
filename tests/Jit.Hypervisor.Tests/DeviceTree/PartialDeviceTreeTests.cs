using Jit.Hypervisor.Builder;
using Jit.Hypervisor.DeviceTree;
using Jit.Hypervisor.Platform;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>xl.cfg's device_tree: a partial tree's /passthrough and /aliases join the generated one, as libxl does it.</summary>
public sealed class PartialDeviceTreeTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("jit-partial-dt-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Partial(string body, string rootCells = "#address-cells = <2>; #size-cells = <2>;")
    {
        string path = Path.Combine(folder, $"partial-{Guid.NewGuid():N}.dtb");
        Dtc.Compile($"/dts-v1/;\n/ {{ {rootCells}\n{body}\n}};\n", path);
        return path;
    }

    // As Xen's passthrough documentation writes one: the GIC by Xen's phandle 65000.
    private const string Passthrough = """
        passthrough {
            compatible = "simple-bus";
            ranges;
            #address-cells = <2>;
            #size-cells = <2>;
            ethernet@ff000000 {
                compatible = "calxeda,hb-xgmac";
                reg = <0 0xff000000 0 0x1000>;
                interrupt-parent = <65000>;
                interrupts = <0 80 4>;
            };
        };
        aliases { net = "/passthrough/ethernet@ff000000"; };
        ignored { compatible = "not-copied"; };
        """;

    [Fact]
    public void PassthroughAndAliasesJoinTheGeneratedTreeAndNothingElseDoes()
    {
        string path = Partial(Passthrough);
        var o = new LinuxOptions("kernel", null, "console=ttyAMA0", 256UL << 20, 2, PartialDeviceTree: path);
        string merged = Path.Combine(folder, "merged.dtb");
        File.WriteAllBytes(merged, LinuxMachine.DescribePlatform(o, null));
        string dts = Dtc.Decompile(merged, out string warnings);

        Assert.Contains("passthrough {", dts);
        Assert.Contains("ethernet@ff000000 {", dts);
        Assert.Contains("compatible = \"calxeda,hb-xgmac\";", dts);
        Assert.Contains("interrupts = <0x00 0x50 0x04>;", dts);
        Assert.Contains("net = \"/passthrough/ethernet@ff000000\";", dts);
        Assert.DoesNotContain("not-copied", dts);
        // The interrupt parent the partial tree names is the generated GIC.
        Assert.Contains("interrupt-parent = <0xfde8>;", dts);
        Assert.Contains("interrupt-controller@3001000 {", dts);
        Assert.Matches(@"interrupt-controller@3001000 \{[^}]*phandle = <0xfde8>;", dts);
        // The generated platform is all still there.
        Assert.Contains("pl011@22000000 {", dts);
        Assert.Contains("pcie@10000000 {", dts);
        Assert.DoesNotContain("ERROR", warnings);
    }

    [Fact]
    public void APhandleTheGeneratedTreeUsesIsRefusedNamingTheFileAndNode()
    {
        string path = Partial("passthrough { dev { phandle = <65003>; }; };");
        var e = Assert.Throws<ImageError>(() => PartialDeviceTree.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("/passthrough/dev defines phandle 65003", e.Message);
    }

    [Fact]
    public void RootCellsOtherThanTwoAreRefused()
    {
        string path = Partial("passthrough { };", rootCells: "#address-cells = <1>; #size-cells = <1>;");
        var e = Assert.Throws<ImageError>(() => PartialDeviceTree.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("#address-cells is 1", e.Message);
    }

    [Fact]
    public void AFileThatIsNotADeviceTreeOrIsCutShortIsRefusedNamingTheFile()
    {
        string garbage = Path.Combine(folder, "garbage.dtb");
        File.WriteAllText(garbage, "passthrough { };");
        Assert.Contains("no 0xd00dfeed magic", Assert.Throws<ImageError>(() => PartialDeviceTree.Load(garbage)).Message);

        byte[] good = File.ReadAllBytes(Partial(Passthrough));
        // A header that claims more than the file holds, and a structure block cut in the middle.
        string cut = Path.Combine(folder, "cut.dtb");
        File.WriteAllBytes(cut, good[..(good.Length / 2)]);
        var e = Assert.Throws<ImageError>(() => PartialDeviceTree.Load(cut));
        Assert.Contains(cut, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TheReaderRefusesEveryCorruptionWithoutThrowingAnythingElse()
    {
        byte[] good = File.ReadAllBytes(Partial(Passthrough));
        var random = new Random(1234);
        int refused = 0;
        for (int i = 0; i < 5000; i++)
        {
            byte[] bad = (byte[])good.Clone();
            for (int n = random.Next(1, 4); n > 0; n--) bad[random.Next(40, bad.Length)] = (byte)random.Next(256);
            try
            {
                FdtReader.Parse(bad);
            }
            catch (FdtFormatException)
            {
                refused++;
            }
        }
        Assert.True(refused > 0, "no corruption was noticed");
    }

    [Fact]
    public void WhatTheReaderParsesTheWriterWritesBackTheSame()
    {
        var plan = PlatformPlan.For(new PlatformRequest(2, [(0x4000_0000, 0x1000_0000)]));
        byte[] blob = PlatformDeviceTree.Build(plan, new BootChosen("console=ttyAMA0"));
        var w = new FdtWriter();
        w.Node(FdtReader.Parse(blob));
        Assert.Equal(blob, w.Finish());
    }
}
