using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// PCI passthrough with Debian's kernel on both sides: a host virtio-blk disk holding ext4 starts as the control
/// domain's, is removed there and made assignable, is assigned to a domU by xl.cfg's <c>pci</c> (which mounts it
/// behind its SMMU, writes and syncs), is moved back to the running control domain with pci-detach and
/// pci-attach (which rescans and reads the domU's file), and returns to the pool when the domU that holds it is
/// destroyed. Two boots, side by side; the control domain runs with iommu.passthrough=1 (its SMMU bypasses), the
/// domU translates.
/// </summary>
[Collection("linux")]
public class PciPassthroughLinuxTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(150), Command = TimeSpan.FromSeconds(60);

    [Fact]
    public void AnAssignedVirtioDiskMovesFromTheControlDomainToADomUAndBack()
    {
        using var s = new ToolstackSession();
        string initrd = s.ShellInitrdWithModules("virtio_pci,virtio_blk");
        string disk = Path.Combine(s.State, "passthrough.img");
        Host("mke2fs", "-q", "-t", "ext4", "-L", "passthrough", disk, "64M");
        string Config(string name, params string[] more) => s.Config(name, [$"name = \"{name}\"", $"kernel = \"{s.Kernel}\"",
            $"ramdisk = \"{initrd}\"", "memory = 256", "vcpus = 1", "cmdline = \"console=ttyAMA0 panic=-1\"", .. more]);

        // The control domain's SMMU bypasses (iommu.passthrough=1); the domU's translates.
        string dom0 = s.Config("dom0", $"name = \"dom0\"", $"kernel = \"{s.Kernel}\"", $"ramdisk = \"{initrd}\"", "memory = 256", "vcpus = 1",
            "cmdline = \"console=ttyAMA0 panic=-1 iommu.passthrough=1\"");
        var start = s.Hypervisor("start", "--dom0", dom0, "--pci-device", $"disk={disk}");
        Assert.True(start.ExitCode == 0, start.Stderr);
        s.WaitForLog("Domain-0", "Jit: busybox shell", Boot);

        // The control domain has the disk at 00:01.0; it removes it, and xl takes it without a warning.
        var (dom0Disk, _) = s.ConsoleSession("Domain-0", "[ -b /dev/vda ] && echo dom0-has-vda-$((1+1))", "dom0-has-vda-2", Command);
        Assert.Contains("dom0-has-vda-2", dom0Disk);
        s.ConsoleSession("Domain-0", "echo 1 > /sys/bus/pci/devices/0000:00:01.0/remove; echo dom0-removed-$((2+2))", "dom0-removed-4", Command);
        var add = s.Xl("pci-assignable-add", "01:00.0");
        Assert.True(add.ExitCode == 0 && add.Stderr == "", add.Stderr);
        Assert.Equal("0000:01:00.0\n", s.Xl("pci-assignable-list").Stdout);
        var (rescan, _) = s.ConsoleSession("Domain-0", "echo 1 > /sys/bus/pci/rescan; echo dom0-sees-$(ls /sys/bus/pci/devices | wc -l)-devices; echo rescanned-$((4+4))",
            "rescanned-8", Command);
        Assert.Contains("dom0-sees-0-devices", rescan);

        // The domU gets it from its configuration and uses it through its SMMU, with MSI-X.
        var created = s.Xl("create", Config("guest", "pci = [ '01:00.0' ]"));
        Assert.True(created.ExitCode == 0, created.Stderr);
        s.WaitForLog("guest", "Jit: busybox shell", Boot);
        Assert.Equal("Vdev Device\n01.0 0000:01:00.0\n", s.Xl("pci-list", "guest").Stdout);
        var (written, _) = s.ConsoleSession("guest", string.Join("; ",
            "for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done",
            "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt",
            "yes passthrough-data | head -c 4194304 > /mnt/data && sync && md5sum /mnt/data && umount /mnt",
            "echo msix-vectors=$(grep virtio /proc/interrupts | grep -c ITS-MSI)",
            "echo guest-wrote-$((1+1))"), "guest-wrote-2", Command);
        Assert.Contains("guest-wrote-2", written);
        string log = s.ReadLog("guest");
        Assert.Contains("arm-smmu-v3", log);
        Assert.Matches(@"virtio-pci 0000:00:01\.0: Adding to iommu group \d+", log);
        Assert.Matches(@"msix-vectors=[1-9]", written);
        string md5 = Regex.Match(written, @"([0-9a-f]{32})  /mnt/data").Groups[1].Value;
        Assert.NotEqual("", md5);

        // Detached from the running domU (which removed it first) and attached to the running control domain.
        s.ConsoleSession("guest", "echo 1 > /sys/bus/pci/devices/0000:00:01.0/remove; echo guest-removed-$((3+3))", "guest-removed-6", Command);
        var detach = s.Xl("pci-detach", "guest", "01:00.0");
        Assert.True(detach.ExitCode == 0 && detach.Stderr == "", detach.Stderr);
        var attach = s.Xl("pci-attach", "Domain-0", "01:00.0");
        Assert.True(attach.ExitCode == 0, attach.Stderr);
        var (read, _) = s.ConsoleSession("Domain-0", string.Join("; ",
            "echo 1 > /sys/bus/pci/rescan",
            "for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done",
            "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && md5sum /mnt/data && umount /mnt",
            "echo dom0-read-$((2+1))"), "dom0-read-3", Command);
        Assert.Contains($"{md5}  /mnt/data", read);
        Assert.Contains("iommu: Default domain type: Passthrough", s.ReadLog("Domain-0"));

        // Back to the domU, whose destruction returns it to the pool.
        s.ConsoleSession("Domain-0", "echo 1 > /sys/bus/pci/devices/0000:00:01.0/remove; echo dom0-removed-again-$((5+5))", "dom0-removed-again-10", Command);
        Assert.Equal(0, s.Xl("pci-assignable-add", "01:00.0").ExitCode);
        Assert.Equal(0, s.Xl("pci-attach", "guest", "01:00.0").ExitCode);
        Assert.Equal("", s.Xl("pci-assignable-list").Stdout);
        Assert.Equal(0, s.Xl("destroy", "guest").ExitCode);
        Assert.Equal("0000:01:00.0\n", s.Xl("pci-assignable-list").Stdout);
        Assert.DoesNotContain("Kernel panic", s.ReadLog("Domain-0"));

        // Stopping the hypervisor flushes the image as it exits: the domU's file is in it.
        int pid = int.Parse(File.ReadAllText(Path.Combine(s.State, "hypervisor.pid")).Trim());
        Assert.Equal(0, s.Hypervisor("stop").ExitCode);
        var clock = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/{pid}") && clock.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(100);
        string dumped = Path.Combine(s.State, "data");
        Host("debugfs", "-R", $"dump /data {dumped}", disk);
        Assert.Equal(4 << 20, new FileInfo(dumped).Length);
    }

    /// <summary>
    /// A virtio-blk and an NVMe disk assigned to a domU with its SMMU translating, then (after that domU is destroyed
    /// and the devices are back in the pool) to one without an SMMU (<c>jit_smmu = 0</c>): ext4 on the NVMe disk is
    /// written in the first and read in the second, and each reads both disks whole with direct I/O, timed in the
    /// guest, for the cost of translation (printed; README's figures come from here).
    /// </summary>
    [Fact]
    public void AssignedVirtioAndNvmeDisksWorkWithAndWithoutTheSmmuAndTheirThroughputIsMeasured()
    {
        using var s = new ToolstackSession();
        string initrd = s.ShellInitrdWithModules("virtio_pci,virtio_blk");
        string virtio = Path.Combine(s.State, "virtio.img"), nvme = Path.Combine(s.State, "nvme.img");
        Host("mke2fs", "-q", "-t", "ext4", virtio, "64M");
        Host("mke2fs", "-q", "-t", "ext4", nvme, "64M");
        var start = s.Hypervisor("start", "--pci-device", $"disk={virtio}", "--pci-device", $"disk={nvme},if=nvme");
        Assert.True(start.ExitCode == 0, start.Stderr);
        Assert.Equal("0000:01:00.0\n0000:01:01.0\n", s.Xl("pci-assignable-list").Stdout);
        const string Timed = "t() { a=$(cut -d' ' -f1 /proc/uptime); for i in 1 2 3; do dd if=$1 of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; done; " +
            "b=$(cut -d' ' -f1 /proc/uptime); echo \"TP $1 $a $b\"; }; t /dev/vda; t /dev/nvme0n1";
        const string WaitForDisks = "for i in $(seq 100); do [ -b /dev/nvme0n1 ] && [ -b /dev/vda ] && break; sleep 0.1; done";

        var figures = new Dictionary<string, double>();
        string? md5 = null;
        foreach (var (name, smmu) in new[] { ("translated", "1"), ("nosmmu", "0") })
        {
            var created = s.Xl("create", s.Config(name, $"name = \"{name}\"", $"kernel = \"{s.Kernel}\"", $"ramdisk = \"{initrd}\"", "memory = 256",
                "vcpus = 1", "cmdline = \"console=ttyAMA0 panic=-1\"", $"jit_smmu = {smmu}", "pci = [ '01:00.0', '01:01.0' ]"));
            Assert.True(created.ExitCode == 0, created.Stderr);
            s.WaitForLog(name, "Jit: busybox shell", Boot);
            string ext4 = md5 is null
                ? "mount -t ext4 /dev/nvme0n1 /mnt && yes nvme-data | head -c 4194304 > /mnt/data && sync && md5sum /mnt/data && umount /mnt"
                : "mount -t ext4 /dev/nvme0n1 /mnt && md5sum /mnt/data && umount /mnt";
            var (screen, _) = s.ConsoleSession(name, string.Join("; ", WaitForDisks, "mkdir -p /mnt", ext4, Timed, "echo measured-$((6+6))"),
                "measured-12", TimeSpan.FromSeconds(120));
            Assert.Contains("measured-12", screen);
            string sum = Regex.Match(screen, @"([0-9a-f]{32})  /mnt/data").Groups[1].Value;
            Assert.NotEqual("", sum);
            if (md5 is null) md5 = sum;
            else Assert.Equal(md5, sum);
            foreach (Match m in Regex.Matches(screen, @"TP /dev/(\w+) ([\d.]+) ([\d.]+)"))
                figures[$"{name} {m.Groups[1].Value}"] = 3 * 64 * 1.048576 / (double.Parse(m.Groups[3].Value) - double.Parse(m.Groups[2].Value));
            string log = s.ReadLog(name);
            if (smmu == "1") Assert.Matches(@"nvme 0000:00:02\.0: Adding to iommu group \d+", log);
            else Assert.DoesNotContain("arm-smmu-v3", log);
            Assert.Equal(0, s.Xl("destroy", name).ExitCode);
            Assert.Equal("0000:01:00.0\n0000:01:01.0\n", s.Xl("pci-assignable-list").Stdout);
        }
        foreach (string disk in new[] { "vda", "nvme0n1" })
        {
            Assert.True(figures.ContainsKey($"translated {disk}") && figures.ContainsKey($"nosmmu {disk}"), string.Join(", ", figures.Keys));
            output.WriteLine($"assigned {disk}: {figures[$"translated {disk}"]:F0} MB/s through the SMMU, {figures[$"nosmmu {disk}"]:F0} MB/s without " +
                $"(jit_smmu = 0): {figures[$"translated {disk}"] / figures[$"nosmmu {disk}"]:F2}x");
        }
    }

    private static void Host(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {err}");
    }
}
