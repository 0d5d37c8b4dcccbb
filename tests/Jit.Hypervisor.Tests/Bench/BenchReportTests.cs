using System.Text.Json;
using Jit.Hypervisor.Bench;

namespace Jit.Hypervisor.Tests.Bench;

/// <summary>A side of a comparison that failed shows its own error in the table and the JSON, never a bare null.</summary>
public class BenchReportTests
{
    private static readonly BenchContext Context = new(DateTimeOffset.UnixEpoch, 2, "host", "abc123", "QEMU 7.2", 64, 20000);

    [Fact]
    public void AFailedMachineNamesItsErrorInTheTableAndTheJson()
    {
        var r = new MetricResult(new Metric("boot", "start to BOOT-OK", "s"));
        r.Jit.Add(2.5);
        r.Jit.Add(2.7);
        const string why = "exit 1 without 'BOOT-OK': qemu-system-aarch64: failed to find romfile \"efi-virtio.rom\"";
        r.Qemu.Fail(why);
        r.Qemu.Fail(why);

        string md = BenchReport.Markdown(Context, [r]);
        Assert.Contains($"| 2.60 (2.50–2.70) | failed: {why} | – |", md);

        using var json = JsonDocument.Parse(BenchReport.Json(Context, [r]));
        var qemu = json.RootElement.GetProperty("results")[0].GetProperty("qemu");
        Assert.Equal(2, qemu.GetProperty("missing").GetInt32());
        Assert.Equal([why], qemu.GetProperty("failures").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public void AFailingProcessIsReportedWithTheLastLineOfItsStandardError()
    {
        var r = BenchProcess.Run("/bin/sh", ["-c", "echo starting; echo 'qemu: first' >&2; echo 'qemu: the real cause' >&2; exit 1"],
            "BOOT-OK", TimeSpan.FromSeconds(30));
        Assert.False(r.Ok);
        Assert.Equal("exit 1 without 'BOOT-OK': qemu: the real cause", r.Why);
    }

    [Fact]
    public void AProgramThatCannotStartIsAFailureNotAnException()
    {
        var r = BenchProcess.Run("/nonexistent/qemu-system-aarch64", [], "BOOT-OK", TimeSpan.FromSeconds(30));
        Assert.False(r.Ok);
        Assert.StartsWith("cannot start /nonexistent/qemu-system-aarch64", r.Why);
    }
}
