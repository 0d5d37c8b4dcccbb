using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>A side of a comparison that failed shows its own error in the table and the JSON, never a bare null.</summary>
public class BenchReportTests
{
    private static readonly BenchContext Context = new(DateTimeOffset.UnixEpoch, 2, "host", "abc123", "QEMU 7.2", 1, BenchSizes.Default);
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void AFailedMachineNamesItsErrorInTheTableAndTheJson()
    {
        var r = new MetricResult(new Metric("boot", "start to BOOT-OK", "s"));
        r.Jit.Add(2.5);
        r.Jit.Add(2.7);
        const string why = "exit 1 without 'BOOT-OK': qemu-system-aarch64: failed to find romfile \"efi-virtio.rom\"";
        r.Qemu.Fail(why);
        r.Qemu.Fail(why);

        string md = BenchReport.Markdown(Context, [r]);
        Assert.Contains($"| 2.60 (2.50–2.70) | failed: {why} | – |", md);

        using var json = JsonDocument.Parse(BenchReport.Json(Context, [r]));
        var qemu = json.RootElement.GetProperty("results")[0].GetProperty("qemu");
        Assert.Equal(2, qemu.GetProperty("missing").GetInt32());
        Assert.Equal([why], qemu.GetProperty("failures").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public void AFailingProcessIsReportedWithTheLastLineOfItsStandardError()
    {
        var r = BenchProcess.Run("/bin/sh", ["-c", "echo starting; echo 'qemu: first' >&2; echo 'qemu: the real cause' >&2; exit 1"],
            "BOOT-OK", TimeSpan.FromSeconds(30));
        Assert.False(r.Ok);
        Assert.Equal("exit 1 without 'BOOT-OK': qemu: the real cause", r.Why);
    }

    [Fact]
    public void AProgramThatCannotStartIsAFailureNotAnException()
    {
        var r = BenchProcess.Run("/nonexistent/qemu-system-aarch64", [], "BOOT-OK", TimeSpan.FromSeconds(30));
        Assert.False(r.Ok);
        Assert.StartsWith("cannot start /nonexistent/qemu-system-aarch64", r.Why);
    }

    [Fact]
    public void TheJsonRecordsEverySizeAndTheVcpus()
    {
        var context = Context with { Smp = 2, Sizes = BenchSizes.Default with { FsioFiles = 50 } };
        using var json = JsonDocument.Parse(BenchReport.Json(context, []));
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("smp").GetInt32());
        Assert.Equal(64, root.GetProperty("cpuMegabytes").GetInt32());
        Assert.Equal(20000, root.GetProperty("shellLoops").GetInt32());
        Assert.Equal(1000, root.GetProperty("forkexecLoops").GetInt32());
        Assert.Equal(50, root.GetProperty("fsioFiles").GetInt32());
        Assert.Equal(2000, root.GetProperty("pipeRounds").GetInt32());
        Assert.Equal(1024, root.GetProperty("diskMegabytes").GetInt32());
        Assert.Equal(256, root.GetProperty("tcpMegabytes").GetInt32());
        Assert.Contains("2 vCPUs for boot and the in-guest workloads", BenchReport.Markdown(context, []));
    }

    private static MetricResult Result(string name, string unit, double jit, double qemu)
    {
        var r = new MetricResult(new Metric("w", name, unit));
        r.Jit.Add(jit);
        r.Qemu.Add(qemu);
        return r;
    }

    private static double Attr(XElement e, string name) => double.Parse(e.Attribute(name)!.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void RatiosOfTwoAndOneHalfAreEqualBarsEitherSideOfTheOneLine()
    {
        // 50 ns against 60 ns and 120 s against 60 s: different units, one axis.
        var svg = XDocument.Parse(BenchReport.Svg(Context, [Result("slower", "s", 120, 60), Result("faster", "ns", 25, 50)]));
        double unity = Attr(svg.Descendants(Svg + "line").Single(l => (string?)l.Attribute("class") == "unity"), "y1");
        var bars = svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "ratio").ToList();
        Assert.Equal(2, bars.Count);
        var (slower, faster) = (bars[0], bars[1]);
        Assert.Equal(unity, Attr(slower, "y") + Attr(slower, "height"), 2); // up from 1×
        Assert.Equal(unity, Attr(faster, "y"), 2); // down from 1×
        Assert.Equal(Attr(slower, "height"), Attr(faster, "height"), 2);
        Assert.True(Attr(slower, "height") > 20);
        Assert.NotEqual(slower.Attribute("fill")!.Value, faster.Attribute("fill")!.Value);

        // Both medians with their unit, under each column.
        var texts = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("Jit 120 s, QEMU 60.0 s", texts);
        Assert.Contains("Jit 25.0 ns, QEMU 50.0 ns", texts);
        Assert.Contains("2.00×", texts);
        Assert.Contains("0.50×", texts);
    }

    [Fact]
    public void TheAxisIsLabelledInPowersOfTwoAndWidensForALargeRatio()
    {
        static List<string> Ticks(XDocument svg) =>
            svg.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "tick").Select(t => t.Value).ToList();

        var narrow = XDocument.Parse(BenchReport.Svg(Context, [Result("a", "s", 1.5, 1)]));
        Assert.Equal(["0.25×", "0.5×", "1×", "2×", "4×"], Ticks(narrow));

        // 10× needs 2^4: the bar stays inside the axis, between the 8× and 16× lines.
        var wide = XDocument.Parse(BenchReport.Svg(Context, [Result("a", "s", 10, 1)]));
        Assert.Equal(["1/16×", "0.125×", "0.25×", "0.5×", "1×", "2×", "4×", "8×", "16×"], Ticks(wide));
        Assert.Equal(4, BenchReport.RatioAxisHalfRange([10, null, 0.5]));
        Assert.Equal(2, BenchReport.RatioAxisHalfRange([]));
        Assert.Equal(25, BenchReport.RatioY(8, 4, 200, 100) - BenchReport.RatioY(16, 4, 200, 100), 6);
        Assert.Equal(200 - BenchReport.RatioY(3, 4, 200, 100), BenchReport.RatioY(1.0 / 3, 4, 200, 100) - 200, 6);
    }

    [Fact]
    public void AMetricWithoutARatioSaysWhy()
    {
        var failed = new MetricResult(new Metric("fsio", "500 files", "s"));
        failed.Jit.Add(5.6);
        failed.Qemu.Fail("exit 1 without 'BENCH-DONE': <qemu> & co");
        var na = new MetricResult(new Metric("latency", "smc p50", "ns"));
        na.Jit.Add(42);
        na.Qemu.Add(null);

        var svg = XDocument.Parse(BenchReport.Svg(Context, [failed, na]));
        Assert.DoesNotContain(svg.Descendants(Svg + "rect"), r => (string?)r.Attribute("class") == "ratio");
        Assert.Equal(2, svg.Descendants(Svg + "text").Count(t => t.Value == "no ratio"));
        var texts = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("Jit 5.60 s, QEMU –; no ratio: QEMU failed: exit 1 without 'BENCH-DONE': <qemu> & co", texts);
        Assert.Contains("Jit 42.0 ns, QEMU –; no ratio: QEMU gave no figure (n/a, or its check failed)", texts);

        var alone = new MetricResult(new Metric("boot", "start to BOOT-OK", "s"));
        alone.Jit.Add(2.7);
        var jitOnly = XDocument.Parse(BenchReport.Svg(Context with { QemuVersion = null }, [alone]));
        Assert.Contains(jitOnly.Descendants(Svg + "text"), t => t.Value == "Jit 2.70 s; no ratio: QEMU not run");
    }
}
