using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Jit.Hypervisor.Tests.Statistics;

/// <summary>
/// <c>jit top</c> attached to a jit that boots Linux, as a user would from a second terminal: the guest's
/// counters come over EventPipe from the other process.
/// </summary>
[Collection("linux")]
public class TopCommandTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SamplesALinuxBootInAnotherProcess()
    {
        string root = TestProcess.RepositoryRoot();
        string kernel = Script(root, "scripts/fetch-arm64.sh", "kernel");
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(cache, "initramfs-shell.cpio.gz"));
        // ./jit rebuilds a stale tool before running it; do that now, not in two processes at once below.
        Assert.Equal(0, TestProcess.Jit(["help"], TimeSpan.FromMinutes(5)).ExitCode);

        // The shell initramfs waits at its prompt with stdin open, so the guest outlives the sampling.
        var psi = new ProcessStartInfo(Path.Combine(root, "jit"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "run", "--kernel", kernel, "--initrd", initrd, "--timeout", "120" }) psi.ArgumentList.Add(a);
        using var guest = Process.Start(psi)!;
        try
        {
            var console = guest.StandardOutput.ReadToEndAsync();
            var log = guest.StandardError.ReadToEndAsync();
            var top = TestProcess.Jit(["top", "--samples", "2", guest.Id.ToString()], Patience);
            if (top.ExitCode != 0)
            {
                // What the guest was doing tells a hung target from one that died.
                bool exited = guest.HasExited;
                if (!exited) guest.Kill(entireProcessTree: true);
                await guest.WaitForExitAsync();
                string tail(string text) => text.Length > 2000 ? text[^2000..] : text;
                Assert.Fail($"jit top exited with {top.ExitCode}: {top.Stderr}\n{top.Stdout}\n" +
                            $"the guest had {(exited ? $"exited with {guest.ExitCode}" : "not exited")}; its stderr:\n{tail(await log)}\nconsole:\n{tail(await console)}");
            }

            var samples = Regex.Matches(top.Stdout, @"(?m)^\s*guest instructions\s+([\d,]+)");
            Assert.Equal(2, samples.Count);
            var counts = samples.Select(m => ulong.Parse(m.Groups[1].Value.Replace(",", ""))).ToList();
            Assert.True(counts[0] > 0, top.Stdout);
            Assert.True(counts[1] >= counts[0], top.Stdout);
            Assert.Matches(@"(?m)^\s*exits: mmio\s+[\d,]+", top.Stdout);
            Assert.Matches(@"(?m)^\s*guest MIPS\s+", top.Stdout);
        }
        finally
        {
            if (!guest.HasExited)
            {
                guest.Kill(entireProcessTree: true);
                guest.WaitForExit();
            }
        }
    }

    [Fact]
    public void RefusesAProcessThatIsNotAJit()
    {
        var gone = TestProcess.Jit(["top", "--once", "999999999"], Patience);
        Assert.Equal(2, gone.ExitCode);
        Assert.Contains("no process with id 999999999", gone.Stderr);

        var self = TestProcess.Jit(["top", "--once", Environment.ProcessId.ToString()], Patience);
        Assert.Equal(2, self.ExitCode);
        Assert.Contains("is not a jit process", self.Stderr);
    }

    private static string Script(string root, string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }
}
