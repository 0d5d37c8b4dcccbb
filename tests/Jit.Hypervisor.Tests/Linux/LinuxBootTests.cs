using System.Text.RegularExpressions;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// Debian's arm64 kernel booted by the jit tool, as a user would: the test initramfs prints BOOT-OK and powers
/// off; the shell initramfs answers commands piped to the console. The guest comes through the project's own
/// scripts (scripts/fetch-arm64.sh, guests/initramfs/build.sh).
/// </summary>
[Collection("linux")]
public class LinuxBootTests
{
    private static readonly Lazy<(string Root, string Kernel, string Initrd)> guest = new(Prepare);

    private static (string, string, string) Prepare()
    {
        string root = TestProcess.RepositoryRoot();
        string kernel = Script(root, "scripts/fetch-arm64.sh", "kernel");
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        string initrd = Script(root, "guests/initramfs/build.sh", "test", Path.Combine(cache, "initramfs-test.cpio.gz"));
        return (root, kernel, initrd);
    }

    private static string Script(string root, string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }

    private static (int Rc, string Out, string Err) Exec(string file, string[] args, string? input, TimeSpan limit)
    {
        var r = TestProcess.Run(file, args, limit, input);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    private static (int Rc, string Out, string Err) Boot(params string[] extra)
    {
        var (root, kernel, initrd) = guest.Value;
        string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300", .. extra];
        return Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
    }

    private static void AssertCleanKernelLog(string log)
    {
        foreach (var bad in new[] { "Oops", "BUG", "WARNING", "Unhandled", "undefined instruction", "Kernel panic" })
            Assert.False(Regex.IsMatch(log, $@"^\[.*\].*{Regex.Escape(bad)}", RegexOptions.Multiline), $"kernel log has a '{bad}' line:\n{log}");
    }

    [Fact]
    public void UniprocessorBootReachesUserSpaceAndPowersOff()
    {
        var (rc, log, err) = Boot();
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Contains("BOOT-OK", log);
        AssertCleanKernelLog(log);
        Assert.Contains("ttyAMA0 at MMIO 0x22000000", log);
        Assert.Matches(@"GICv3: \d+ SPIs implemented", log);
        Assert.Contains("arch_timer: cp15 timer(s) running at 62.50MHz (virt)", log);
        Assert.Contains("rtc-pl031 22010000.pl031: registered as rtc0", log);
    }

    /// <summary>
    /// In instruction-count time, with tier 1 compiling on the vCPU's thread, two boots retire exactly the same
    /// instructions and print exactly the same log. About 10 s a boot here.
    /// </summary>
    [Fact]
    public void InstructionCountBootsRetireTheSameInstructions()
    {
        // A private initramfs: the shared one in the cache may be rebuilt by another checkout between the two
        // boots, and a rebuild of a different build.sh may change file times the guest sees.
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-icount-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "test", Path.Combine(dir, "initramfs-test.cpio.gz"));
            string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300",
                "--icount", "--jit", "tier1=sync"];
            var (rc1, log1, err1) = Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
            var (rc2, log2, err2) = Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
            Assert.True(rc1 == 0, $"exit {rc1}: {err1}\n{log1}");
            Assert.True(rc2 == 0, $"exit {rc2}: {err2}\n{log2}");
            Assert.Contains("BOOT-OK", log1);
            AssertCleanKernelLog(log1);
            Assert.Equal(log1, log2);
            Assert.Equal(Instructions(err1), Instructions(err2));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string Instructions(string stderr)
    {
        var m = Regex.Match(stderr, @"jit: ([\d,]+) instructions in");
        Assert.True(m.Success, $"no instruction count in: {stderr}");
        return m.Groups[1].Value;
    }

    [Fact]
    public void TwoVcpusComeUpThroughPsci()
    {
        var (rc, log, err) = Boot("--smp", "2");
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Contains("SMP: Total of 2 processors activated", log);
        Assert.Contains("BOOT-OK", log);
        AssertCleanKernelLog(log);
    }

    [Fact]
    public void ShellAnswersCommandsPipedToTheConsole()
    {
        var (root, _, _) = guest.Value;
        var (rc, log, err) = Exec(Path.Combine(root, "jit"), ["boot", "--timeout", "300"], "echo hi-from-shell\npoweroff -f\n", TimeSpan.FromMinutes(6));
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Matches(@"(?m)^hi-from-shell\r?$", log);
    }

    [Fact]
    public void MalformedGuestFilesGetOneLineErrors()
    {
        var (root, kernel, initrd) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-bad-").FullName;
        try
        {
            string truncated = Path.Combine(dir, "truncated-Image");
            File.WriteAllBytes(truncated, File.ReadAllBytes(kernel)[..40]);
            string text = Path.Combine(dir, "notes.txt");
            File.WriteAllText(text, string.Concat(Enumerable.Repeat("this text file is neither a kernel nor an initramfs\n", 8)));
            string badDtb = Path.Combine(dir, "bad.dtb");
            File.WriteAllText(badDtb, "not a device tree");
            string jit = Path.Combine(root, "jit");
            foreach (var (args, file, problem) in new[]
            {
                (new[] { "run", "--kernel", truncated }, truncated, "truncated"),
                (new[] { "run", "--kernel", text }, text, "not an arm64 Linux Image"),
                (new[] { "run", "--kernel", kernel, "--initrd", text }, text, "not an initramfs"),
                (new[] { "run", "--kernel", kernel, "--initrd", initrd, "--dtb", badDtb }, badDtb, "not a flattened device tree"),
                (new[] { "run", "--kernel", Path.Combine(dir, "missing") }, Path.Combine(dir, "missing"), "no such file"),
            })
            {
                var (rc, _, err) = Exec(jit, args, null, TimeSpan.FromMinutes(2));
                Assert.Equal(2, rc);
                string line = err.Trim();
                Assert.DoesNotContain("\n", line);
                Assert.Contains(file, line);
                Assert.Contains(problem, line);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
