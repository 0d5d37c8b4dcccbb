using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Jit.Hypervisor.Tests.SystemGuests;

/// <summary>
/// guests/sys/ffa, an FF-A 1.1 driver at EL1, against the modelled SPMC through the FF-A mediator
/// (<c>jit run --kernel sys-ffa.elf --tee ffa</c>): every result line is the expected one, the hostile calls are
/// refused, and the direct request's round trip is reported.
/// </summary>
public partial class FfaGuestTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const string Expected = """
        start
        version: 0x10001
        version 2.0: -1
        id: 0x1
        spm id: 0x8000
        features direct req: success
        features mem share: success
        features mem lend: error -1
        partition info before rxtx map: error -6
        rxtx map: success
        rxtx map again: error -6
        partition info: success
        partitions: 1 of 24 bytes: id 0x8001 contexts 1 properties 0x1c1 uuid 5c9e1f3a-8b47-4d2e-a6f0-3e71b2d9c0fa
        partition info while rx held: error -4
        rx release: success
        rx release again: error -6
        direct echo: 0x84000070 from 0x8001 to 0x1 w3 0 w4 0x11 w5 0x22 w6 0x33 w7 0x44
        direct add: w3 0 x4 0x100000005
        mem share: success
        sp retrieve: status 0 pages 2
        sp read: status 0 value 0xa5a5a5a5
        sp write: status 0, the page now holds 0xc0ffee11
        sp checksum: status 0 sum 0xff156 bytes 8192
        mem reclaim while the partition holds it: error -6
        sp relinquish: status 0
        mem reclaim: success
        sp read after reclaim: status -6
        mem reclaim again: error -2
        hostile rxtx map of the uart: error -2
        hostile rxtx map outside ram: error -2
        hostile share of the uart: error -6
        hostile share past the end of ram: error -6
        hostile share as another sender: error -2
        hostile share of one page twice: error -2
        hostile share to no partition: error -2
        hostile share longer than tx: error -2
        hostile reclaim of an unknown handle: error -2
        hostile direct request to no partition: error -2
        hostile framework message: error -2
        hostile spoofed sender: answered to 0x1
        hostile unknown ffa function: error -1
        hostile direct response from a vm: error -1
        rxtx unmap: success
        rxtx unmap again: error -2
        ffa done
        end 0
        """;

    [Fact]
    public void TheGuestProbesSharesAndIsRefusedWhatItMayNotDo()
    {
        string dtb = Path.Combine(Path.GetTempPath(), $"jit-ffa-{Guid.NewGuid():N}.dtb");
        var run = Run("--tee", "ffa", "--dtb-out", dtb);
        // FF-A 1.1 is found by FFA_VERSION: the device tree names no TEE.
        byte[] tree = File.ReadAllBytes(dtb);
        File.Delete(dtb);
        Assert.Equal(-1, tree.AsSpan().IndexOf("linaro,optee-tz"u8));
        Assert.Equal(-1, tree.AsSpan().IndexOf("arm,ffa"u8));
        var lines = Lines(run.Stdout);
        // The latency line's figures change from run to run: its shape is checked, its figures reported.
        string latency = Assert.Single(lines, l => l.StartsWith("latency ", StringComparison.Ordinal));
        Assert.Matches(LatencyLine(), latency);
        output.WriteLine(latency);
        Assert.Equal(Lines(Expected), lines.Where(l => l != latency));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("optee")]
    public void WithoutTeeFfaTheGuestFindsNoFfa(string tee)
    {
        var run = Run("--tee", tee);
        Assert.Equal(["start", "ffa: none (version a0=0xffffffffffffffff)", "end 0"], Lines(run.Stdout));
    }

    private static TestProcess.Result Run(params string[] args)
    {
        string elf = TestProcess.Guest("ffa", "sys-ffa.elf");
        var run = TestProcess.Jit(["run", "--kernel", elf, "--timeout", "90", .. args], Patience);
        Assert.True(run.ExitCode == 0, $"jit exited with {run.ExitCode}:\n{run.Stdout}\n--- stderr ---\n{run.Stderr}");
        return run;
    }

    private static string[] Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    [GeneratedRegex(@"^latency ffa-direct mean=\d+\.\d p50=\d+\.\d p99=\d+\.\d n=1000$")]
    private static partial Regex LatencyLine();
}
