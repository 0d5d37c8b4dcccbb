using System.Text.Json;

namespace Jit.Hypervisor.Tests.Statistics;

/// <summary>
/// <c>--stats-json</c> and <c>--stats</c> of guests whose exits are known: hello (one PSCI SYSTEM_OFF over
/// HVC, UART writes) and the latency guest (HVC and SMC SMCCC_VERSION loops, GIC traffic, WFI, IRQs).
/// </summary>
public class StatsJsonTests
{
    private static readonly string[] Schema =
        ["instructions", "seconds", "mips", "exits", "tlbMisses", "blockLookups", "regionsCompiled", "regionsRejected", "blocksDecoded", "allocatedBytesVcpu", "smcByOwner", "smcDeniedByOwner"];
    private static readonly string[] ExitKinds = ["hvc", "smc", "mmio", "wfi", "irq", "sysreg", "other"];

    private static JsonElement RunWithStats(string[] args, out string stderr)
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("jit-stats-").FullName, "stats.json");
        try
        {
            var r = TestProcess.Jit([.. args, "--stats", "--stats-json", file], TimeSpan.FromSeconds(120));
            Assert.True(r.ExitCode == 0, $"jit exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
            stderr = r.Stderr;
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            return doc.RootElement.Clone();
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, true);
        }
    }

    private static ulong Exit(JsonElement stats, string kind) => stats.GetProperty("exits").GetProperty(kind).GetUInt64();

    private static ulong Owner(JsonElement stats, string owner) => stats.GetProperty("smcByOwner").GetProperty(owner).GetUInt64();

    [Fact]
    public void HelloCountsItsUartWritesAndOneSystemOff()
    {
        string elf = TestProcess.Guest("hello", "hello.elf");
        var stats = RunWithStats(["run", "--bare", elf], out string table);

        Assert.Equal(Schema, stats.EnumerateObject().Select(p => p.Name));
        Assert.Equal(ExitKinds, stats.GetProperty("exits").EnumerateObject().Select(p => p.Name));
        Assert.True(stats.GetProperty("instructions").GetUInt64() > 0);
        Assert.True(stats.GetProperty("seconds").GetDouble() > 0);
        Assert.True(stats.GetProperty("blocksDecoded").GetInt64() > 0);
        Assert.Equal(1UL, Exit(stats, "hvc"));
        Assert.Equal(1UL, Owner(stats, "psci"));
        Assert.Equal(0UL, Exit(stats, "smc"));
        // "Hello from AArch64\n" goes out one data-register write at a time, besides the flag polls.
        Assert.True(Exit(stats, "mmio") >= 19, $"mmio {Exit(stats, "mmio")}");
        Assert.Equal(0UL, Exit(stats, "irq"));

        Assert.Contains("jit: run statistics", table);
        Assert.Matches(@"guest instructions\s+[\d,]+", table);
        Assert.Matches(@"SMCCC calls by owner\s+psci 1", table);
        Assert.Matches(@"vCPU allocation rate\s+[\d,]+   bytes per million instructions", table);
    }

    [Fact]
    public void LatencyGuestMakesEveryKindOfExit()
    {
        string elf = TestProcess.Guest("latency", "sys-latency.elf");
        var stats = RunWithStats(["run", "--kernel", elf, "--smp", "2", "--timeout", "60"], out _);

        Assert.True(stats.GetProperty("instructions").GetUInt64() > 1_000_000);
        Assert.True(stats.GetProperty("mips").GetDouble() > 0);
        // The guest times hundreds of HVC and SMC SMCCC_VERSION calls (an Arm architecture call) each.
        Assert.True(Exit(stats, "hvc") >= 100, $"hvc {Exit(stats, "hvc")}");
        Assert.True(Exit(stats, "smc") >= 100, $"smc {Exit(stats, "smc")}");
        Assert.True(Owner(stats, "arch") >= 200, $"arch {Owner(stats, "arch")}");
        // CPU_ON for the second vCPU and SYSTEM_OFF at the end.
        Assert.True(Owner(stats, "psci") >= 2, $"psci {Owner(stats, "psci")}");
        foreach (var kind in new[] { "mmio", "wfi", "irq", "sysreg" })
            Assert.True(Exit(stats, kind) > 0, $"no {kind} exits: {stats}");
        Assert.True(stats.GetProperty("tlbMisses").GetUInt64() > 0);
        // Every first entry of a block is a lookup; the loops' later dispatches are served by links.
        Assert.InRange(stats.GetProperty("blockLookups").GetUInt64(), 1UL, stats.GetProperty("instructions").GetUInt64() / 10);
    }
}
