using System.Text.RegularExpressions;
using Jit.Hypervisor.Tests.Linux;

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
        // The shell initramfs waits at its prompt with stdin open, so the guest outlives the sampling.
        using var guest = new ShellGuestProcess(TimeSpan.FromSeconds(120));
        var top = TestProcess.Jit(["top", "--samples", "2", guest.Id.ToString()], Patience);
        // What the guest was doing tells a hung target from one that died.
        if (top.ExitCode != 0) Assert.Fail($"jit top exited with {top.ExitCode}: {top.Stderr}\n{top.Stdout}\n{await guest.Describe()}");

        var samples = Regex.Matches(top.Stdout, @"(?m)^\s*guest instructions\s+([\d,]+)");
        Assert.Equal(2, samples.Count);
        var counts = samples.Select(m => ulong.Parse(m.Groups[1].Value.Replace(",", ""))).ToList();
        Assert.True(counts[0] > 0, top.Stdout);
        Assert.True(counts[1] >= counts[0], top.Stdout);
        Assert.Matches(@"(?m)^\s*exits: mmio\s+[\d,]+", top.Stdout);
        Assert.Matches(@"(?m)^\s*guest MIPS\s+", top.Stdout);
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
}
