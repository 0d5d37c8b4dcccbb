using System.Buffers.Binary;
using Jit.Devices.Storage;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;

namespace Jit.Hypervisor.Tests;

public class CommandLineTests
{
    private static (int Code, string Err) Run(params string[] args)
    {
        var err = new StringWriter();
        int rc = CommandLine.Run(args, TextWriter.Null, err);
        return (rc, err.ToString());
    }

    [Fact]
    public void NoArgumentsPrintsUsage()
    {
        var (rc, err) = Run();
        Assert.Equal(2, rc);
        Assert.Contains("usage: jit <command>", err);
        Assert.Contains("run", err);
    }

    [Fact]
    public void UnknownCommand()
    {
        var (rc, err) = Run("fly");
        Assert.Equal(2, rc);
        Assert.StartsWith("jit: unknown command 'fly'", err);
    }

    [Theory]
    [InlineData("give exactly one of --bare <file> or --kernel <Image>", "run")]
    [InlineData("give exactly one of --bare <file> or --kernel <Image>", "run", "--bare", "x.elf", "--kernel", "Image")]
    [InlineData("--initrd, --disk, --virtio-rng, --nic, --smmu, --dtb and --dtb-out need --kernel", "run", "--bare", "x.elf", "--initrd", "i.cpio")]
    [InlineData("--initrd, --disk, --virtio-rng, --nic, --smmu, --dtb and --dtb-out need --kernel", "run", "--bare", "x.elf", "--virtio-rng")]
    [InlineData("--disk 'd.img,rw': unknown 'rw' (ro, readonly, format=raw, format=qcow2, if=virtio or if=nvme)", "run", "--kernel", "Image", "--disk", "d.img,rw")]
    [InlineData("--disk 'd.img,format=vmdk': unknown 'format=vmdk'", "run", "--kernel", "Image", "--disk", "d.img,format=vmdk")]
    [InlineData("--disk ',ro': names no file", "run", "--kernel", "Image", "--disk", ",ro")]
    [InlineData("--nic 'bridge': the backend is switch or tap, not 'bridge'", "run", "--kernel", "Image", "--nic", "bridge")]
    [InlineData("--nic 'tap,name=x': unknown 'name=x' (ifname=NAME or mac=MAC)", "run", "--kernel", "Image", "--nic", "tap,name=x")]
    [InlineData("--nic 'switch,mac=ff:ff:ff:ff:ff:ff': 'ff:ff:ff:ff:ff:ff' is not a MAC address", "run", "--kernel", "Image", "--nic", "switch,mac=ff:ff:ff:ff:ff:ff")]
    [InlineData("--smp must be between 1 and 8", "run", "--kernel", "Image", "--smp", "9")]
    [InlineData("--icount needs --smp 1", "run", "--kernel", "Image", "--smp", "2", "--icount")]
    [InlineData("--icount '11' is not a shift from 0 to 10", "run", "--bare", "x.elf", "--icount=11")]
    [InlineData("--icount 'x' is not a shift from 0 to 10", "run", "--bare", "x.elf", "--icount=x")]
    [InlineData("--mem must be a multiple of 4K between 64M and 3G for a Linux guest", "run", "--kernel", "Image", "--mem", "16M")]
    [InlineData("--timeout needs a value", "run", "--bare", "x.elf", "--timeout")]
    [InlineData("--timeout '0' is not a number of seconds", "run", "--bare", "x.elf", "--timeout", "0")]
    [InlineData("--timeout 'soon' is not a number of seconds", "run", "--bare", "x.elf", "--timeout", "soon")]
    [InlineData("--max-instructions '-5' is not a positive count", "run", "--bare", "x.elf", "--max-instructions", "-5")]
    [InlineData("--mem must be a multiple of 4K", "run", "--bare", "x.elf", "--mem", "100")]
    [InlineData("--mem must be a multiple of 4K", "run", "--bare", "x.elf", "--mem", "4G")]
    [InlineData("--mem 'lots' is not a size", "run", "--bare", "x.elf", "--mem", "lots")]
    [InlineData("unknown option --fast", "run", "--bare", "x.elf", "--fast")]
    [InlineData("--tee 'sgx': optee, ffa or none", "run", "--bare", "x.elf", "--tee", "sgx")]
    [InlineData("unexpected argument 'extra'", "run", "--bare", "x.elf", "extra")]
    [InlineData("--smmu=maybe: --smmu=on or --smmu=off", "run", "--kernel", "Image", "--smmu=maybe")]
    [InlineData("--initrd, --disk, --virtio-rng, --nic, --smmu, --dtb and --dtb-out need --kernel", "run", "--bare", "x.elf", "--smmu=off")]
    public void BadOptionsAreUsageErrors(string message, params string[] args)
    {
        var (rc, err) = Run(args);
        Assert.Equal(2, rc);
        Assert.StartsWith($"jit run: {message}", err);
        Assert.Contains("usage: jit run (--bare", err);
    }

    [Fact]
    public void BootRefusesIcountWithSeveralVcpus()
    {
        var (rc, err) = Run("boot", "--icount=3", "--smp", "2");
        Assert.Equal(2, rc);
        Assert.StartsWith("jit boot: --icount needs --smp 1", err);
    }

    [Fact]
    public void MissingKernelFileIsNamed()
    {
        var (rc, err) = Run("run", "--kernel", "no-such-Image");
        Assert.Equal(2, rc);
        Assert.StartsWith("jit: no-such-Image: no such file", err);
    }

    [Theory]
    [InlineData("d.img", "d.img", false, DiskFormat.Raw)]
    [InlineData("d.img,ro", "d.img", true, DiskFormat.Raw)]
    [InlineData("/x/d.qcow2,format=qcow2,readonly", "/x/d.qcow2", true, DiskFormat.Qcow2)]
    public void DisksParse(string text, string path, bool readOnly, DiskFormat format) =>
        Assert.Equal(new LinuxDisk(path, readOnly, format), RunCommand.Disk(text));

    [Fact]
    public void BusZeroHoldsAtMost31Devices()
    {
        var (rc, err) = Run(["run", "--kernel", "Image", "--virtio-rng", .. Enumerable.Range(0, 31).SelectMany(_ => new[] { "--disk", "d.img" })]);
        Assert.Equal(2, rc);
        Assert.StartsWith("jit run: at most 31 PCI devices: --disk, --virtio-rng and --nic together", err);
    }

    /// <summary>A disk that cannot be opened is one line naming it, before the guest starts.</summary>
    [Fact]
    public void MissingDiskFileIsNamed()
    {
        string dir = Directory.CreateTempSubdirectory("jit-disk-").FullName;
        try
        {
            // The smallest arm64 Image the loader takes: its 64-byte header (booting.rst) and nothing to run.
            var image = new byte[0x1000];
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(16), (ulong)image.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(24), 0b1010);
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(56), 0x644D_5241);
            string kernel = Path.Combine(dir, "Image");
            File.WriteAllBytes(kernel, image);
            string disk = Path.Combine(dir, "no-such.img");
            var (rc, err) = Run("run", "--kernel", kernel, "--disk", disk);
            Assert.Equal(2, rc);
            Assert.Equal($"jit: {disk}: no such file", err.TrimEnd());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("128M", 128UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("64MiB", 64UL << 20)]
    [InlineData("4096", 4096UL)]
    [InlineData("0x10000", 0x10000UL)]
    public void SizesParse(string text, ulong bytes) => Assert.Equal(bytes, Options.Size("--mem", text));

    [Theory]
    [InlineData("1000", 1000UL)]
    [InlineData("1_000_000", 1_000_000UL)]
    [InlineData("5M", 5_000_000UL)]
    [InlineData("2G", 2_000_000_000UL)]
    public void CountsParse(string text, ulong n) => Assert.Equal(n, Options.Count("--max-instructions", text));
}
