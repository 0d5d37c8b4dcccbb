using System.Text.RegularExpressions;
using Jit.SecureWorld.TrustedApplications;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// guests/tee's tee-client in Linux user space with <c>--tee optee</c>: sessions to the echo and
/// content-decryption TAs through /dev/tee0, the OP-TEE driver, the mediator and the modelled OS, their results
/// checked against what the host computes.
/// </summary>
[Collection("linux")]
public class TeeClientTests
{
    /// <summary>The shell initramfs with the TEE modules and tee-client (built once per test run).</summary>
    internal static readonly Lazy<(string Root, string Kernel, string Initrd)> Guest = new(() =>
    {
        string root = TestProcess.RepositoryRoot();
        string client = TestProcess.Guest("tee", "tee-client");
        string kernel = Script(root, "scripts/fetch-arm64.sh", "kernel");
        string dir = Directory.CreateTempSubdirectory("jit-tee-client-").FullName;
        string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"),
            "--modules", "tee,optee,optee-rng", "--add", client);
        return (root, kernel, initrd);
    });

    private static string Script(string root, string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }

    /// <summary>
    /// One boot (about 10 s): the echo TA swaps a value pair and returns a memref's bytes; a 100-byte sample with an
    /// IV whose low word carries into the high one decrypts under key 3 as System.Security.Cryptography's AES does
    /// it; 30 frames of the DRM stream are 120 invokes whose output has the host's checksum.
    /// </summary>
    [Fact]
    public void EchoDecryptAndAStreamOfThirtyFramesGiveTheHostsResults()
    {
        var (root, kernel, initrd) = Guest.Value;
        var sample = new byte[100];
        new Random(14).NextBytes(sample);
        var iv = Convert.FromHexString("0123456789abcdefffffffffffffffff");
        string plain = Convert.ToHexStringLower(DrmStream.CtrDecrypt(ContentKeys.Test.Key(3), iv, sample));
        string commands = string.Join('\n',
            "tee-client echo",
            $"tee-client decrypt 3 {Convert.ToHexStringLower(iv)} {Convert.ToHexStringLower(sample)}",
            "tee-client drm 30",
            "poweroff -f", "");
        var r = TestProcess.Run(Path.Combine(root, "jit"),
            ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300", "--tee", "optee"],
            TimeSpan.FromMinutes(5), commands);
        string log = r.Stdout;
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}\n{log}");
        Assert.Matches(@"(?m)^echo value a=0xabcdef b=0x1234\r?$", log);
        Assert.Matches(@"(?m)^echo memref size=19 text=jit-tee-echo-memref\r?$", log);
        Assert.Matches(@"(?m)^echo done\r?$", log);
        // The console echoes the long command line folded; the answer is one line of its own.
        Assert.Matches($@"(?m)^plain {plain}\r?$", log);

        var line = Regex.Match(log, @"(?m)^bench drm .*$");
        Assert.True(line.Success, $"no bench drm line:\n{log}");
        var bench = BenchLine.Parse(line.Value.TrimEnd('\r'))!;
        Assert.Equal(30, bench.Integer("frames"));
        Assert.Equal(120, bench.Integer("invokes"));
        Assert.Equal(DrmStream.Checksum(30, ContentKeys.Test.Key(DrmStream.Key)), bench.Text("checksum"));
        Assert.True(bench.Number("p50us") > 0, line.Value);
    }
}
