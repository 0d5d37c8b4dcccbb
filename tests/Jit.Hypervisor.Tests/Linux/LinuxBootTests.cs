using System.Text.RegularExpressions;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// Debian's arm64 kernel booted by the jit tool, as a user would: the test initramfs prints BOOT-OK and powers
/// off; the shell initramfs answers commands piped to the console. The guest comes through the project's own
/// scripts (scripts/fetch-arm64.sh, guests/initramfs/build.sh).
/// </summary>
[Collection("linux")]
public class LinuxBootTests
{
    private static readonly Lazy<(string Root, string Kernel, string Initrd)> guest = new(Prepare);

    private static (string, string, string) Prepare()
    {
        string root = TestProcess.RepositoryRoot();
        string kernel = Script(root, "scripts/fetch-arm64.sh", "kernel");
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        string initrd = Script(root, "guests/initramfs/build.sh", "test", Path.Combine(cache, "initramfs-test.cpio.gz"));
        return (root, kernel, initrd);
    }

    private static string Script(string root, string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }

    private static (int Rc, string Out, string Err) Exec(string file, string[] args, string? input, TimeSpan limit)
    {
        var r = TestProcess.Run(file, args, limit, input);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    private static (int Rc, string Out, string Err) Boot(params string[] extra)
    {
        var (root, kernel, initrd) = guest.Value;
        string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300", .. extra];
        return Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
    }

    private static void AssertCleanKernelLog(string log)
    {
        foreach (var bad in new[] { "Oops", "BUG", "WARNING", "Unhandled", "undefined instruction", "Kernel panic" })
            Assert.False(Regex.IsMatch(log, $@"^\[.*\].*{Regex.Escape(bad)}", RegexOptions.Multiline), $"kernel log has a '{bad}' line:\n{log}");
    }

    [Fact]
    public void UniprocessorBootReachesUserSpaceAndPowersOff()
    {
        var (rc, log, err) = Boot();
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Contains("BOOT-OK", log);
        AssertCleanKernelLog(log);
        Assert.Contains("ttyAMA0 at MMIO 0x22000000", log);
        Assert.Matches(@"GICv3: \d+ SPIs implemented", log);
        Assert.Contains("arch_timer: cp15 timer(s) running at 62.50MHz (virt)", log);
        Assert.Contains("rtc-pl031 22010000.pl031: registered as rtc0", log);
    }

    /// <summary>
    /// In instruction-count time, with tier 1 compiling on the vCPU's thread, two boots retire exactly the same
    /// instructions and print exactly the same log. About 10 s a boot here.
    /// </summary>
    [Fact]
    public void InstructionCountBootsRetireTheSameInstructions()
    {
        // A private initramfs: the shared one in the cache may be rebuilt by another checkout between the two
        // boots, and a rebuild of a different build.sh may change file times the guest sees.
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-icount-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "test", Path.Combine(dir, "initramfs-test.cpio.gz"));
            string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300",
                "--icount", "--jit", "tier1=sync"];
            var (rc1, log1, err1) = Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
            var (rc2, log2, err2) = Exec(Path.Combine(root, "jit"), args, null, TimeSpan.FromMinutes(6));
            Assert.True(rc1 == 0, $"exit {rc1}: {err1}\n{log1}");
            Assert.True(rc2 == 0, $"exit {rc2}: {err2}\n{log2}");
            Assert.Contains("BOOT-OK", log1);
            AssertCleanKernelLog(log1);
            Assert.Equal(log1, log2);
            Assert.Equal(Instructions(err1), Instructions(err2));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string Instructions(string stderr)
    {
        var m = Regex.Match(stderr, @"jit: ([\d,]+) instructions in");
        Assert.True(m.Success, $"no instruction count in: {stderr}");
        return m.Groups[1].Value;
    }

    [Fact]
    public void TwoVcpusComeUpThroughPsci()
    {
        var (rc, log, err) = Boot("--smp", "2");
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Contains("SMP: Total of 2 processors activated", log);
        Assert.Contains("BOOT-OK", log);
        AssertCleanKernelLog(log);
    }

    [Fact]
    public void ShellAnswersCommandsPipedToTheConsole()
    {
        var (root, _, _) = guest.Value;
        var (rc, log, err) = Exec(Path.Combine(root, "jit"), ["boot", "--timeout", "300"], "echo hi-from-shell\npoweroff -f\n", TimeSpan.FromMinutes(6));
        Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
        Assert.Matches(@"(?m)^hi-from-shell\r?$", log);
    }

    /// <summary>
    /// A raw disk on the PCIe bus: Linux enumerates the ECAM host bridge, binds virtio-pci and virtio-blk (modules
    /// in the initramfs), takes its queue interrupt as an MSI-X through the ITS — or, with pci=nomsi, as INTA of
    /// device 1, which the interrupt-map swizzles to SPI 35 — reads a sector the host wrote and writes one the
    /// host then finds in the file. About 10 s each.
    /// </summary>
    [Theory]
    [InlineData("", @"ITS-MSI\s+\d+ Edge\s+virtio0-req\.0")]
    [InlineData(" pci=nomsi", @"GICv3\s+35 Level\s+virtio0")]
    public void VirtioBlockDiskOnPciInterruptsThroughTheItsOrIntx(string append, string interruptLine)
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-pci-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"), "--modules", "virtio_pci,virtio_blk");
            string disk = Path.Combine(dir, "disk.img");
            var image = new byte[1 << 20];
            "JIT-DISK-SECTOR-1"u8.CopyTo(image.AsSpan(512));
            File.WriteAllBytes(disk, image);
            string commands = string.Join('\n',
                "dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | head -c 17; echo",
                "echo written-by-the-guest | dd of=/dev/vda bs=512 seek=2 conv=sync 2>/dev/null; sync",
                "cat /proc/interrupts",
                "poweroff -f", "");
            var (rc, log, err) = Exec(Path.Combine(root, "jit"),
                ["run", "--kernel", kernel, "--initrd", initrd, "--disk", disk, "--append", "console=ttyAMA0 panic=-1" + append, "--timeout", "300"],
                commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            Assert.Contains("pci-host-generic 10000000.pcie: ECAM at [mem 0x10000000-0x1fffffff] for [bus 00-ff]", log);
            Assert.Contains("pci 0000:00:01.0: [1af4:1042] type 00 class 0x018000", log);
            Assert.Contains("virtio_blk virtio0: [vda] 2048 512-byte logical blocks", log);
            Assert.Matches(@"(?m)^JIT-DISK-SECTOR-1\r?$", log);
            var line = Regex.Match(log, @"(?m)^\s*\d+:\s+(\d+)\s+" + interruptLine);
            Assert.True(line.Success, $"no line /{interruptLine}/ in /proc/interrupts:\n{log}");
            Assert.True(int.Parse(line.Groups[1].Value) > 0, $"virtio0's queue took no interrupt:\n{line.Value}");
            Assert.Equal("written-by-the-guest\n"u8.ToArray(), File.ReadAllBytes(disk).AsSpan(1024, 21).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// <c>--disk FILE,if=nvme</c>: Linux's built-in nvme driver finds the controller on the PCIe bus, sets up its
    /// queues with MSI-X through the ITS, reads what the host wrote and writes what the host then finds in the file.
    /// </summary>
    [Fact]
    public void NvmeDiskOnPciReadsAndWritesTheImageWithMsixThroughTheIts()
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-nvme-").FullName;
        try
        {
            // The shell initramfs, without modules: Debian's cloud kernel has the nvme driver built in.
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"));
            string disk = Path.Combine(dir, "disk.img");
            var image = new byte[1 << 20];
            "JIT-NVME-SECTOR-1"u8.CopyTo(image.AsSpan(512));
            File.WriteAllBytes(disk, image);
            string commands = string.Join('\n',
                // The nvme driver scans its namespaces in the background: the disk may appear after the shell.
                "for i in $(seq 100); do [ -b /dev/nvme0n1 ] && break; sleep 0.1; done",
                "dd if=/dev/nvme0n1 bs=512 skip=1 count=1 2>/dev/null | head -c 17; echo",
                "echo written-over-nvme | dd of=/dev/nvme0n1 bs=512 seek=2 conv=sync 2>/dev/null; sync",
                "cat /proc/interrupts",
                "poweroff -f", "");
            var (rc, log, err) = Exec(Path.Combine(root, "jit"),
                ["run", "--kernel", kernel, "--initrd", initrd, "--disk", disk + ",if=nvme", "--append", "console=ttyAMA0 panic=-1", "--timeout", "300"],
                commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            Assert.Contains("type 00 class 0x010802", log);
            Assert.Matches(@"nvme nvme0: pci function 0000:00:01\.0", log);
            Assert.True(Regex.IsMatch(log, @"(?m)^JIT-NVME-SECTOR-1\r?$"), $"the guest did not read sector 1:\n{log}");
            var line = Regex.Match(log, @"(?m)^\s*\d+:\s+(\d+)\s+ITS-MSI\s+\d+ Edge\s+nvme0q1");
            Assert.True(line.Success, $"no ITS-MSI line for nvme0q1 in /proc/interrupts:\n{log}");
            Assert.True(int.Parse(line.Groups[1].Value) > 0, $"nvme0q1 took no interrupt:\n{line.Value}");
            Assert.Equal("written-over-nvme\n"u8.ToArray(), File.ReadAllBytes(disk).AsSpan(1024, 18).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// The SMMUv3 in front of the bridge (the default): Linux's arm-smmu-v3 driver probes it, puts the virtio-blk
    /// function (00:01.0) and the NVMe controller (00:02.0) in IOMMU groups of their own, and their DMA and MSI-X
    /// writes go through their streams — translated by default domains (DMA, or DMA-FQ with lazy invalidation), or
    /// bypassed with iommu.passthrough=1 (identity). Both disks read what the host wrote and write what the host
    /// then finds; the SMMU records no fault. With --smmu=off there is no SMMU and no group. About 15 s each.
    /// </summary>
    [Theory]
    [InlineData("", "", @"DMA(-FQ)?")]
    [InlineData(" iommu.passthrough=1", "", "identity")]
    [InlineData("", "--smmu=off", null)]
    public void DisksBehindTheSmmuGetIommuGroupsAndDmaThroughTheirStreams(string append, string option, string? domainType)
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-smmu-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"), "--modules", "virtio_pci,virtio_blk");
            string virtio = Path.Combine(dir, "virtio.img"), nvme = Path.Combine(dir, "nvme.img");
            var image = new byte[1 << 20];
            "JIT-SMMU-VIRTIO-1"u8.CopyTo(image.AsSpan(512));
            File.WriteAllBytes(virtio, image);
            "JIT-SMMU-NVME--1"u8.CopyTo(image.AsSpan(512));
            File.WriteAllBytes(nvme, image);
            string commands = string.Join('\n',
                "for i in $(seq 100); do [ -b /dev/nvme0n1 ] && [ -b /dev/vda ] && break; sleep 0.1; done",
                "dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | head -c 17; echo",
                "dd if=/dev/nvme0n1 bs=512 skip=1 count=1 2>/dev/null | head -c 16; echo",
                "echo virtio-through-smmu | dd of=/dev/vda bs=512 seek=2 conv=sync 2>/dev/null",
                "echo nvme-through-smmu | dd of=/dev/nvme0n1 bs=512 seek=2 conv=sync 2>/dev/null; sync",
                "for d in /sys/kernel/iommu_groups/*; do echo group $(ls $d/devices) $(cat $d/type); done",
                "cat /proc/interrupts",
                "poweroff -f", "");
            string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--disk", virtio, "--disk", nvme + ",if=nvme",
                "--append", "console=ttyAMA0 panic=-1" + append, "--timeout", "300", "--stats", .. option.Length > 0 ? new[] { option } : []];
            var (rc, log, err) = Exec(Path.Combine(root, "jit"), args, commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            Assert.Matches(@"(?m)^JIT-SMMU-VIRTIO-1\r?$", log);
            Assert.Matches(@"(?m)^JIT-SMMU-NVME--1\r?$", log);
            Assert.Matches(@"ITS-MSI\s+\d+ Edge\s+virtio0-req\.0", log);
            Assert.Matches(@"ITS-MSI\s+\d+ Edge\s+nvme0q1", log);
            Assert.Equal("virtio-through-smmu\n"u8.ToArray(), File.ReadAllBytes(virtio).AsSpan(1024, 20).ToArray());
            Assert.Equal("nvme-through-smmu\n"u8.ToArray(), File.ReadAllBytes(nvme).AsSpan(1024, 18).ToArray());
            var hits = Regex.Match(err, @"SMMU TLB hits\s+([\d,]+)");
            var misses = Regex.Match(err, @"SMMU TLB misses\s+([\d,]+)");
            if (domainType is null)
            {
                Assert.DoesNotContain("arm-smmu-v3", log);
                Assert.DoesNotMatch(@"(?m)^group ", log);
                Assert.False(hits.Success, $"--stats shows an SMMU that is not there:\n{err}");
                return;
            }
            Assert.Contains("arm-smmu-v3 22020000.iommu: ias 48-bit, oas 48-bit", log);
            Assert.Contains("virtio-pci 0000:00:01.0: Adding to iommu group", log);
            Assert.Contains("nvme 0000:00:02.0: Adding to iommu group", log);
            Assert.Matches($@"(?m)^group 0000:00:01\.0 {domainType}\r?$", log);
            Assert.Matches($@"(?m)^group 0000:00:02\.0 {domainType}\r?$", log);
            // A fault would be logged by the driver as "event 0x.. received".
            Assert.DoesNotContain("received:", log);
            Assert.True(hits.Success && misses.Success, $"--stats shows no SMMU:\n{err}");
            long Figure(Match m) => long.Parse(m.Groups[1].Value.Replace(",", ""));
            // Translated, each mapping is walked once and then hit; bypassed, nothing is cached and every access counts as a miss.
            Assert.True(Figure(misses) > 0, $"the SMMU saw no DMA:\n{err}");
            if (append.Length == 0) Assert.True(Figure(hits) > 0, $"no DMA hit the SMMU's TLB:\n{err}");
            else Assert.Equal(0, Figure(hits));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// The SMMU's own interrupts are MSIs: its node's msi-parent names the ITS with DeviceID 0x10000, so Linux's
    /// arm-smmu-v3 asks the ITS's platform-MSI domain for its event queue and global error vectors instead of
    /// taking the wired SPIs. A fault then reaches the driver that way: the shell unbinds the NVMe driver, points
    /// the controller's admin queue at an IOVA nothing maps and rings its doorbell (busybox devmem), the
    /// controller's fetch faults in its stream (StreamID 8, 00:01.0), and the event queue's MSI makes the driver
    /// log the record. About 10 s.
    /// </summary>
    [Fact]
    public void TheSmmusEventsArriveAsMsisThroughTheIts()
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-smmu-msi-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"));
            string nvme = Path.Combine(dir, "nvme.img");
            File.WriteAllBytes(nvme, new byte[1 << 20]);
            string commands = string.Join('\n',
                "for i in $(seq 100); do [ -b /dev/nvme0n1 ] && break; sleep 0.1; done",
                "dev=/sys/bus/pci/devices/0000:00:01.0",
                "bar=$(head -1 $dev/resource | cut -d' ' -f1)",
                "echo 0000:00:01.0 > $dev/driver/unbind",
                // PCI_COMMAND: memory space and bus master, which the unbind turned off.
                "printf '\\006\\000' | dd of=$dev/config bs=1 seek=4 conv=notrunc 2>/dev/null",
                "r() { devmem $(printf 0x%x $((bar + $1))) 32 $2; }",
                // CC.EN = 0, two-entry admin queues at IOVAs 0x10000 and 0x20000, CC.EN = 1, SQ 0 tail = 1.
                "r 0x14 0; r 0x24 0x00010001; r 0x28 0x10000; r 0x2c 0; r 0x30 0x20000; r 0x34 0; r 0x14 0x00460001; r 0x1000 1",
                "for i in $(seq 50); do dmesg | grep -q 'event 0x' && break; sleep 0.1; done",
                "cat /proc/interrupts",
                "poweroff -f", "");
            string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--disk", nvme + ",if=nvme",
                "--append", "console=ttyAMA0 panic=-1", "--timeout", "300"];
            var (rc, log, err) = Exec(Path.Combine(root, "jit"), args, commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            Assert.Matches(@"(?m)^\s*\d+:\s+[1-9]\d*\s+ITS-pMSI\s+\d+\s+Edge\s+arm-smmu-v3-evtq\r?$", log);
            Assert.Matches(@"(?m)^\s*\d+:\s+\d+\s+ITS-pMSI\s+\d+\s+Edge\s+arm-smmu-v3-gerror\r?$", log);
            Assert.DoesNotMatch(@"GICv3.*arm-smmu-v3", log);
            // The record: F_TRANSLATION (0x10) of StreamID 8, a read, at input address 0x10000.
            Assert.Contains("arm-smmu-v3 22020000.iommu: event 0x10 received:", log);
            Assert.Matches(@"arm-smmu-v3 22020000\.iommu: \s*0x0000000800000010\r?\n", log);
            Assert.Contains("SMMUv3: F_TRANSLATION stream 8 read 0x10000", err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// <c>--tee optee</c>: Linux's optee driver finds /firmware/optee, talks through the hypervisor's mediator to
    /// the modelled OP-TEE (revision line, dynamic shared memory), makes /dev/tee0 and /dev/teepriv0, and
    /// optee-rng serves /dev/hwrng. Without it the same initramfs finds no TEE.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OpteeThroughTheMediatorGivesLinuxTeeDevicesAndAnRng(bool tee)
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-optee-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"), "--modules", "tee,optee,optee-rng");
            string commands = string.Join('\n',
                "ls /dev/tee0 /dev/teepriv0",
                "echo rng: $(cat /sys/class/misc/hw_random/rng_available)",
                "echo optee-rng > /sys/class/misc/hw_random/rng_current && dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n'; echo",
                "poweroff -f", "");
            string[] args = ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300", .. tee ? new[] { "--tee", "optee" } : []];
            var (rc, log, err) = Exec(Path.Combine(root, "jit"), args, commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            if (tee)
            {
                Assert.Contains("optee: revision 3.20", log);
                Assert.Contains("optee: dynamic shared memory is enabled", log);
                Assert.Matches(@"(?m)^/dev/tee0\s+/dev/teepriv0\r?$", log);
                Assert.Matches(@"(?m)^rng: optee-rng\s*\r?$", log);
                var bytes = Regex.Match(log, @"(?m)^([0-9a-f]{64})\r?$");
                Assert.True(bytes.Success, $"no 32 bytes from /dev/hwrng:\n{log}");
                Assert.NotEqual(new string('0', 64), bytes.Groups[1].Value);
            }
            else
            {
                Assert.DoesNotContain("optee: revision", log);
                Assert.Contains("/dev/tee0: No such file or directory", log);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// A disk as a user has one: an ext4 file system the host made, mounted by the guest, 64 MiB written into a
    /// file, synced and unmounted; after power-off the host reads the file back out of the image with debugfs.
    /// On virtio-blk (raw and qcow2, MSI-X and INTx) and on NVMe.
    /// </summary>
    [Theory]
    [InlineData("virtio", "raw", "")]
    [InlineData("virtio", "qcow2", "")]
    [InlineData("virtio", "raw", " pci=nomsi")]
    [InlineData("nvme", "raw", "")]
    public void AnExt4DiskTakes64MiBThatTheHostFindsInTheImage(string bus, string format, string append)
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-ext4-").FullName;
        try
        {
            string initrd = bus == "nvme"
                ? Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"))
                : Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"), "--modules", "virtio_pci,virtio_blk");
            string raw = Path.Combine(dir, "disk.raw");
            Host("mke2fs", "-q", "-t", "ext4", "-L", "jit-data", raw, "256M");
            string disk = raw;
            if (format == "qcow2")
            {
                disk = Path.Combine(dir, "disk.qcow2");
                Host("qemu-img", "convert", "-O", "qcow2", raw, disk);
            }
            string device = bus == "nvme" ? "/dev/nvme0n1" : "/dev/vda";
            string commands = string.Join('\n',
                $"for i in $(seq 100); do [ -b {device} ] && break; sleep 0.1; done",
                // A 1 MiB block of 16-byte lines, then 64 copies of it with cat's large writes (a byte pipe would be slow).
                "yes jit-data-012345 | head -c 1048576 > /tmp/block",
                $"mkdir -p /mnt && mount -t ext4 {device} /mnt && for i in $(seq 64); do cat /tmp/block; done > /mnt/data && sync && ls -l /mnt/data && umount /mnt && echo ext4-$((8*8))-done",
                "poweroff -f", "");
            var (rc, log, err) = Exec(Path.Combine(root, "jit"),
                ["run", "--kernel", kernel, "--initrd", initrd, "--disk", $"{disk},format={format},if={bus}", "--append", "console=ttyAMA0 panic=-1" + append, "--timeout", "300"],
                commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            AssertCleanKernelLog(log);
            Assert.True(log.Contains("ext4-64-done"), $"the guest did not finish writing:\n{log}");
            if (format == "qcow2")
            {
                Host("qemu-img", "check", disk);
                File.Delete(raw);
                Host("qemu-img", "convert", "-O", "raw", disk, raw);
            }
            string dumped = Path.Combine(dir, "data");
            Host("debugfs", "-R", $"dump /data {dumped}", raw);
            byte[] data = File.ReadAllBytes(dumped);
            Assert.Equal(64 << 20, data.Length);
            byte[] line = "jit-data-012345\n"u8.ToArray();
            for (int i = 0; i < data.Length; i++)
            {
                if (data[i] != line[i % line.Length])
                    Assert.Fail($"byte {i} of the file is {data[i]:x2}, not {line[i % line.Length]:x2}");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void Host(string program, params string[] args)
    {
        var (rc, output, err) = Exec(program, args, null, TimeSpan.FromMinutes(2));
        Assert.True(rc == 0, $"{program} {string.Join(' ', args)} failed ({rc}): {err}{output}");
    }

    /// <summary>The SMCCC TRNG (DEN0098) behind HVC: the kernel package's arm_smccc_trng module makes it the hwrng.</summary>
    [Fact]
    public void TheSmcccTrngIsLinuxsHwrngWithItsModule()
    {
        var (root, kernel, _) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-trng-").FullName;
        try
        {
            string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(dir, "initramfs.cpio.gz"), "--modules", "arm_smccc_trng");
            string commands = string.Join('\n',
                "echo rng: $(cat /sys/class/misc/hw_random/rng_current)",
                "dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n'; echo",
                "poweroff -f", "");
            var (rc, log, err) = Exec(Path.Combine(root, "jit"),
                ["run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0 panic=-1", "--timeout", "300"], commands, TimeSpan.FromMinutes(6));
            Assert.True(rc == 0, $"exit {rc}: {err}\n{log}");
            Assert.Matches(@"(?m)^rng: smccc_trng\s*\r?$", log);
            var bytes = Regex.Match(log, @"(?m)^([0-9a-f]{64})\r?$");
            Assert.True(bytes.Success, $"no 32 bytes from /dev/hwrng:\n{log}");
            Assert.NotEqual(new string('0', 64), bytes.Groups[1].Value);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MalformedGuestFilesGetOneLineErrors()
    {
        var (root, kernel, initrd) = guest.Value;
        string dir = Directory.CreateTempSubdirectory("jit-bad-").FullName;
        try
        {
            string truncated = Path.Combine(dir, "truncated-Image");
            File.WriteAllBytes(truncated, File.ReadAllBytes(kernel)[..40]);
            string text = Path.Combine(dir, "notes.txt");
            File.WriteAllText(text, string.Concat(Enumerable.Repeat("this text file is neither a kernel nor an initramfs\n", 8)));
            string badDtb = Path.Combine(dir, "bad.dtb");
            File.WriteAllText(badDtb, "not a device tree");
            string jit = Path.Combine(root, "jit");
            foreach (var (args, file, problem) in new[]
            {
                (new[] { "run", "--kernel", truncated }, truncated, "truncated"),
                (new[] { "run", "--kernel", text }, text, "not an arm64 Linux Image"),
                (new[] { "run", "--kernel", kernel, "--initrd", text }, text, "not an initramfs"),
                (new[] { "run", "--kernel", kernel, "--initrd", initrd, "--dtb", badDtb }, badDtb, "not a flattened device tree"),
                (new[] { "run", "--kernel", Path.Combine(dir, "missing") }, Path.Combine(dir, "missing"), "no such file"),
            })
            {
                var (rc, _, err) = Exec(jit, args, null, TimeSpan.FromMinutes(2));
                Assert.Equal(2, rc);
                string line = err.Trim();
                Assert.DoesNotContain("\n", line);
                Assert.Contains(file, line);
                Assert.Contains(problem, line);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
