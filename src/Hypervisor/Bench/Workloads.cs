using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Jit.Hypervisor.Bench;

/// <summary>The command lines of one workload on each machine, and how its output becomes metric values.</summary>
public abstract class Workload
{
    public abstract string Name { get; }

    /// <summary>Program and arguments on <paramref name="machine"/>.</summary>
    public abstract (string File, string[] Args) Command(BenchMachine machine, BenchTools tools);

    /// <summary>
    /// The metric values of one run from its console lines; each line comes with the seconds since the process
    /// started. A metric absent from the result counts as missing for that run.
    /// </summary>
    public abstract IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output);

    /// <summary>The metrics this workload reports, for runs that fail before printing anything.</summary>
    public abstract IEnumerable<Metric> Metrics { get; }

    /// <summary>A line that ends the run early (the guest has printed all it will); null waits for the exit.</summary>
    public virtual string? DoneMarker => null;

    // -nic none: the virt machine's default NIC needs an option ROM from a package that is only a Recommends of
    // QEMU's, and no workload wants a network.
    protected static string[] QemuVirt(string mem, int smp) =>
        ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", mem, "-smp", smp.ToString(CultureInfo.InvariantCulture), "-nographic", "-no-reboot", "-nic", "none"];
}

/// <summary>Paths of everything the workloads run: the jit executable, qemu-system-aarch64 (or null), the guests.</summary>
public sealed record BenchTools(string Jit, string? Qemu, string? Kernel, string? TestInitrd, string? BenchInitrd, string? LatencyGuest);

/// <summary>Wall time from process start to BOOT-OK of Debian's kernel with the test initramfs (perf/boot-time.sh).</summary>
public sealed class BootWorkload : Workload
{
    private static readonly Metric Boot = new("boot", "start to BOOT-OK", "s");
    private const string Append = "console=ttyAMA0 panic=-1";

    public override string Name => "boot";
    public override IEnumerable<Metric> Metrics => [Boot];
    public override string? DoneMarker => "BOOT-OK";

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) => machine == BenchMachine.Jit
        ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.TestInitrd!, "--append", Append, "--timeout", "600"])
        : (t.Qemu!, [.. QemuVirt("512", 1), "-kernel", t.Kernel!, "-initrd", t.TestInitrd!, "-append", Append]);

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        foreach (var (seconds, line) in output)
            if (line.Contains("BOOT-OK", StringComparison.Ordinal)) return [(Boot, seconds)];
        return [(Boot, null)];
    }
}

/// <summary>
/// CPU work inside the Linux guest (guests/initramfs/init-bench): sha256sum and gzip -1 over MiB of zeros, timed
/// by the guest from /proc/uptime, so boot time does not count.
/// </summary>
public sealed partial class CpuWorkload(int megabytes) : Workload
{
    public const int DefaultMegabytes = 64;

    private readonly Metric sha256 = new("cpu", $"sha256sum {megabytes} MiB", "s");
    private readonly Metric gzip = new("cpu", $"gzip -1 {megabytes} MiB", "s");

    public override string Name => "cpu";
    public override IEnumerable<Metric> Metrics => [sha256, gzip];
    public override string? DoneMarker => "BENCH-DONE";

    private string Append => $"console=ttyAMA0 panic=-1 benchrun=cpu benchmb={megabytes}";

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) => machine == BenchMachine.Jit
        ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.BenchInitrd!, "--append", Append, "--timeout", "1800"])
        : (t.Qemu!, [.. QemuVirt("512", 1), "-kernel", t.Kernel!, "-initrd", t.BenchInitrd!, "-append", Append]);

    [GeneratedRegex(@"^bench (sha256|gzip) mb=\d+ seconds=([0-9.]+)")]
    private static partial Regex BenchLine();

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        double? sha = null, gz = null;
        foreach (var (_, line) in output)
        {
            var m = BenchLine().Match(line);
            if (!m.Success) continue;
            double v = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (m.Groups[1].Value == "sha256") sha = v;
            else gz = v;
        }
        return [(sha256, sha), (gzip, gz)];
    }
}

/// <summary>
/// The busybox shell's own interpreter inside the Linux guest (guests/initramfs/init-bench): a <c>while</c> loop of
/// integer arithmetic with no process started in it, timed by the guest from /proc/uptime. Where the cpu
/// workload is a few hot loops, this is a large interpreter's dispatch over many branches, closer to what boot
/// scripts do.
/// </summary>
public sealed partial class ShellWorkload(int loops) : Workload
{
    public const int DefaultLoops = 20_000;

    private readonly Metric loop = new("shell", $"sh while loop, {loops} iterations", "s");

    public override string Name => "shell";
    public override IEnumerable<Metric> Metrics => [loop];
    public override string? DoneMarker => "BENCH-DONE";

    private string Append => $"console=ttyAMA0 panic=-1 benchrun=shell benchloops={loops}";

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) => machine == BenchMachine.Jit
        ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.BenchInitrd!, "--append", Append, "--timeout", "1800"])
        : (t.Qemu!, [.. QemuVirt("512", 1), "-kernel", t.Kernel!, "-initrd", t.BenchInitrd!, "-append", Append]);

    [GeneratedRegex(@"^bench shell loops=(\d+) seconds=([0-9.]+) sum=(\d+)")]
    private static partial Regex ShellLine();

    /// <summary>The guest's line: iterations, seconds and the loop's checksum; null for any other line.</summary>
    public static (int Loops, double Seconds, long Sum)? ParseLine(string line)
    {
        var m = ShellLine().Match(line);
        if (!m.Success) return null;
        var inv = CultureInfo.InvariantCulture;
        return (int.Parse(m.Groups[1].Value, inv), double.Parse(m.Groups[2].Value, inv), long.Parse(m.Groups[3].Value, inv));
    }

    /// <summary>What the guest's loop computes, so a run whose shell went wrong counts as failed rather than fast.</summary>
    public static long ExpectedSum(int loops)
    {
        long sum = 0;
        for (int i = 0; i < loops; i++) sum = (sum * 31 + i) % 1_000_003;
        return sum;
    }

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        foreach (var (_, line) in output)
            if (ParseLine(line) is { } l && l.Loops == loops)
                return [(loop, l.Sum == ExpectedSum(loops) ? l.Seconds : null)];
        return [(loop, null)];
    }
}

/// <summary>
/// The latency guest (guests/sys/latency) with two vCPUs: its p50 per operation. The guest prints mean, p50
/// and p99; the median over runs of the p50 is the figure least disturbed by a busy host.
/// </summary>
public sealed partial class LatencyWorkload : Workload
{
    /// <summary>The operations the guest measures, in its order.</summary>
    public static readonly string[] Operations =
        ["counter-read", "mmio-read", "mmio-write", "hvc", "smc", "gic-ack-eoi", "sgi-self", "timer", "ipi"];

    public override string Name => "latency";
    public override IEnumerable<Metric> Metrics => Operations.Select(Of);

    private static Metric Of(string op) => new("latency", $"{op} p50", "ns");

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) => machine == BenchMachine.Jit
        ? (t.Jit, ["run", "--kernel", t.LatencyGuest!, "--smp", "2", "--timeout", "300"])
        : (t.Qemu!, [.. QemuVirt("512", 2), "-kernel", t.LatencyGuest!]);

    [GeneratedRegex(@"^latency (\S+) (?:mean=([0-9.]+) p50=([0-9.]+) p99=([0-9.]+) n=(\d+)|n/a)")]
    private static partial Regex LatencyLine();

    /// <summary>One line of the latency guest: the operation and its figures, or null figures for "n/a".</summary>
    public static (string Operation, double? Mean, double? P50, double? P99, int N)? ParseLine(string line)
    {
        var m = LatencyLine().Match(line);
        if (!m.Success) return null;
        if (!m.Groups[2].Success) return (m.Groups[1].Value, null, null, null, 0);
        static double D(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);
        return (m.Groups[1].Value, D(m.Groups[2]), D(m.Groups[3]), D(m.Groups[4]), int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture));
    }

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        var p50 = new Dictionary<string, double?>();
        foreach (var (_, line) in output)
            if (ParseLine(line) is { } l) p50[l.Operation] = l.P50;
        return Operations.Select(op => (Of(op), p50.GetValueOrDefault(op)));
    }
}

/// <summary>Runs one command, collecting its console lines with the time each appeared.</summary>
public static class BenchProcess
{
    public sealed record Result(bool Ok, string Why, IReadOnlyList<(double Seconds, string Line)> Lines);

    public static Result Run(string file, string[] args, string? doneMarker, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        var lines = new List<(double, string)>();
        var clock = Stopwatch.StartNew();
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new System.ComponentModel.Win32Exception($"cannot start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new Result(false, $"cannot start {file}: {e.Message}", []);
        }
        using var process = p;
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var reader = Task.Run(() =>
        {
            while (p.StandardOutput.ReadLine() is { } line)
            {
                // Timestamps are taken as lines arrive; a marker line is what a boot time is measured to.
                lock (lines) lines.Add((clock.Elapsed.TotalSeconds, line.TrimEnd('\r')));
            }
        });
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        reader.Wait();
        string err = stderr.Result;
        bool marked = doneMarker is null || lines.Any(l => l.Item2.Contains(doneMarker, StringComparison.Ordinal));
        if (!exited) return new Result(false, $"still running after {timeout.TotalSeconds:0} s", lines);
        if (!marked) return new Result(false, $"exit {p.ExitCode} without '{doneMarker}': {LastLine(err)}", lines);
        if (p.ExitCode != 0 && doneMarker is null) return new Result(false, $"exit {p.ExitCode}: {LastLine(err)}", lines);
        return new Result(true, "", lines);
    }

    private static string LastLine(string text) =>
        text.Trim() is { Length: > 0 } t ? t.Split('\n')[^1].Trim() : "nothing on its standard error";
}
