using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Jit.Tool.Bench;
using Jit.Runtime;

using Jit.Hypervisor;
using Jit.Hypervisor.Config;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit bench</c>: the macro benchmarks side by side with qemu-system-aarch64, interleaved (Jit, QEMU, Jit,
/// QEMU, …) so both see the same load on a shared machine; medians, min–max and the Jit/QEMU ratio as a
/// Markdown table (stdout and DIR/bench.md), DIR/bench.json and DIR/bench.svg.
/// </summary>
internal static class BenchCommand
{
    public const string Usage = "jit bench [--out DIR] [--runs N] [--only LIST] [--smp N] [--cpu-mb N] [--shell-loops N] [--forkexec-loops N]\n" +
                                "          [--fsio-files N] [--pipe-rounds N] [--disk-mb N] [--tcp-mb N] [--no-qemu]";

    private const string Help = """
        Workloads:
          boot     Debian's arm64 kernel with the test initramfs: wall time from start to BOOT-OK
          latency  guests/sys/latency on two vCPUs: p50 of MMIO read/write, HVC (a known and an unknown
                   function), SMC, GIC ack+EOI, self-SGI, timer interrupt lateness and IPI round trip, timed
                   in the guest with CNTVCT; once with the MMU off and once with it on as an OS runs (the
                   names ending in /mmu)
          cpu      the bench initramfs: sha256sum and gzip -1 over N MiB of zeros, timed in the guest
          shell    the bench initramfs: a busybox sh while loop of N iterations of integer arithmetic,
                   timed in the guest
          find     the bench initramfs: find / over proc, sysfs and devtmpfs, timed in the guest
          forkexec the bench initramfs: a shell loop running /bin/true N times (fork + exec), timed in the guest
          fsio     the bench initramfs: N files of 4 KiB in a tmpfs written, synced, read back (checked by
                   sha256) and deleted, timed in the guest
          pipe     the bench initramfs: a token passed N times there and back between two shells through two
                   FIFOs, timed in the guest
          drm      Jit only, with --tee optee: Linux user space (the bench initramfs with the TEE modules and
                   guests/tee's tee-client) plays a 30 fps stream of 300 frames as a DRM player does, one
                   ~40 KiB video and three ~1 KiB audio samples per frame, each decrypted by one invoke of
                   the content-decryption TA: per-invoke p50/p99/max, the share of the 33.3 ms frame budget
                   spent in TEE calls, and the null invoke's p50; then guests/sys/tee-latency from EL1: the
                   p50 of the OP-TEE fast call and of a null yielding call; and guests/sys/ffa with --tee ffa:
                   the p50 of an FF-A direct request and response
          disk     the bench initramfs with the virtio modules: N MiB written to a virtio-blk disk and read
                   back with dd's direct I/O, 1 MiB a request, each pass timed in the guest; QEMU gets an
                   SMMUv3 as Jit has by default (iommu=smmuv3; modern virtio-pci with iommu_platform)
          tcp      the same image with guests/net/tcp-stream, on a host TAP (root): N MiB sent to a sink on
                   the host, then N MiB received from the host, each timed in the guest; both machines
                   attach to one TAP
          debian   Debian 12 from scripts/make-rootfs.sh (built on first use: root, about 7 minutes) booted
                   read-write from a virtio-blk disk with systemd on 1 GiB: wall time from start to the serial
                   console's login banner; each run boots a fresh copy of the image
        By default boot, latency, cpu and shell run, roughly 3 minutes for 5 runs on a 2-core machine. The
        kernel-heavy find, forkexec, fsio and pipe would add roughly 9 minutes at their default sizes (find
        alone is some 25 s a run on Jit), so they run only when named: --only find,forkexec,fsio,pipe; so do
        the device workloads disk and tcp, debian and drm.

          --out DIR     where bench.md, bench.json and bench.svg go (default bench-results)
          --runs N      runs per workload and machine (default 5; 3 for a quick look)
          --only LIST   a comma-separated list of the workloads (default boot,latency,cpu,shell)
          --smp N       vCPUs of the boot and in-guest workloads, on Jit and QEMU alike (default 1, at most 8;
                        the latency guest always has 2)
          --cpu-mb N    MiB of zeros for the cpu workload (default 64)
          --shell-loops N     iterations of the shell workload's loop (default 20000)
          --forkexec-loops N  runs of /bin/true in the forkexec workload (default 1000)
          --fsio-files N      files of the fsio workload (default 500, at most 20000)
          --pipe-rounds N     round trips of the pipe workload (default 2000)
          --disk-mb N   MiB the disk workload writes and reads (default 1024)
          --tcp-mb N    MiB the tcp workload sends and receives (default 256)
          --no-qemu     run Jit only (also when qemu-system-aarch64 is not installed)
        """;

    private static readonly string[] AllWorkloads = ["boot", "latency", "cpu", "shell", "find", "forkexec", "fsio", "pipe", "disk", "tcp", "debian", "drm"];
    private static readonly string[] DefaultWorkloads = ["boot", "latency", "cpu", "shell"];
    private static readonly string[] InGuestWorkloads = ["cpu", "shell", "find", "forkexec", "fsio", "pipe"];

    public static int Execute(string[] args, TextWriter stderr)
    {
        string outDir = "bench-results";
        int runs = 5, smp = 1;
        var sizes = BenchSizes.Default;
        bool noQemu = false;
        string[] only = DefaultWorkloads;
        for (int i = 0; i < args.Length; i++)
        {
            // Sizes beyond the maximum are taken as the maximum, as with --runs.
            int Size(string option, int max) => (int)Math.Min((ulong)max, Options.Count(option, Options.Value(args, ref i)));
            switch (args[i])
            {
                case "-h" or "--help":
                    System.Console.Out.WriteLine($"usage: {Usage}");
                    System.Console.Out.WriteLine();
                    System.Console.Out.WriteLine(Help);
                    return CommandLine.ExitCodes.Ok;
                case "--out": outDir = Options.Value(args, ref i); break;
                case "--runs": runs = Size("--runs", 1000); break;
                case "--smp":
                    // Jit's own limit (jit run --smp); QEMU's virt machine would take more.
                    ulong vcpus = Options.Count("--smp", Options.Value(args, ref i));
                    smp = vcpus <= VcpuTopology.MaxVcpus ? (int)vcpus : throw new UsageError($"--smp must be between 1 and {VcpuTopology.MaxVcpus}");
                    break;
                case "--cpu-mb": sizes = sizes with { CpuMegabytes = Size("--cpu-mb", 4096) }; break;
                case "--shell-loops": sizes = sizes with { ShellLoops = Size("--shell-loops", 100_000_000) }; break;
                case "--forkexec-loops": sizes = sizes with { ForkExecLoops = Size("--forkexec-loops", 10_000_000) }; break;
                case "--fsio-files": sizes = sizes with { FsioFiles = Size("--fsio-files", FsioWorkload.MaxFiles) }; break;
                case "--pipe-rounds": sizes = sizes with { PipeRounds = Size("--pipe-rounds", 100_000_000) }; break;
                case "--disk-mb": sizes = sizes with { DiskMegabytes = Size("--disk-mb", 65536) }; break;
                case "--tcp-mb": sizes = sizes with { TcpMegabytes = Size("--tcp-mb", 65536) }; break;
                case "--no-qemu": noQemu = true; break;
                case "--only":
                    only = Options.Value(args, ref i).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    foreach (string w in only)
                        if (!AllWorkloads.Contains(w)) throw new UsageError($"--only: unknown workload '{w}' (workloads: {string.Join(',', AllWorkloads)})");
                    if (only.Length == 0) throw new UsageError("--only needs at least one workload");
                    break;
                default: throw new UsageError($"unknown option {args[i]}");
            }
        }

        string root = BootCommand.RepositoryRoot() ?? throw new UsageError("cannot find the Jit repository (its scripts build the guests); run ./jit from a checkout");
        string jit = Path.Combine(AppContext.BaseDirectory, "jit");
        if (!File.Exists(jit)) { stderr.WriteLine($"jit bench: {jit} is missing; run through ./jit"); return CommandLine.ExitCodes.Failure; }
        string? qemu = noQemu ? null : FindOnPath("qemu-system-aarch64");
        if (!noQemu && qemu is null) stderr.WriteLine("jit bench: qemu-system-aarch64 not found; measuring Jit only");

        var workloads = new List<Workload>();
        string? kernel = null, testInitrd = null, benchInitrd = null, latency = null, latencyMmu = null;
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        bool inGuest = only.Intersect(InGuestWorkloads).Any();
        string? rootInitrd = null, debianImage = null;
        bool devices = only.Contains("disk") || only.Contains("tcp");
        if (only.Contains("boot") || inGuest || devices || only.Contains("debian") || only.Contains("drm"))
        {
            kernel = BootCommand.Script(root, stderr, "scripts/fetch-arm64.sh", "kernel");
            if (kernel is null) return CommandLine.ExitCodes.Failure;
        }
        if (only.Contains("boot"))
        {
            testInitrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "test", Path.Combine(cache, "initramfs-test.cpio.gz"));
            if (testInitrd is null) return CommandLine.ExitCodes.Failure;
            workloads.Add(new BootWorkload(smp));
        }
        if (only.Contains("latency"))
        {
            if (!Make(root, stderr, "latency")) return CommandLine.ExitCodes.Failure;
            latency = Path.Combine(root, "guests", "build", "sys-latency.elf");
            latencyMmu = Path.Combine(root, "guests", "build", "sys-latency-mmu.elf");
            workloads.Add(new LatencyWorkload(mmu: false));
            workloads.Add(new LatencyWorkload(mmu: true));
        }
        if (inGuest)
        {
            benchInitrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "bench", Path.Combine(cache, "initramfs-bench.cpio.gz"));
            if (benchInitrd is null) return CommandLine.ExitCodes.Failure;
            if (only.Contains("cpu")) workloads.Add(new CpuWorkload(sizes.CpuMegabytes, smp));
            if (only.Contains("shell")) workloads.Add(new ShellWorkload(sizes.ShellLoops, smp));
            if (only.Contains("find")) workloads.Add(new FindWorkload(smp));
            if (only.Contains("forkexec")) workloads.Add(new ForkExecWorkload(sizes.ForkExecLoops, smp));
            if (only.Contains("fsio")) workloads.Add(new FsioWorkload(sizes.FsioFiles, smp));
            if (only.Contains("pipe")) workloads.Add(new PipeWorkload(sizes.PipeRounds, smp));
        }
        if (only.Contains("debian"))
        {
            rootInitrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "rootfs", Path.Combine(cache, "initramfs-rootfs.cpio.gz"));
            debianImage = rootInitrd is null ? null : BootCommand.Script(root, stderr, "scripts/make-rootfs.sh", "raw");
            if (debianImage is null) return CommandLine.ExitCodes.Failure;
            workloads.Add(new DebianBootWorkload(smp));
        }
        string? teeBenchInitrd = null, teeLatency = null, ffa = null;
        if (only.Contains("drm"))
        {
            if (!Make(root, stderr, "tee") || !Make(root, stderr, "ffa")) return CommandLine.ExitCodes.Failure;
            teeLatency = Path.Combine(root, "guests", "build", "sys-tee-latency.elf");
            ffa = Path.Combine(root, "guests", "build", "sys-ffa.elf");
            teeBenchInitrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "bench", Path.Combine(cache, "initramfs-bench-tee.cpio.gz"),
                "--modules", "tee,optee,optee-rng", "--add", Path.Combine(root, "guests", "build", "tee-client"));
            if (teeBenchInitrd is null) return CommandLine.ExitCodes.Failure;
            workloads.Add(new DrmWorkload());
            workloads.Add(new TeeLatencyWorkload());
            workloads.Add(new TeeLatencyWorkload(TeeKind.Ffa));
        }
        string? ioBenchInitrd = null;
        if (devices)
        {
            if (!Make(root, stderr, "net")) return CommandLine.ExitCodes.Failure;
            ioBenchInitrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "bench", Path.Combine(cache, "initramfs-bench-io.cpio.gz"),
                "--modules", "virtio_pci,virtio_blk,virtio_net", "--add", Path.Combine(root, "guests", "build", "tcp-stream"));
            if (ioBenchInitrd is null) return CommandLine.ExitCodes.Failure;
            if (only.Contains("disk")) workloads.Add(new DiskWorkload(sizes.DiskMegabytes));
            if (only.Contains("tcp"))
            {
                if (TcpWorkload.Create(sizes.TcpMegabytes, out string? why) is not { } tcp)
                {
                    stderr.WriteLine($"jit bench: tcp needs a host TAP interface (root and iproute2): {why}");
                    foreach (var w in workloads) (w as IDisposable)?.Dispose();
                    return CommandLine.ExitCodes.Failure;
                }
                workloads.Add(tcp);
            }
        }
        var tools = new BenchTools(jit, qemu, kernel, testInitrd, benchInitrd, latency, latencyMmu, rootInitrd, debianImage, teeBenchInitrd, teeLatency, ffa, ioBenchInitrd);
        var machines = qemu is null ? new[] { BenchMachine.Jit } : [BenchMachine.Jit, BenchMachine.Qemu];

        var results = new List<MetricResult>();
        var byMetric = new Dictionary<Metric, MetricResult>();
        foreach (var w in workloads)
            foreach (var m in w.Metrics)
                results.Add(byMetric[m] = new MetricResult(m));

        for (int run = 1; run <= runs; run++)
        {
            foreach (var w in workloads)
            {
                foreach (var machine in machines)
                {
                    if (!w.RunsOn(machine)) continue;
                    w.Prepare(machine, tools);
                    var (file, argv) = w.Command(machine, tools);
                    var r = BenchProcess.Run(file, argv, w.DoneMarker, TimeSpan.FromMinutes(30), w.StopAtMarker);
                    var values = r.Ok ? w.Parse(r.Lines).ToList() : w.Metrics.Select(m => (m, (double?)null)).ToList();
                    foreach (var (metric, value) in values)
                    {
                        if (!byMetric.TryGetValue(metric, out var mr)) continue;
                        if (r.Ok) mr.Of(machine).Add(value);
                        else mr.Of(machine).Fail(r.Why);
                    }
                    string summary = r.Ok
                        ? string.Join(", ", values.Where(v => v.Item2 is not null).Take(3).Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Item1.Name} {v.Item2:0.###} {v.Item1.Unit}")))
                        : $"FAILED: {r.Why}";
                    stderr.WriteLine($"jit bench: run {run}/{runs} {w.Name} on {machine}: {summary}");
                }
            }
        }

        foreach (var w in workloads) (w as IDisposable)?.Dispose();
        var context = new BenchContext(DateTimeOffset.UtcNow, runs, HostDescription(), GitDescription(root), qemu is null ? null : QemuVersion(qemu), smp, sizes);
        string md = BenchReport.Markdown(context, results);
        try
        {
            Directory.CreateDirectory(outDir);
            File.WriteAllText(Path.Combine(outDir, "bench.md"), md);
            File.WriteAllText(Path.Combine(outDir, "bench.json"), BenchReport.Json(context, results));
            File.WriteAllText(Path.Combine(outDir, "bench.svg"), BenchReport.Svg(context, results));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"jit bench: {outDir}: cannot be written: {e.Message}");
            return CommandLine.ExitCodes.Failure;
        }
        System.Console.Out.Write(md);
        bool anyFailed = results.Any(r => r.Jit.Samples.Count == 0);
        return anyFailed ? CommandLine.ExitCodes.Failure : CommandLine.ExitCodes.Ok;
    }

    private static bool Make(string root, TextWriter stderr, string target)
    {
        var (code, output) = Capture("make", "-s", "-C", Path.Combine(root, "guests"), target);
        if (code == 0) return true;
        stderr.WriteLine($"jit bench: make -C guests {target} failed (exit {code}):\n{output}");
        return false;
    }

    private static (int Code, string Output) Capture(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + err.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static string QemuVersion(string qemu)
    {
        var (code, output) = Capture(qemu, "--version");
        return code == 0 ? output.Split('\n')[0].Trim() : "unknown version";
    }

    private static string GitDescription(string root)
    {
        var (code, output) = Capture("git", "-C", root, "describe", "--always", "--dirty");
        return code == 0 ? output.Trim() : "unknown commit";
    }

    private static string HostDescription()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        return $"{Environment.ProcessorCount} × {cpu}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
