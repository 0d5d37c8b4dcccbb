using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>guests/sys/latency on Jit, in both modes: every operation reports, with figures that make sense.</summary>
public class LatencyGuestTests
{
    [Theory]
    [InlineData(false, "sys-latency.elf")]
    [InlineData(true, "sys-latency-mmu.elf")]
    public void PrintsEveryOperationWithSaneFigures(bool mmu, string file)
    {
        string elf = TestProcess.Guest("latency", file);
        var r = TestProcess.Jit(["run", "--kernel", elf, "--smp", "2", "--timeout", "60"], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, $"jit exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        var lines = r.Stdout.Replace("\r", "").Split('\n');
        // The MMU-on guest prints its header only once SCTLR_EL1.M, C and I are set; it also checks CPU 1's.
        string header = $"latency-guest freq=62500000 samples=1000 batch=8 mmu={(mmu ? "on" : "off")}";
        Assert.Contains(lines, l => l.StartsWith(header, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal) || l.StartsWith("unexpected exception", StringComparison.Ordinal));
        // The unknown function's every return was NOT_SUPPORTED: otherwise the guest says what came back
        // instead of reporting figures.
        Assert.DoesNotContain(lines, l => l.StartsWith("hvc-unknown", StringComparison.Ordinal));

        var parsed = lines.Select(LatencyWorkload.ParseLine).OfType<(string Operation, double? Mean, double? P50, double? P99, int N)>().ToList();
        Assert.Equal(new LatencyWorkload(mmu).Names, parsed.Select(p => p.Operation));
        foreach (var p in parsed)
        {
            // Jit offers every operation, SMC included (its SMCCC dispatcher takes both conduits).
            Assert.True(p.Mean is not null, $"{p.Operation}: n/a on Jit");
            // Two counter reads in a row may fall in the same 16 ns tick; everything else takes time.
            double least = p.Operation.StartsWith("counter-read", StringComparison.Ordinal) ? 0 : double.Epsilon;
            Assert.True(p.Mean >= least && p.P50 >= least, $"{p.Operation}: mean {p.Mean}, p50 {p.P50}");
            Assert.True(p.P50 <= p.P99, $"{p.Operation}: p50 {p.P50} above p99 {p.P99}");
            Assert.True(p.N >= 100, $"{p.Operation}: only {p.N} samples");
        }
        Assert.Contains("end 0", r.Stdout);
    }

    [Theory]
    [InlineData("latency hvc mean=336.8 p50=210.0 p99=304.0 n=1000", "hvc", 210.0)]
    [InlineData("latency smc n/a", "smc", null)]
    [InlineData("latency hvc-unknown/mmu mean=150.2 p50=132.0 p99=166.0 n=1000", "hvc-unknown/mmu", 132.0)]
    [InlineData("latency hvc-unknown/mmu n/a", "hvc-unknown/mmu", null)]
    public void ParsesTheGuestsLines(string line, string operation, double? p50)
    {
        var p = LatencyWorkload.ParseLine(line);
        Assert.NotNull(p);
        Assert.Equal(operation, p.Value.Operation);
        Assert.Equal(p50, p.Value.P50);
    }

    [Fact]
    public void EachModeRunsItsOwnGuestAndTakesOnlyItsOwnLines()
    {
        var tools = new BenchTools("/jit", "/qemu", null, null, null, "/latency.elf", "/latency-mmu.elf");
        var off = new LatencyWorkload(mmu: false);
        var on = new LatencyWorkload(mmu: true);
        Assert.Contains("/latency.elf", off.Command(BenchMachine.Jit, tools).Args);
        Assert.Contains("/latency.elf", off.Command(BenchMachine.Qemu, tools).Args);
        Assert.Contains("/latency-mmu.elf", on.Command(BenchMachine.Jit, tools).Args);
        Assert.Contains("/latency-mmu.elf", on.Command(BenchMachine.Qemu, tools).Args);

        // The MMU-off names stay what they were, so earlier results and baselines still match.
        Assert.Equal(["counter-read p50", "mmio-read p50", "mmio-write p50", "hvc p50", "hvc-unknown p50", "smc p50", "gic-ack-eoi p50",
                      "sgi-self p50", "timer p50", "timer-busy p50", "ipi p50"], off.Metrics.Select(m => m.Name));
        Assert.All(on.Metrics.Concat(off.Metrics), m => Assert.Equal("latency", m.Workload));
        Assert.Empty(on.Metrics.Select(m => m.Name).Intersect(off.Metrics.Select(m => m.Name)));

        var output = new[] { "latency hvc mean=120.0 p50=110.0 p99=160.0 n=1000", "latency hvc/mmu mean=130.0 p50=125.0 p99=170.0 n=1000" }
            .Select(l => (1.0, l)).ToList();
        Assert.Equal(110.0, off.Parse(output).Single(v => v.Metric.Name == "hvc p50").Value);
        Assert.Equal(125.0, on.Parse(output).Single(v => v.Metric.Name == "hvc/mmu p50").Value);
        Assert.Null(on.Parse(output).Single(v => v.Metric.Name == "mmio-read/mmu p50").Value);
    }
}
