using System.Diagnostics;
using Xunit.Abstractions;
using Jit.Hypervisor.Tests.Toolstack;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// Runs only with <c>JIT_DEBIAN_TESTS=1</c> (and as root, for the image build and the TAP): the Debian image takes
/// scripts/make-rootfs.sh some 7 minutes to build the first time, more than the whole suite may spend on one test.
/// </summary>
public sealed class DebianImageFactAttribute : FactAttribute
{
    public DebianImageFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("JIT_DEBIAN_TESTS") != "1")
            Skip = "the Debian image tests run with JIT_DEBIAN_TESTS=1 (scripts/make-rootfs.sh builds the image as root, about 7 minutes the first time)";
        else if (new HostTapFactAttribute().Skip is { } why) Skip = why;
    }
}

/// <summary>
/// Debian 12 from scripts/make-rootfs.sh on Jit, as a user boots it: systemd to the serial login prompt, root
/// logs in, the system is running, the host reaches it over a TAP with ssh and the image's key, and poweroff
/// ends the run cleanly.
/// </summary>
public sealed class DebianImageTests(ITestOutputHelper output)
{
    private const string Prompt = "root@jit:~#";

    [DebianImageFact]
    public async Task DebianBootsToALoginAndAnswersSshOverATap()
    {
        string root = TestProcess.RepositoryRoot();
        string kernel = ShellGuestProcess.Script(root, "scripts/fetch-arm64.sh", "kernel");
        string initrd = ShellGuestProcess.Script(root, "guests/initramfs/build.sh", "rootfs", Path.Combine(ShellGuestProcess.Cache, "initramfs-rootfs.cpio.gz"));
        string image = ShellGuestProcess.Script(root, "scripts/make-rootfs.sh", "raw");
        string key = ShellGuestProcess.Script(root, "scripts/make-rootfs.sh", "key");
        string copy = Path.Combine(Path.GetTempPath(), $"jit-debian-test-{Environment.ProcessId}.raw");
        string tap = $"jitdeb{Environment.ProcessId % 100000}";
        Assert.Equal(0, TestProcess.Run("cp", ["--sparse=always", image, copy], TimeSpan.FromMinutes(2)).ExitCode);
        // A persistent TAP addressed before the guest starts, so the host end is ready whenever the guest is.
        HostTapFactAttribute.Ip("tuntap", "add", "dev", tap, "mode", "tap");
        try
        {
            HostTapFactAttribute.Ip("addr", "add", "10.77.214.1/24", "dev", tap);
            HostTapFactAttribute.Ip("link", "set", tap, "up");
            var clock = Stopwatch.StartNew();
            using var guest = new ShellGuestProcess(["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 root=/dev/vda rw",
                "--mem", "1G", "--disk", copy, "--nic", $"tap,ifname={tap}", "--timeout", "900"], "jit login: ");
            if (!await guest.ReachesShell(TimeSpan.FromMinutes(8))) Assert.Fail(await guest.Describe());
            output.WriteLine($"login prompt after {clock.Elapsed.TotalSeconds:0.0} s");

            await guest.Type("root");
            if (!await guest.WaitFor(Prompt, TimeSpan.FromSeconds(60))) Assert.Fail(await guest.Describe());
            int mark = guest.Console().Length;
            await guest.Type("systemctl is-system-running --wait; systemctl --no-pager --failed --no-legend --plain; " +
                             "ip addr add 10.77.214.2/24 dev $(ls /sys/class/net | grep -v '^lo$' | head -n 1); echo net-$((40+2))");
            if (!await guest.WaitFor("net-42", TimeSpan.FromMinutes(3), mark)) Assert.Fail(await guest.Describe());
            string state = guest.Console()[mark..];
            // The answer stands on a line of its own (the echoed command line holds "is-system-running --wait").
            Assert.Matches(@"[\r\n](running|degraded)\r?\n", state);
            Assert.DoesNotContain("failed", state.Replace("--failed", "", StringComparison.Ordinal), StringComparison.Ordinal);

            var ssh = TestProcess.Run("ssh", ["-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=30", "-o", "LogLevel=ERROR", "root@10.77.214.2", "echo ssh-$((6*7)) $(hostname) $(systemctl is-active ssh)"], TimeSpan.FromMinutes(2));
            Assert.True(ssh.ExitCode == 0, $"ssh failed ({ssh.ExitCode}): {ssh.Stderr}");
            Assert.Contains("ssh-42 jit active", ssh.Stdout);

            await guest.Type("poweroff");
            if (!guest.Process.WaitForExit(TimeSpan.FromMinutes(3))) Assert.Fail(await guest.Describe());
            if (guest.Process.ExitCode != 0) Assert.Fail(await guest.Describe());
            output.WriteLine($"powered off after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            TestProcess.Run("ip", ["link", "delete", tap], TimeSpan.FromSeconds(30));
            File.Delete(copy);
        }
    }
}
