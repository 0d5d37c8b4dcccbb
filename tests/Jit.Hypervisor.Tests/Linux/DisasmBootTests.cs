using System.Text.Json;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// <c>jit disasm boot</c>: Debian's kernel to BOOT-OK, then its hottest compiled regions, by rank and by the
/// kernel address the first run reported (boot mode turns KASLR off, so addresses repeat).
/// </summary>
[Collection("linux")]
public class DisasmBootTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(6);

    [Fact]
    public void HotKernelRegionsHaveFiguresAndCanBeNamedByAddress()
    {
        var hot = TestProcess.Jit(["disasm", "boot", "--hot", "3", "--json"], Patience);
        Assert.True(hot.ExitCode == 0, $"exit {hot.ExitCode}: {hot.Stderr}");
        Assert.Contains("stopped at 'BOOT-OK'", hot.Stderr);
        using var doc = JsonDocument.Parse(hot.Stdout);
        var regions = doc.RootElement.GetProperty("regions").EnumerateArray().ToList();
        Assert.Equal(3, regions.Count);
        ulong previous = ulong.MaxValue;
        foreach (var r in regions)
        {
            Assert.StartsWith("0xffff", r.GetProperty("va").GetString());
            ulong entries = r.GetProperty("entries").GetUInt64();
            Assert.InRange(entries, 501UL, previous);
            previous = entries;
            Assert.True(r.GetProperty("hostInstructions").GetInt32() >= r.GetProperty("guestInstructions").GetInt32(), r.ToString());
            Assert.True(r.GetProperty("hostBytesPerGuestInstruction").GetDouble() > 1, r.ToString());
        }

        string va = regions[0].GetProperty("va").GetString()!;
        var at = TestProcess.Jit(["disasm", "boot", "--at", va], Patience);
        Assert.True(at.ExitCode == 0, $"exit {at.ExitCode}: {at.Stderr}");
        Assert.Contains($"=== {regions[0].GetProperty("name").GetString()}: PA {regions[0].GetProperty("pa").GetString()}, VA {va},", at.Stdout);
        Assert.Contains($"  {va[2..]}:  ", at.Stdout);
        Assert.Contains("--- IL:", at.Stdout);
        Assert.Contains("--- x86-64:", at.Stdout);
    }
}
