using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

using Jit.Hypervisor;
using Jit.Hypervisor.Config;

namespace Jit.Tool.Bench;

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

    /// <summary>Whether the process is stopped at <see cref="DoneMarker"/> (a guest that would run on) rather than left to exit.</summary>
    public virtual bool StopAtMarker => false;

    /// <summary>Whether the workload can run on <paramref name="machine"/>; one that cannot is left out there, not failed.</summary>
    public virtual bool RunsOn(BenchMachine machine) => true;

    /// <summary>Called before each run on <paramref name="machine"/>: what the run consumes is made fresh here, untimed.</summary>
    public virtual void Prepare(BenchMachine machine, BenchTools tools) { }

    /// <summary>Debian's kernel with <paramref name="initrd"/> on <paramref name="smp"/> vCPUs and 512 MiB, on either machine.</summary>
    protected static (string File, string[] Args) LinuxGuest(BenchMachine machine, BenchTools t, string initrd, string append, int smp, int timeoutSeconds)
    {
        string vcpus = smp.ToString(CultureInfo.InvariantCulture);
        return machine == BenchMachine.Jit
            ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", initrd, "--append", append, "--smp", vcpus, "--timeout", timeoutSeconds.ToString(CultureInfo.InvariantCulture)])
            : (t.Qemu!, [.. QemuVirt("512", smp), "-kernel", t.Kernel!, "-initrd", initrd, "-append", append]);
    }

    // -nic none: the virt machine's default NIC needs an option ROM from a package that is only a Recommends of
    // QEMU's; a workload that wants a network adds its own (with romfile= empty).
    protected static string[] QemuVirt(string mem, int smp, string machine = "virt,gic-version=3") =>
        ["-M", machine, "-cpu", "cortex-a57", "-m", mem, "-smp", smp.ToString(CultureInfo.InvariantCulture), "-nographic", "-no-reboot", "-nic", "none"];
}

/// <summary>
/// Paths of everything the workloads run: the jit executable, qemu-system-aarch64 (or null), the guests (the
/// latency guest in both of its modes, MMU off and on).
/// </summary>
public sealed record BenchTools(string Jit, string? Qemu, string? Kernel, string? TestInitrd, string? BenchInitrd, string? LatencyGuest, string? LatencyMmuGuest = null,
    string? RootInitrd = null, string? DebianImage = null, string? TeeBenchInitrd = null, string? TeeLatencyGuest = null, string? FfaGuest = null, string? IoBenchInitrd = null);

/// <summary>
/// Debian 12 (scripts/make-rootfs.sh) booted read-write from a virtio-blk disk with systemd, on 1 GiB: wall time
/// from start to the serial getty's banner, the line it prints just before <c>login:</c>. Each run boots a fresh
/// sparse copy of the image, since a boot writes to it (journal, machine state), on Jit and QEMU alike.
/// </summary>
public sealed class DebianBootWorkload(int smp = 1) : Workload, IDisposable
{
    private static readonly Metric Login = new("debian", "start to the login prompt", "s");
    private const string Banner = "Debian GNU/Linux 12 jit ttyAMA0";

    private readonly string copy = Path.Combine(Path.GetTempPath(), $"jit-bench-debian-{Environment.ProcessId}.raw");

    public override string Name => "debian";
    public override IEnumerable<Metric> Metrics => [Login];
    public override string? DoneMarker => Banner;
    public override bool StopAtMarker => true;

    public override void Prepare(BenchMachine machine, BenchTools t)
    {
        using var cp = Process.Start(new ProcessStartInfo("cp", ["--sparse=always", "-f", t.DebianImage!, copy]))!;
        cp.WaitForExit();
        if (cp.ExitCode != 0) throw new IOException($"cp {t.DebianImage} {copy} failed (exit {cp.ExitCode})");
    }

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t)
    {
        const string append = "console=ttyAMA0 root=/dev/vda rw";
        string vcpus = smp.ToString(CultureInfo.InvariantCulture);
        return machine == BenchMachine.Jit
            ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.RootInitrd!, "--append", append, "--smp", vcpus, "--mem", "1G",
                "--disk", copy, "--timeout", "900"])
            : (t.Qemu!, [.. QemuVirt("1G", smp), "-kernel", t.Kernel!, "-initrd", t.RootInitrd!, "-append", append,
                "-drive", $"if=none,file={copy},format=raw,id=d", "-device", "virtio-blk-pci,drive=d"]);
    }

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        foreach (var (seconds, line) in output)
            if (line.Contains(Banner, StringComparison.Ordinal)) return [(Login, seconds)];
        return [(Login, null)];
    }

    public void Dispose() => File.Delete(copy);
}

/// <summary>Wall time from process start to BOOT-OK of Debian's kernel with the test initramfs (perf/boot-time.sh).</summary>
public sealed class BootWorkload(int smp = 1) : Workload
{
    private static readonly Metric Boot = new("boot", "start to BOOT-OK", "s");

    public override string Name => "boot";
    public override IEnumerable<Metric> Metrics => [Boot];
    public override string? DoneMarker => "BOOT-OK";

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) =>
        LinuxGuest(machine, t, t.TestInitrd!, "console=ttyAMA0 panic=-1", smp, timeoutSeconds: 600);

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        foreach (var (seconds, line) in output)
            if (line.Contains("BOOT-OK", StringComparison.Ordinal)) return [(Boot, seconds)];
        return [(Boot, null)];
    }
}

/// <summary>
/// One workload of the bench initramfs (guests/initramfs/init-bench): Debian's kernel boots it with
/// <c>benchrun=NAME</c> and the workload's size on its command line, and the guest times the work itself from
/// /proc/uptime, so boot time does not count.
/// </summary>
public abstract class InGuestWorkload(int smp) : Workload
{
    public override string? DoneMarker => "BENCH-DONE";

    /// <summary>The kernel command-line parameters of the workload's size (<c>benchmb=64</c>), or "".</summary>
    protected abstract string SizeArguments { get; }

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) =>
        LinuxGuest(machine, t, t.BenchInitrd!, $"console=ttyAMA0 panic=-1 benchrun={Name} {SizeArguments}".TrimEnd(), smp, timeoutSeconds: 1800);

    /// <summary>The guest's first <c>bench NAME ...</c> line, or null when it printed none.</summary>
    protected static BenchLine? LineOf(IReadOnlyList<(double Seconds, string Line)> output, string name)
    {
        foreach (var (_, line) in output)
            if (BenchLine.Parse(line) is { } l && l.Name == name) return l;
        return null;
    }
}

/// <summary>
/// An in-guest workload with one figure: the seconds of its <c>bench NAME ... seconds=S ...</c> line, taken only
/// when the rest of the line shows the guest did the work asked of it, so a run that went wrong counts as failed
/// rather than fast.
/// </summary>
public abstract class TimedInGuestWorkload(int smp) : InGuestWorkload(smp)
{
    protected abstract Metric Timed { get; }

    public override IEnumerable<Metric> Metrics => [Timed];

    /// <summary>Whether the line is of this workload's size and its check figure is right.</summary>
    protected abstract bool IsRight(BenchLine line);

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output) =>
        [(Timed, LineOf(output, Name) is { } l && IsRight(l) ? l.Number("seconds") : null)];
}

/// <summary>
/// One <c>bench NAME key=value ...</c> line of the bench initramfs, e.g.
/// <c>bench shell loops=20000 seconds=0.70 sum=667472</c>. Whatever follows the last field (a kernel message
/// that reached the console in the middle of the line) is left out.
/// </summary>
public sealed partial record BenchLine(string Name, IReadOnlyDictionary<string, string> Fields)
{
    [GeneratedRegex(@"^bench (?<name>[a-z0-9]+)(?: (?<key>[a-z][a-z0-9]*)=(?<value>\S+))*")]
    private static partial Regex Syntax();

    public static BenchLine? Parse(string line)
    {
        var m = Syntax().Match(line);
        if (!m.Success) return null;
        var fields = new Dictionary<string, string>();
        for (int i = 0; i < m.Groups["key"].Captures.Count; i++)
            fields[m.Groups["key"].Captures[i].Value] = m.Groups["value"].Captures[i].Value;
        return new BenchLine(m.Groups["name"].Value, fields);
    }

    public string? Text(string key) => Fields.GetValueOrDefault(key);

    public long? Integer(string key) =>
        long.TryParse(Text(key), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;

    public double? Number(string key) =>
        double.TryParse(Text(key), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) ? v : null;
}

/// <summary>CPU work inside the Linux guest: sha256sum and gzip -1 over MiB of zeros.</summary>
public sealed class CpuWorkload(int megabytes, int smp = 1) : InGuestWorkload(smp)
{
    public const int DefaultMegabytes = 64;

    private readonly Metric sha256 = new("cpu", $"sha256sum {megabytes} MiB", "s");
    private readonly Metric gzip = new("cpu", $"gzip -1 {megabytes} MiB", "s");

    public override string Name => "cpu";
    public override IEnumerable<Metric> Metrics => [sha256, gzip];
    protected override string SizeArguments => $"benchmb={megabytes}";

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        double? Seconds(string name) => LineOf(output, name) is { } l && l.Integer("mb") == megabytes ? l.Number("seconds") : null;
        return [(sha256, Seconds("sha256")), (gzip, Seconds("gzip"))];
    }
}

/// <summary>
/// The busybox shell's own interpreter inside the Linux guest: a <c>while</c> loop of integer arithmetic with no
/// process started in it. Where the cpu workload is a few hot loops, this is a large interpreter's dispatch over
/// many branches, closer to what boot scripts do. The guest prints the loop's sum, checked here.
/// </summary>
public sealed class ShellWorkload(int loops, int smp = 1) : TimedInGuestWorkload(smp)
{
    public const int DefaultLoops = 20_000;

    public override string Name => "shell";
    protected override Metric Timed { get; } = new("shell", $"sh while loop, {loops} iterations", "s");
    protected override string SizeArguments => $"benchloops={loops}";

    protected override bool IsRight(BenchLine line) => line.Integer("loops") == loops && line.Integer("sum") == ExpectedSum(loops);

    /// <summary>What the guest's loop computes.</summary>
    public static long ExpectedSum(int loops)
    {
        long sum = 0;
        for (int i = 0; i < loops; i++) sum = (sum * 31 + i) % 1_000_003;
        return sum;
    }
}

/// <summary>
/// The kernel's VFS: <c>find /</c> over proc, sysfs and devtmpfs, readdir and lstat of directories the kernel
/// generates as they are read. How many entries there are depends on the kernel and the vCPUs, so the only
/// check is that find printed some.
/// </summary>
public sealed class FindWorkload(int smp = 1) : TimedInGuestWorkload(smp)
{
    public override string Name => "find";
    protected override Metric Timed { get; } = new("find", "find / over proc, sysfs, devtmpfs", "s");
    protected override string SizeArguments => "";

    protected override bool IsRight(BenchLine line) => line.Integer("entries") > 0;
}

/// <summary>Process creation: a shell loop running <c>/bin/true</c> (busybox through its applet symlink).</summary>
public sealed class ForkExecWorkload(int loops, int smp = 1) : TimedInGuestWorkload(smp)
{
    public const int DefaultLoops = 1000;

    public override string Name => "forkexec";
    protected override Metric Timed { get; } = new("forkexec", $"fork+exec of /bin/true, {loops} times", "s");
    protected override string SizeArguments => $"benchforks={loops}";

    protected override bool IsRight(BenchLine line) => line.Integer("loops") == loops;
}

/// <summary>
/// Small-file traffic in a tmpfs: create and write files of 4 KiB, sync, read all back, delete them. The guest
/// prints the sha256 of what it read back, checked against <see cref="ExpectedSum"/>.
/// </summary>
public sealed class FsioWorkload(int files, int smp = 1) : TimedInGuestWorkload(smp)
{
    public const int DefaultFiles = 500;
    /// <summary>With 4 KiB each, this many files fill 80 MiB of the tmpfs, which gets half of the guest's 512 MiB.</summary>
    public const int MaxFiles = 20_000;
    private const int FileSize = 4096;

    public override string Name => "fsio";
    protected override Metric Timed { get; } = new("fsio", $"{files} files of 4 KiB in tmpfs: write, sync, read, delete", "s");
    protected override string SizeArguments => $"benchfiles={files}";

    protected override bool IsRight(BenchLine line) => line.Integer("files") == files && line.Text("sum") == ExpectedSum(files);

    /// <summary>
    /// The sha256 (lowercase hex) of the files read back in name order: file I is named 100000 + I and holds its
    /// name, 'x' up to 4095 bytes and a newline.
    /// </summary>
    public static string ExpectedSum(int files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var content = new byte[FileSize];
        for (int i = 0; i < files; i++)
        {
            string name = (100_000 + i).ToString(CultureInfo.InvariantCulture);
            System.Text.Encoding.ASCII.GetBytes(name, content);
            content.AsSpan(name.Length, FileSize - 1 - name.Length).Fill((byte)'x');
            content[^1] = (byte)'\n';
            sha.AppendData(content);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>
/// Pipe round trips between two processes, two shells joined by two FIFOs: one writes a token, the other adds
/// one and writes it back, so each round is two writes, byte-at-a-time reads and two context switches. The
/// guest prints the final token, 2 × rounds when no round was lost.
/// </summary>
public sealed class PipeWorkload(int rounds, int smp = 1) : TimedInGuestWorkload(smp)
{
    public const int DefaultRounds = 2000;

    public override string Name => "pipe";
    protected override Metric Timed { get; } = new("pipe", $"FIFO ping-pong, {rounds} round trips", "s");
    protected override string SizeArguments => $"benchrounds={rounds}";

    protected override bool IsRight(BenchLine line) => line.Integer("rounds") == rounds && line.Integer("token") == 2L * rounds;
}

/// <summary>
/// The latency guest (guests/sys/latency) with two vCPUs: its p50 per operation. The guest prints mean, p50
/// and p99; the median over runs of the p50 is the figure least disturbed by a busy host. Two modes, two ELFs
/// built from the same source: with the MMU and caches off (sys-latency.elf, operations by their plain names)
/// and with them on as an operating system runs (sys-latency-mmu.elf, every name followed by <c>/mmu</c>).
/// </summary>
public sealed partial class LatencyWorkload(bool mmu = false) : Workload
{
    /// <summary>The operations the guest measures, in its order, by their MMU-off names.</summary>
    public static readonly string[] Operations =
        ["counter-read", "mmio-read", "mmio-write", "hvc", "hvc-unknown", "smc", "gic-ack-eoi", "sgi-self", "timer", "timer-busy", "ipi"];

    /// <summary>The suffix of every operation's name in the MMU-on mode.</summary>
    public const string MmuSuffix = "/mmu";

    /// <summary>The operations as this mode's guest names them.</summary>
    public IReadOnlyList<string> Names { get; } = mmu ? [.. Operations.Select(op => op + MmuSuffix)] : Operations;

    public override string Name => mmu ? "latency" + MmuSuffix : "latency";
    public override IEnumerable<Metric> Metrics => Names.Select(Of);

    // Both modes are one workload in the report: the metric names tell them apart.
    private static Metric Of(string op) => new("latency", $"{op} p50", "ns");

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t)
    {
        string elf = (mmu ? t.LatencyMmuGuest : t.LatencyGuest) ?? throw new InvalidOperationException($"no latency guest for {Name}");
        return machine == BenchMachine.Jit
            ? (t.Jit, ["run", "--kernel", elf, "--smp", "2", "--timeout", "300"])
            : (t.Qemu!, [.. QemuVirt("512", 2), "-kernel", elf]);
    }

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
        return Names.Select(op => (Of(op), p50.GetValueOrDefault(op)));
    }
}

/// <summary>
/// A DRM player's TEE calls from Linux user space, on Jit with <c>--tee optee</c> only (QEMU's virt machine has
/// no OP-TEE here): the bench initramfs with the TEE modules and guests/tee's tee-client runs
/// <c>tee-client null</c> and <c>tee-client drm FRAMES</c>, which time each invoke with CLOCK_MONOTONIC. Reported:
/// the per-invoke round trip of the stream's decrypts (p50, p99, max), the share of the 33.3 ms frame budget
/// spent in TEE calls, and the null invoke's p50. A run counts only when all invokes were made and the stream's
/// checksum is the host's (<see cref="DrmStream"/>).
/// </summary>
public sealed class DrmWorkload(int frames = DrmWorkload.DefaultFrames, int nulls = DrmWorkload.DefaultNulls) : Workload
{
    public const int DefaultFrames = 300;
    public const int DefaultNulls = 1000;

    private readonly Metric p50 = new("drm", $"decrypt invoke p50, {frames} frames", "µs");
    private readonly Metric p99 = new("drm", "decrypt invoke p99", "µs");
    private readonly Metric max = new("drm", "decrypt invoke max", "µs");
    private readonly Metric video = new("drm", "video sample (36–44 KiB) invoke p50", "µs");
    private readonly Metric audio = new("drm", "audio sample (~1 KiB) invoke p50", "µs");
    private readonly Metric budget = new("drm", "frame budget in TEE calls", "%");
    private readonly Metric nullP50 = new("drm", "null invoke p50", "µs");
    private readonly Lazy<string> checksum = new(() => DrmStream.Checksum(frames, Jit.SecureWorld.TrustedApplications.ContentKeys.Test.Key(DrmStream.Key)));

    public override string Name => "drm";
    public override IEnumerable<Metric> Metrics => [p50, p99, max, video, audio, budget, nullP50];
    public override string? DoneMarker => "BENCH-DONE";
    public override bool RunsOn(BenchMachine machine) => machine == BenchMachine.Jit;

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) =>
        (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.TeeBenchInitrd!, "--tee", "optee", "--timeout", "600",
            "--append", $"console=ttyAMA0 panic=-1 benchrun=drm benchframes={frames} benchnulls={nulls}"]);

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        BenchLine? drm = null, zero = null;
        foreach (var (_, line) in output)
            if (BenchLine.Parse(line) is { } l)
            {
                if (l.Name == "drm") drm ??= l;
                else if (l.Name == "null") zero ??= l;
            }
        bool right = drm is not null && drm.Integer("invokes") == (long)frames * DrmStream.SamplesPerFrame && drm.Text("checksum") == checksum.Value;
        double? Of(string key) => right ? drm!.Number(key) : null;
        double? share = right && double.TryParse(drm!.Text("budget")?.TrimEnd('%'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double b) ? b : null;
        double? nullP = zero is not null && zero.Integer("invokes") == nulls ? zero.Number("p50us") : null;
        return [(p50, Of("p50us")), (p99, Of("p99us")), (max, Of("maxus")), (video, Of("videop50us")), (audio, Of("audiop50us")),
            (budget, share), (nullP50, nullP)];
    }
}

/// <summary>
/// A bare-metal TEE guest on Jit, timing round trips from EL1 with no operating system: guests/sys/tee-latency with
/// <c>--tee optee</c>, the p50 of the OP-TEE fast call (CALLS_UID) and of a null yielding call (CALL_WITH_ARG
/// invoking the echo TA's null command); or, with <c>--tee ffa</c>, guests/sys/ffa, the p50 of an FF-A direct
/// request to the secure partition and its response.
/// </summary>
public sealed class TeeLatencyWorkload(TeeKind tee = TeeKind.Optee) : Workload
{
    private string[] Operations => tee == TeeKind.Ffa ? ["ffa-direct"] : ["tee-fast", "tee-null"];

    private static Metric Of(string op) => new("drm", $"bare-metal {op} p50", "ns");

    public override string Name => tee == TeeKind.Ffa ? "ffa-latency" : "tee-latency";
    public override IEnumerable<Metric> Metrics => Operations.Select(Of);
    public override bool RunsOn(BenchMachine machine) => machine == BenchMachine.Jit;

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t) => tee == TeeKind.Ffa
        ? (t.Jit, ["run", "--kernel", t.FfaGuest!, "--tee", "ffa", "--timeout", "300"])
        : (t.Jit, ["run", "--kernel", t.TeeLatencyGuest!, "--tee", "optee", "--timeout", "300"]);

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        var p50 = new Dictionary<string, double?>();
        foreach (var (_, line) in output)
            if (LatencyWorkload.ParseLine(line) is { } l) p50[l.Operation] = l.P50;
        return Operations.Select(op => (Of(op), p50.GetValueOrDefault(op)));
    }
}

/// <summary>Runs one command, collecting its console lines with the time each appeared.</summary>
public static class BenchProcess
{
    public sealed record Result(bool Ok, string Why, IReadOnlyList<(double Seconds, string Line)> Lines);

    /// <param name="stopAtMarker">Stop the process once <paramref name="doneMarker"/> has been printed instead of waiting for it to exit.</param>
    public static Result Run(string file, string[] args, string? doneMarker, TimeSpan timeout, bool stopAtMarker = false)
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
        using var marked = new ManualResetEventSlim();
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
                if (stopAtMarker && doneMarker is not null && line.Contains(doneMarker, StringComparison.Ordinal)) marked.Set();
            }
        });
        bool exited = stopAtMarker ? WaitForExitOrMarker(p, marked, timeout) : p.WaitForExit(timeout);
        if (!exited || (stopAtMarker && !p.HasExited))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        reader.Wait();
        string err = stderr.Result;
        bool sawMarker = doneMarker is null || lines.Any(l => l.Item2.Contains(doneMarker, StringComparison.Ordinal));
        if (stopAtMarker && sawMarker) return new Result(true, "", lines);
        if (!exited) return new Result(false, $"still running after {timeout.TotalSeconds:0} s", lines);
        if (!sawMarker) return new Result(false, $"exit {p.ExitCode} without '{doneMarker}': {LastLine(err)}", lines);
        if (p.ExitCode != 0 && doneMarker is null) return new Result(false, $"exit {p.ExitCode}: {LastLine(err)}", lines);
        return new Result(true, "", lines);
    }

    /// <summary>Waits until the process exits or the marker is seen; false only at the timeout.</summary>
    private static bool WaitForExitOrMarker(Process p, ManualResetEventSlim marked, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (marked.Wait(100) || p.HasExited) return true;
        }
        return false;
    }

    private static string LastLine(string text) =>
        text.Trim() is { Length: > 0 } t ? t.Split('\n')[^1].Trim() : "nothing on its standard error";
}
