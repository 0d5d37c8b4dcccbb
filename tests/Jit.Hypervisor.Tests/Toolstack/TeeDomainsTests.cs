using System.Text.RegularExpressions;
using Jit.Hypervisor.Tests.Linux;
using Jit.SecureWorld.TrustedApplications;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// Two Linux domains with <c>tee = "optee"</c> in one hypervisor, each running guests/tee's tee-client against the
/// one modelled OP-TEE: neither can use the other's session or shared memory, and destroying one in the middle of
/// its stream leaves the other's stream whole.
/// </summary>
[Collection("linux")]
public class TeeDomainsTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(120);

    /// <summary>About 40 s: two boots side by side, then a 10 s stream (300 frames paced at 30 fps) in B.</summary>
    [Fact]
    public void TwoOpteeDomainsKeepTheirSessionsAndOneSurvivesTheOthersDestruction()
    {
        var (_, _, initrd) = TeeClientTests.Guest.Value;
        using var s = new ToolstackSession();
        string Config(string name) => s.Config(name, $"name = \"{name}\"", $"kernel = \"{s.Kernel}\"", $"ramdisk = \"{initrd}\"",
            "memory = 256", "vcpus = 1", $"cmdline = \"console=ttyAMA0 jit.guest={name}\"", "tee = \"optee\"");
        var a = s.Xl("create", Config("tee-a"));
        Assert.True(a.ExitCode == 0, a.Stderr);
        var b = s.Xl("create", Config("tee-b"));
        Assert.True(b.ExitCode == 0, b.Stderr);
        foreach (string name in new[] { "tee-a", "tee-b" })
        {
            s.WaitForLog(name, "Jit: busybox shell", Boot);
            Assert.Contains("optee: revision 3.20", s.ReadLog(name));
            Assert.Contains("optee: dynamic shared memory is enabled", s.ReadLog(name));
        }

        // A plays a long stream and says which session and shared memory it decrypts with.
        var (started, _) = s.ConsoleSession("tee-a", "tee-client drm 3000 paced", "drm session=", TimeSpan.FromSeconds(30));
        var ids = Regex.Match(started, @"drm session=(\d+) shm=(\d+)");
        Assert.True(ids.Success, $"A printed no session:\n{started}");
        string session = ids.Groups[1].Value, shm = ids.Groups[2].Value;

        // B is given them and gets an error for each.
        var (stolen, _) = s.ConsoleSession("tee-b", $"tee-client steal {session} {shm}; echo steal-exit-$((0+$?))", "steal-exit-0", TimeSpan.FromSeconds(30));
        Assert.Matches($@"steal session={session}: refused", stolen);
        Assert.Matches($@"steal shm={shm}: refused", stolen);
        Assert.Contains("steal refused=2 of 2", stolen);
        Assert.DoesNotContain("ACCEPTED", stolen);

        // B starts its own stream; A is destroyed in the middle of its one.
        s.ConsoleSession("tee-b", "tee-client drm 300 paced", "drm session=", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("bench drm", s.ReadLog("tee-a"));
        int idA = s.List()["tee-a"].Id;
        var destroy = s.Xl("destroy", "tee-a");
        Assert.True(destroy.ExitCode == 0, destroy.Stderr);
        Assert.False(s.List().ContainsKey("tee-a"));
        // The secure world kept nothing of it: the hypervisor says so in its log after VM_DESTROYED.
        Assert.Contains($"tee: domain {idA} destroyed; OP-TEE holds nothing of client {idA + 1}", s.Xl("dmesg").Stdout);

        s.WaitForLog("tee-b", "bench drm", TimeSpan.FromSeconds(90));
        var line = Regex.Match(s.ReadLog("tee-b"), @"(?m)^bench drm .*$");
        var bench = BenchLine.Parse(line.Value.TrimEnd('\r'))!;
        Assert.Equal(1200, bench.Integer("invokes"));
        Assert.Equal(DrmStream.Checksum(300, ContentKeys.Test.Key(DrmStream.Key)), bench.Text("checksum"));
        Assert.DoesNotContain("tee-client:", s.ReadLog("tee-b"));
    }
}
