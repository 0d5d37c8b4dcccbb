using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>The lines of the bench initramfs (guests/initramfs/init-bench) as the in-guest workloads read them.</summary>
public class InGuestWorkloadTests
{
    private static IReadOnlyList<(double, string)> Lines(params string[] lines) =>
        new[] { "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]" }.Concat(lines).Append("BENCH-DONE").Select(l => (1.0, l)).ToList();

    private static double? Single(Workload w, params string[] lines) => Assert.Single(w.Parse(Lines(lines))).Value;

    [Fact]
    public void CpuWorkloadDefaultsTo64MiBAndReadsBothLines()
    {
        Assert.Equal(64, CpuWorkload.DefaultMegabytes);
        var w = new CpuWorkload(64);
        var values = w.Parse(Lines("bench sha256 mb=64 seconds=1.25", "bench gzip mb=64 seconds=3.50 bytes=65328")).ToList();
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
        var (metric, value) = Assert.Single(w.Parse(Lines(line)));
        Assert.Equal(new Metric("shell", "sh while loop, 20000 iterations", "s"), metric);
        Assert.Equal(seconds, value);
    }

    [Fact]
    public void BenchLineParses()
    {
        var l = BenchLine.Parse("bench shell loops=20000 seconds=7.40 sum=667472");
        Assert.NotNull(l);
        Assert.Equal("shell", l.Name);
        Assert.Equal(20000, l.Integer("loops"));
        Assert.Equal(7.4, l.Number("seconds"));
        Assert.Equal("667472", l.Text("sum"));
        Assert.Null(l.Integer("rounds"));
        Assert.Null(BenchLine.Parse("[    5.120000] bench shell loops=1 seconds=1"));
        Assert.Equal(["files", "seconds", "sum"], BenchLine.Parse("bench fsio files=500 seconds=1.26 sum=abc[    5.12] random: crng init done")!.Fields.Keys);
        Assert.Equal("abc[", BenchLine.Parse("bench fsio files=500 seconds=1.26 sum=abc[    5.12] random: crng init done")!.Text("sum"));
    }

    [Theory]
    [InlineData("bench find entries=21096 seconds=4.63", 4.63)]
    [InlineData("bench find entries=0 seconds=0.01", null)] // find printed nothing: it did not walk anything
    [InlineData("bench find entries= seconds=0.01", null)]
    [InlineData("bench forkexec loops=1000 seconds=10.55", null)] // another workload's line
    public void FindNeedsSomeEntries(string line, double? seconds) => Assert.Equal(seconds, Single(new FindWorkload(), line));

    [Theory]
    [InlineData("bench forkexec loops=1000 seconds=10.55", 10.55)]
    [InlineData("bench forkexec loops=100 seconds=1.05", null)] // another size's line
    public void ForkExecTakesItsOwnSize(string line, double? seconds) => Assert.Equal(seconds, Single(new ForkExecWorkload(1000), line));

    [Fact]
    public void FsioSumIsWhatBothMachinesPrinted()
    {
        // Jit and qemu-system-aarch64 both printed these for 500 and 50 files.
        Assert.Equal("2387ec4a9ed404466046d8b46f11e96c67161c9dc35676fc148ed9db356c0df6", FsioWorkload.ExpectedSum(500));
        Assert.Equal("38b4cae5117c11a08f436fa2c21f07330b2cf95303907c0bc9978ee9eca0f891", FsioWorkload.ExpectedSum(50));
    }

    [Theory]
    [InlineData("bench fsio files=500 seconds=1.26 sum=2387ec4a9ed404466046d8b46f11e96c67161c9dc35676fc148ed9db356c0df6", 1.26)]
    // The sha256 of nothing: cat read no file back.
    [InlineData("bench fsio files=500 seconds=0.26 sum=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", null)]
    [InlineData("bench fsio files=500 seconds=1.26", null)]
    [InlineData("bench fsio files=50 seconds=0.20 sum=38b4cae5117c11a08f436fa2c21f07330b2cf95303907c0bc9978ee9eca0f891", null)]
    public void FsioTakesOnlyARunThatReadBackWhatItWrote(string line, double? seconds) =>
        Assert.Equal(seconds, Single(new FsioWorkload(500), line));

    [Theory]
    [InlineData("bench pipe rounds=2000 seconds=4.70 token=4000", 4.70)]
    [InlineData("bench pipe rounds=2000 seconds=2.35 token=2000", null)] // a round lost on the way
    [InlineData("bench pipe rounds=2000 seconds=2.35", null)]
    public void PipeChecksTheToken(string line, double? seconds) => Assert.Equal(seconds, Single(new PipeWorkload(2000), line));

    [Fact]
    public void AMissingLineIsAMissingFigure()
    {
        Workload[] all = [new ShellWorkload(100), new FindWorkload(), new ForkExecWorkload(100), new FsioWorkload(50), new PipeWorkload(100)];
        foreach (var w in all)
            Assert.Null(Single(w, "bench cpu-free line=1", "[    9.000000] Kernel panic - not syncing: Attempted to kill init!"));
    }

    [Fact]
    public void BothMachinesBootTheSameGuestWithTheSameVcpusAndSize()
    {
        var tools = new BenchTools("/jit", "/qemu", "/vmlinuz", "/test.cpio.gz", "/bench.cpio.gz", "/latency.elf");
        var w = new FsioWorkload(50, smp: 2);
        var (jit, jitArgs) = w.Command(BenchMachine.Jit, tools);
        var (qemu, qemuArgs) = w.Command(BenchMachine.Qemu, tools);
        Assert.Equal("/jit", jit);
        Assert.Equal("/qemu", qemu);
        const string append = "console=ttyAMA0 panic=-1 benchrun=fsio benchfiles=50";
        Assert.Equal(append, jitArgs[Array.IndexOf(jitArgs, "--append") + 1]);
        Assert.Equal(append, qemuArgs[Array.IndexOf(qemuArgs, "-append") + 1]);
        Assert.Equal("2", jitArgs[Array.IndexOf(jitArgs, "--smp") + 1]);
        Assert.Equal("2", qemuArgs[Array.IndexOf(qemuArgs, "-smp") + 1]);
        Assert.Equal("/bench.cpio.gz", jitArgs[Array.IndexOf(jitArgs, "--initrd") + 1]);
        Assert.Equal("/bench.cpio.gz", qemuArgs[Array.IndexOf(qemuArgs, "-initrd") + 1]);
        // find has no size: its command line names the workload only.
        var (_, findArgs) = new FindWorkload().Command(BenchMachine.Jit, tools);
        Assert.Equal("console=ttyAMA0 panic=-1 benchrun=find", findArgs[Array.IndexOf(findArgs, "--append") + 1]);
        Assert.Equal("1", findArgs[Array.IndexOf(findArgs, "--smp") + 1]);
    }
}
