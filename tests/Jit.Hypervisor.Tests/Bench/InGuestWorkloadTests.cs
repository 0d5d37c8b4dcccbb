using Jit.Hypervisor.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>The lines of the bench initramfs (guests/initramfs/init-bench) as the cpu and shell workloads read them.</summary>
public class InGuestWorkloadTests
{
    private static IReadOnlyList<(double, string)> Lines(params string[] lines) => lines.Select(l => (1.0, l)).ToList();

    [Fact]
    public void CpuWorkloadDefaultsTo64MiBAndReadsBothLines()
    {
        Assert.Equal(64, CpuWorkload.DefaultMegabytes);
        var w = new CpuWorkload(64);
        var values = w.Parse(Lines("bench sha256 mb=64 seconds=1.25", "bench gzip mb=64 seconds=3.50 bytes=65328", "BENCH-DONE")).ToList();
        Assert.Equal(["sha256sum 64 MiB", "gzip -1 64 MiB"], values.Select(v => v.Metric.Name));
        Assert.Equal([1.25, 3.5], values.Select(v => v.Value));
    }

    [Fact]
    public void ShellSumIsWhatBothMachinesPrinted()
    {
        // Jit and qemu-system-aarch64 both printed "bench shell loops=20000 seconds=… sum=667472".
        Assert.Equal(667472, ShellWorkload.ExpectedSum(20_000));
    }

    [Theory]
    [InlineData("bench shell loops=20000 seconds=0.70 sum=667472", 0.70)]
    [InlineData("bench shell loops=20000 seconds=0.70 sum=12345", null)] // a wrong sum is a failed run, not a fast one
    [InlineData("bench shell loops=2000 seconds=0.10 sum=667472", null)] // another size's line
    public void ShellWorkloadTakesOnlyItsOwnCorrectLine(string line, double? seconds)
    {
        var w = new ShellWorkload(20_000);
        var (metric, value) = Assert.Single(w.Parse(Lines("[    0.000000] Booting Linux", line, "BENCH-DONE")));
        Assert.Equal(new Metric("shell", "sh while loop, 20000 iterations", "s"), metric);
        Assert.Equal(seconds, value);
    }

    [Fact]
    public void ShellLineParses()
    {
        Assert.Equal((20000, 7.4, 667472L), ShellWorkload.ParseLine("bench shell loops=20000 seconds=7.40 sum=667472"));
        Assert.Null(ShellWorkload.ParseLine("bench sha256 mb=64 seconds=1.25"));
    }
}
