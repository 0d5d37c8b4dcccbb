using System.Diagnostics;
using System.Text.Json;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// <c>jit disasm --pid</c> against a jit that runs Linux, as a user would from a second terminal: the running
/// process samples what its guest executes, lists the regions, and the guest carries on.
/// </summary>
[Collection("linux")]
public class DisasmLiveTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task ListsTheHotRegionsOfARunningGuestWhichThenCarriesOn()
    {
        using var guest = new ShellGuestProcess(TimeSpan.FromSeconds(150));
        string pid = guest.Id.ToString();
        if (!await guest.ReachesShell(Patience)) Assert.Fail($"no shell within {Patience.TotalSeconds} s: {await guest.Describe()}");

        var hot = TestProcess.Jit(["disasm", "--pid", pid, "--hot", "2", "--json"], Patience);
        if (hot.ExitCode != 0) Assert.Fail($"exit {hot.ExitCode}: {hot.Stderr}\n{await guest.Describe()}");
        using var doc = JsonDocument.Parse(hot.Stdout);
        Assert.Equal($"process {pid}", doc.RootElement.GetProperty("guest").GetString());
        var regions = doc.RootElement.GetProperty("regions").EnumerateArray().ToList();
        Assert.Equal(2, regions.Count);
        Assert.True(regions[0].GetProperty("entries").GetUInt64() >= regions[1].GetProperty("entries").GetUInt64());
        foreach (var r in regions)
        {
            Assert.StartsWith("0xffff", r.GetProperty("va").GetString());
            Assert.True(r.GetProperty("entries").GetUInt64() > 0, r.ToString());
            Assert.True(r.GetProperty("hostInstructions").GetInt32() >= r.GetProperty("guestInstructions").GetInt32(), r.ToString());
        }

        string va = regions[0].GetProperty("va").GetString()!;
        var at = TestProcess.Jit(["disasm", "--pid", pid, "--at", va, "--seconds", "2"], Patience);
        Assert.True(at.ExitCode == 0, $"exit {at.ExitCode}: {at.Stderr}");
        Assert.Contains($"  {va[2..]}:  ", at.Stdout);
        Assert.Contains("--- A64:", at.Stdout);
        Assert.Contains("--- IL:", at.Stdout);
        Assert.Contains("--- x86-64:", at.Stdout);

        // The inspection paused nothing for good: the shell still answers.
        await guest.Type("echo after-disasm-$((6*7))");
        var clock = Stopwatch.StartNew();
        while (!guest.Console().Contains("after-disasm-42") && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(100);
        Assert.Contains("after-disasm-42", guest.Console());

        // An orderly end takes the inspection socket with it.
        await guest.Type("poweroff -f");
        Assert.True(guest.Process.WaitForExit(TimeSpan.FromSeconds(30)), guest.Console());
        Assert.True(guest.Process.ExitCode == 0, await guest.Log);
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), $"jit-{pid}-inspect")));
    }
}
