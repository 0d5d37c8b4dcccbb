using System.Text.Json;
using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

/// <summary>The configuration described back as xl list -l prints it.</summary>
public sealed class XlListJsonTests
{
    private static DomainConfig Config(Func<DomainConfig, DomainConfig>? change = null)
    {
        var c = new DomainConfig
        {
            Source = "web.cfg",
            Name = "web",
            Kernel = "/boot/Image",
            Ramdisk = "/boot/initrd",
            Cmdline = "console=ttyAMA0",
            MemoryMiB = 256,
            MaxMemoryMiB = 512,
            Vcpus = 2,
            Vuart = VuartKind.SbsaUart,
            OnCrash = ShutdownAction.Preserve,
        };
        return change is null ? c : change(c);
    }

    [Fact]
    public void ItIsLibxlsDomainConfigLaidOutAsYajlLaysItOut()
    {
        Assert.True(CpuSet.TryParse("1-2", 4, out var cpus, out _));
        string json = XlListJson.Format([(3, Config(c => c with { CpuAffinity = [cpus, cpus], Tee = TeeKind.Ffa }))]);
        Assert.Equal("""
            [
                {
                    "domid": 3,
                    "config": {
                        "c_info": {
                            "type": "pvh",
                            "name": "web"
                        },
                        "b_info": {
                            "max_vcpus": 2,
                            "avail_vcpus": [
                                0,
                                1
                            ],
                            "vcpu_hard_affinity": [
                                [
                                    1,
                                    2
                                ],
                                [
                                    1,
                                    2
                                ]
                            ],
                            "max_memkb": 524288,
                            "target_memkb": 262144,
                            "kernel": "/boot/Image",
                            "cmdline": "console=ttyAMA0",
                            "ramdisk": "/boot/initrd",
                            "tee": "ffa",
                            "type.pvh": {

                            },
                            "arch_arm": {
                                "gic_version": "v3",
                                "vuart": "sbsa_uart"
                            }
                        },
                        "on_reboot": "restart",
                        "on_crash": "preserve"
                    }
                }
            ]

            """, json);
    }

    [Fact]
    public void DefaultsAreLeftOutAsLibxlLeavesThemOut()
    {
        var c = Config(c => c with { Ramdisk = null, Cmdline = null, OnCrash = ShutdownAction.Destroy, OnReboot = ShutdownAction.Destroy });
        using var doc = JsonDocument.Parse(XlListJson.Format([(1, c)]));
        var config = doc.RootElement[0].GetProperty("config");
        Assert.Equal(["c_info", "b_info"], config.EnumerateObject().Select(p => p.Name));
        var b = config.GetProperty("b_info");
        Assert.False(b.TryGetProperty("cmdline", out _));
        Assert.False(b.TryGetProperty("ramdisk", out _));
        Assert.False(b.TryGetProperty("tee", out _));
        Assert.False(b.TryGetProperty("vcpu_hard_affinity", out _));
        Assert.False(b.TryGetProperty("jit_smmu", out _));
    }

    [Fact]
    public void OurOwnKeysAppearBesideLibxls()
    {
        using var doc = JsonDocument.Parse(XlListJson.Format([(1, Config(c => c with { JitDtb = "/boot/whole.dtb", Vuart = VuartKind.Pl011, Smmu = false }))]));
        var b = doc.RootElement[0].GetProperty("config").GetProperty("b_info");
        Assert.Equal("/boot/whole.dtb", b.GetProperty("jit_dtb").GetString());
        Assert.Equal("False", b.GetProperty("jit_smmu").GetString());
        Assert.Equal("pl011", b.GetProperty("arch_arm").GetProperty("vuart").GetString());
    }

    [Fact]
    public void SeveralDomainsMakeOneArrayAndADryRunHasNoDomid()
    {
        using var doc = JsonDocument.Parse(XlListJson.Format([(0, Config()), (7, Config(c => c with { Name = "db" }))]));
        Assert.Equal([0, 7], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("domid").GetInt32()));
        Assert.Equal("[\n\n]\n", XlListJson.Format([]));

        string one = XlListJson.FormatOne(null, Config());
        Assert.StartsWith("{\n    \"domid\": null,\n    \"config\": {\n", one);
        using var single = JsonDocument.Parse(one);
        Assert.Equal(JsonValueKind.Null, single.RootElement.GetProperty("domid").ValueKind);
    }

    [Fact]
    public void StringsAreEscapedAsJson()
    {
        string json = XlListJson.Format([(1, Config(c => c with { Cmdline = "say \"hi\"\\\t\u0001 zoë" }))]);
        Assert.Contains("\"cmdline\": \"say \\\"hi\\\"\\\\\\t\\u0001 zoë\"", json);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("say \"hi\"\\\t\u0001 zoë", doc.RootElement[0].GetProperty("config").GetProperty("b_info").GetProperty("cmdline").GetString());
    }

    [Fact]
    public void AConfigReadFromAFileDescribesItsOwnValues()
    {
        string dir = Directory.CreateTempSubdirectory("jit-json-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "Image");
            File.WriteAllBytes(kernel, [1]);
            var c = DomainConfigReader.Read(XlConfig.Parse($"name='g'\nkernel='{kernel}'\nmemory=128\nvcpus=3\non_poweroff='preserve'\n", "g.cfg"),
                new HostLimits(8, 4, 1024));
            using var doc = JsonDocument.Parse(XlListJson.FormatOne(5, c));
            var config = doc.RootElement.GetProperty("config");
            Assert.Equal("g", config.GetProperty("c_info").GetProperty("name").GetString());
            Assert.Equal(128 * 1024, config.GetProperty("b_info").GetProperty("target_memkb").GetInt64());
            Assert.Equal(3, config.GetProperty("b_info").GetProperty("max_vcpus").GetInt32());
            Assert.Equal(kernel, config.GetProperty("b_info").GetProperty("kernel").GetString());
            Assert.Equal("preserve", config.GetProperty("on_poweroff").GetString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
