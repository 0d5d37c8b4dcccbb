using Jit.Hypervisor.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>guests/sys/latency on Jit: every operation reports, with figures that make sense.</summary>
public class LatencyGuestTests
{
    [Fact]
    public void PrintsEveryOperationWithSaneFigures()
    {
        string elf = TestProcess.Guest("latency", "sys-latency.elf");
        var r = TestProcess.Jit(["run", "--kernel", elf, "--smp", "2", "--timeout", "60"], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, $"jit exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        var lines = r.Stdout.Replace("\r", "").Split('\n');
        Assert.Contains(lines, l => l.StartsWith("latency-guest freq=62500000 ", StringComparison.Ordinal));

        var parsed = lines.Select(LatencyWorkload.ParseLine).OfType<(string Operation, double? Mean, double? P50, double? P99, int N)>().ToList();
        Assert.Equal(LatencyWorkload.Operations, parsed.Select(p => p.Operation));
        foreach (var p in parsed)
        {
            // Jit offers every operation, SMC included (its SMCCC dispatcher takes both conduits).
            Assert.True(p.Mean is not null, $"{p.Operation}: n/a on Jit");
            // Two counter reads in a row may fall in the same 16 ns tick; everything else takes time.
            double least = p.Operation == "counter-read" ? 0 : double.Epsilon;
            Assert.True(p.Mean >= least && p.P50 >= least, $"{p.Operation}: mean {p.Mean}, p50 {p.P50}");
            Assert.True(p.P50 <= p.P99, $"{p.Operation}: p50 {p.P50} above p99 {p.P99}");
            Assert.True(p.N >= 100, $"{p.Operation}: only {p.N} samples");
        }
        Assert.Contains("end 0", r.Stdout);
    }

    [Theory]
    [InlineData("latency hvc mean=336.8 p50=210.0 p99=304.0 n=1000", "hvc", 210.0)]
    [InlineData("latency smc n/a", "smc", null)]
    public void ParsesTheGuestsLines(string line, string operation, double? p50)
    {
        var p = LatencyWorkload.ParseLine(line);
        Assert.NotNull(p);
        Assert.Equal(operation, p.Value.Operation);
        Assert.Equal(p50, p.Value.P50);
    }
}
