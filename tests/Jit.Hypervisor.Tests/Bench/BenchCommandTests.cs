using System.Text.Json;
using System.Xml.Linq;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary><c>jit bench</c> end to end: one run of each workload on small sizes, on Jit and (when installed) QEMU.</summary>
public class BenchCommandTests
{
    [Fact]
    public void WritesTableJsonAndSvg()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"jit-bench-test-{Guid.NewGuid():N}");
        try
        {
            var r = TestProcess.Jit(["bench", "--runs", "1", "--only", "latency", "--out", dir], TimeSpan.FromSeconds(300));
            Assert.True(r.ExitCode == 0, $"jit bench exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");

            string md = File.ReadAllText(Path.Combine(dir, "bench.md"));
            Assert.Equal(md, r.Stdout);
            Assert.Contains("| workload | metric | unit | Jit median (min–max) | QEMU median (min–max) | Jit/QEMU |", md);
            Assert.Contains("| latency | hvc p50 | ns |", md);
            Assert.Contains("| latency | hvc/mmu p50 | ns |", md);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
            var root = json.RootElement;
            Assert.Equal(1, root.GetProperty("runs").GetInt32());
            bool withQemu = root.GetProperty("qemu").ValueKind == JsonValueKind.String;
            var results = root.GetProperty("results").EnumerateArray().ToList();
            // Every operation in both modes: MMU off, and on as an operating system runs (names ending in /mmu).
            int metrics = 2 * LatencyWorkload.Operations.Length;
            Assert.Equal(metrics, results.Count);
            foreach (var m in results)
            {
                Assert.Equal("latency", m.GetProperty("workload").GetString());
                Assert.Equal("ns", m.GetProperty("unit").GetString());
                var jit = m.GetProperty("jit");
                Assert.True(jit.GetProperty("samples").GetArrayLength() == 1, Failures(m));
                Assert.True(jit.GetProperty("median").GetDouble() >= 0);
                // QEMU's virt machine has no EL3: its SMC is UNDEFINED and has no ratio.
                if (withQemu && m.GetProperty("metric").GetString() is not ("smc p50" or "smc/mmu p50"))
                    Assert.True(Ratio(m) > 0);
            }

            // One ratio bar per metric that has a ratio; the others say they have none.
            var svg = XDocument.Load(Path.Combine(dir, "bench.svg"));
            XNamespace ns = "http://www.w3.org/2000/svg";
            Assert.Equal(ns + "svg", svg.Root!.Name);
            int ratios = results.Count(m => m.GetProperty("ratio").ValueKind == JsonValueKind.Number);
            Assert.Equal(ratios, svg.Descendants(ns + "rect").Count(e => (string?)e.Attribute("class") == "ratio"));
            Assert.Equal(metrics - ratios, svg.Descendants(ns + "text").Count(e => e.Value == "no ratio"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ShellWorkloadBootsTheBenchGuestOnEveryMachine()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"jit-bench-test-{Guid.NewGuid():N}");
        try
        {
            var r = TestProcess.Jit(["bench", "--runs", "1", "--only", "shell", "--shell-loops", "2000", "--out", dir], TimeSpan.FromSeconds(300));
            Assert.True(r.ExitCode == 0, $"jit bench exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
            Assert.Contains("| shell | sh while loop, 2000 iterations | s |", r.Stdout);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
            var root = json.RootElement;
            Assert.Equal(2000, root.GetProperty("shellLoops").GetInt32());
            // The other workloads' sizes are recorded even when they do not run: their defaults.
            Assert.Equal(64, root.GetProperty("cpuMegabytes").GetInt32());
            Assert.Equal(500, root.GetProperty("fsioFiles").GetInt32());
            Assert.Equal(1, root.GetProperty("smp").GetInt32());
            var result = Assert.Single(root.GetProperty("results").EnumerateArray());
            Assert.Equal("shell", result.GetProperty("workload").GetString());
            // A sample exists only when the guest's loop sum was right (ShellWorkload.Parse checks it).
            Assert.True(result.GetProperty("jit").GetProperty("samples").GetArrayLength() == 1, Failures(result));
            Assert.True(result.GetProperty("jit").GetProperty("median").GetDouble() > 0);
            if (root.GetProperty("qemu").ValueKind == JsonValueKind.String)
                Assert.True(Ratio(result) > 0);

            var svg = XDocument.Load(Path.Combine(dir, "bench.svg"));
            XNamespace ns = "http://www.w3.org/2000/svg";
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.StartsWith("shell: sh while loop", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void KernelWorkloadsRunOnEveryMachine()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"jit-bench-test-{Guid.NewGuid():N}");
        try
        {
            // find has no size (about 25 s on Jit); the others run small.
            var r = TestProcess.Jit(["bench", "--runs", "1", "--only", "find,forkexec,fsio,pipe",
                "--forkexec-loops", "50", "--fsio-files", "20", "--pipe-rounds", "50", "--out", dir], TimeSpan.FromSeconds(180));
            Assert.True(r.ExitCode == 0, $"jit bench exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
            Assert.Contains("| fsio | 20 files of 4 KiB in tmpfs: write, sync, read, delete | s |", r.Stdout);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
            var root = json.RootElement;
            Assert.Equal((50, 20, 50), (root.GetProperty("forkexecLoops").GetInt32(), root.GetProperty("fsioFiles").GetInt32(), root.GetProperty("pipeRounds").GetInt32()));
            var results = root.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(["find", "forkexec", "fsio", "pipe"], results.Select(m => m.GetProperty("workload").GetString()));
            bool withQemu = root.GetProperty("qemu").ValueKind == JsonValueKind.String;
            foreach (var m in results)
            {
                // A sample exists only when the guest's line passed its check (entries, size, sha256, token).
                Assert.True(m.GetProperty("jit").GetProperty("samples").GetArrayLength() == 1, Failures(m));
                if (withQemu) Assert.True(Ratio(m) > 0);
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The ratio of one result; a missing one fails the test with each machine's own error.</summary>
    private static double Ratio(JsonElement result)
    {
        var ratio = result.GetProperty("ratio");
        Assert.True(ratio.ValueKind == JsonValueKind.Number, $"no Jit/QEMU ratio: {Failures(result)}");
        return ratio.GetDouble();
    }

    private static string Failures(JsonElement result) =>
        $"{result.GetProperty("metric").GetString()}: " + string.Join("; ", new[] { "jit", "qemu" }.Select(machine =>
            $"{machine} failed {result.GetProperty(machine).GetProperty("missing").GetInt32()} run(s): " +
            string.Join(", ", result.GetProperty(machine).GetProperty("failures").EnumerateArray().Select(f => f.GetString()))));

    [Fact]
    public void HelpNamesEveryWorkloadAndTheDefaults()
    {
        var r = TestProcess.Jit(["bench", "--help"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(default boot,latency,cpu,shell)", r.Stdout);
        foreach (string w in new[] { "find", "forkexec", "fsio", "pipe" })
            Assert.Contains($"\n  {w} ", r.Stdout);
        Assert.Contains("(default 64)", r.Stdout);
        Assert.Contains("(default 20000)", r.Stdout);
        Assert.Contains("--forkexec-loops N  runs of /bin/true in the forkexec workload (default 1000)", r.Stdout);
        Assert.Contains("(default 500, at most 20000)", r.Stdout);
        Assert.Contains("(default 2000)", r.Stdout);
        Assert.Contains("--smp N", r.Stdout);
    }

    [Fact]
    public void RejectsAnUnknownWorkload()
    {
        var r = TestProcess.Jit(["bench", "--only", "boot,nonsense"], TimeSpan.FromSeconds(60));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown workload 'nonsense'", r.Stderr);
    }

    [Fact]
    public void RejectsMoreVcpusThanJitOffers()
    {
        var r = TestProcess.Jit(["bench", "--smp", "9"], TimeSpan.FromSeconds(60));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--smp must be between 1 and 8", r.Stderr);
    }
}
