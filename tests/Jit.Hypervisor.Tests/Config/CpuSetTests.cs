using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

/// <summary>xl's CPU-list syntax for <c>cpus</c>, checked against the host's CPUs.</summary>
public sealed class CpuSetTests
{
    private static int[] Parse(string spec, int hostCpus = 8)
    {
        Assert.True(CpuSet.TryParse(spec, hostCpus, out var set, out string problem), problem);
        return set.Cpus.ToArray();
    }

    private static string Refuses(string spec, int hostCpus = 8)
    {
        Assert.False(CpuSet.TryParse(spec, hostCpus, out _, out string problem));
        Assert.DoesNotContain('\n', problem);
        return problem;
    }

    [Theory]
    [InlineData("all", new[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("3", new[] { 3 })]
    [InlineData("0-3", new[] { 0, 1, 2, 3 })]
    [InlineData("0,2,5", new[] { 0, 2, 5 })]
    [InlineData("0-3,5", new[] { 0, 1, 2, 3, 5 })]
    [InlineData("0-3,^1", new[] { 0, 2, 3 })]
    [InlineData("all,^0", new[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("all,^2-5", new[] { 0, 1, 6, 7 })]
    [InlineData("^1,1", new[] { 1 })]
    [InlineData("0-7,^1,1", new[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("5-5", new[] { 5 })]
    [InlineData("0,,2", new[] { 0, 2 })]
    [InlineData(" 1, 2", new[] { 1, 2 })]
    [InlineData("nodes:0", new[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("node:0,^0", new[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData("nodes:all", new[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    public void XlsSyntaxIsAppliedLeftToRight(string spec, int[] cpus) => Assert.Equal(cpus, Parse(spec));

    [Theory]
    [InlineData("8", "\"8\": CPU 8 does not exist (the host has CPUs 0-7)")]
    [InlineData("6-9", "\"6-9\": CPU 8 does not exist (the host has CPUs 0-7)")]
    [InlineData("^1", "\"^1\" leaves no CPU to run on")]
    [InlineData("0,^0", "leaves no CPU to run on")]
    [InlineData("^all", "\"^all\": \"^\" cannot be combined with \"all\"")]
    [InlineData("3-1", "\"3-1\": the range runs backwards")]
    [InlineData("x", "\"x\" is not a CPU, a range like 0-3, \"all\" or \"nodes:N\"")]
    [InlineData("1-", "is not a CPU")]
    [InlineData("-1", "is not a CPU")]
    [InlineData("1-2-3", "is not a CPU")]
    [InlineData("0x1", "is not a CPU")]
    [InlineData("99999999999999999999", "is not a CPU")]
    [InlineData("node:1", "NUMA node 1 does not exist (the host is one node, 0)")]
    [InlineData("", "names no CPU")]
    [InlineData(",", "names no CPU")]
    public void MistakesAndCpusTheHostLacksAreRefused(string spec, string problem) => Assert.Contains(problem, Refuses(spec));

    [Fact]
    public void OneCpuHostsAreDescribedAsSuch() =>
        Assert.Contains("the host has one CPU, 0", Refuses("1", hostCpus: 1));

    [Theory]
    [InlineData("0-3,^1", "0,2-3")]
    [InlineData("all", "0-7")]
    [InlineData("7,0,1,2,5", "0-2,5,7")]
    public void PrintsAsRanges(string spec, string text)
    {
        Assert.True(CpuSet.TryParse(spec, 8, out var set, out _));
        Assert.Equal(text, set.ToString());
        Assert.True(CpuSet.TryParse(text, 8, out var again, out _));
        Assert.Equal(set, again);
    }
}
