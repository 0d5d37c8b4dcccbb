using Jit.SecureWorld.TrustedApplications;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>The drm workload's lines (tee-client in the bench initramfs) as <c>jit bench</c> reads them.</summary>
public class DrmWorkloadTests
{
    private static IReadOnlyList<(double, string)> Lines(params string[] lines) => lines.Append("BENCH-DONE").Select(l => (1.0, l)).ToList();

    [Fact]
    public void TheHostsChecksumIsWhatLinuxPrintedForThirtyFrames()
    {
        // tee-client drm 30 on Jit with --tee optee printed "checksum=4344602289848605".
        Assert.Equal("4344602289848605", DrmStream.Checksum(30, ContentKeys.Test.Key(DrmStream.Key)));
    }

    [Fact]
    public void NistCtrExampleDecryptsAsSp800_38aSays()
    {
        // SP 800-38A F.5.2, CTR-AES128.Decrypt, first block.
        var plain = DrmStream.CtrDecrypt(ContentKeys.Test.Key(2), Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"),
            Convert.FromHexString("874d6191b620e3261bef6864990db6ce"));
        Assert.Equal("6bc1bee22e409f96e93d7e117393172a", Convert.ToHexStringLower(plain));
    }

    [Theory]
    [InlineData("4344602289848605", 22.2)]
    [InlineData("0000000000000000", null)] // a wrong stream is a failed run, not a fast one
    public void FiguresCountOnlyWithTheHostsChecksum(string checksum, double? p50)
    {
        var w = new DrmWorkload(frames: 30, nulls: 1000);
        var values = w.Parse(Lines("bench null invokes=1000 p50us=15.4 p99us=51.7 maxus=487.5",
            $"bench drm frames=30 invokes=120 p50us=22.2 p99us=423.1 maxus=447.7 videop50us=300.5 audiop50us=20.1 budget=0.42% checksum={checksum}")).ToList();
        Assert.Equal(7, values.Count);
        Assert.Equal(p50, values[0].Value);
        Assert.Equal(p50 is null ? null : 0.42, values.Single(v => v.Metric.Unit == "%").Value);
        Assert.Equal(15.4, values[^1].Value);
    }

    [Fact]
    public void TeeLatencyReadsBothOperations()
    {
        var values = new TeeLatencyWorkload().Parse(Lines("latency tee-fast mean=226.7 p50=66.0 p99=76.0 n=1000",
            "latency tee-null mean=385.9 p50=364.0 p99=412.0 n=1000")).ToList();
        Assert.Equal([66.0, 364.0], values.Select(v => v.Value));
        Assert.False(new TeeLatencyWorkload().RunsOn(BenchMachine.Qemu));
    }

    [Fact]
    public void FfaLatencyReadsTheDirectRequestAmongTheGuestsOtherLines()
    {
        var w = new TeeLatencyWorkload(Jit.Hypervisor.Config.TeeKind.Ffa);
        var values = w.Parse(Lines("mem reclaim: success", "latency ffa-direct mean=181.6 p50=92.0 p99=98.0 n=1000", "ffa done")).ToList();
        Assert.Equal("bare-metal ffa-direct p50", Assert.Single(values).Metric.Name);
        Assert.Equal(92.0, values[0].Value);
        Assert.Contains("--tee", w.Command(BenchMachine.Jit, new BenchTools("jit", null, null, null, null, null, FfaGuest: "sys-ffa.elf")).Args);
    }
}
