using Jit.Devices.Storage;

namespace Jit.Hypervisor.Tests.Devices.Storage;

public class DiskImageTests
{
    [Fact]
    public void OpensEachFormatAsAskedAndProbesByMagic()
    {
        using var scratch = new ImageScratch();
        string qcow2 = scratch.CreateQcow2("disk.qcow2", "1M");
        scratch.QemuIo(qcow2, "write -P 0x99 0 512");
        string raw = scratch.PathOf("disk.raw");
        File.WriteAllBytes(raw, new byte[8192]);

        Assert.Equal(DiskFormat.Qcow2, DiskImage.Probe(qcow2));
        Assert.Equal(DiskFormat.Raw, DiskImage.Probe(raw));
        Assert.Null(DiskImage.FormatMismatch(qcow2, DiskFormat.Qcow2));
        Assert.Null(DiskImage.FormatMismatch(raw, DiskFormat.Raw));
        Assert.Equal($"{qcow2} looks like qcow2 but format=raw was given", DiskImage.FormatMismatch(qcow2, DiskFormat.Raw));

        var sector = new byte[512];
        using (var image = DiskImage.Open(qcow2, DiskFormat.Qcow2, readOnly: true))
        {
            Assert.IsType<Qcow2Image>(image);
            Assert.Equal(1UL << 20, image.Size);
            Assert.Equal(BlockStatus.Ok, image.Read(0, sector));
            Assert.All(sector, b => Assert.Equal(0x99, b));
        }
        // As xl does, format=raw means raw even for a qcow2 file (with a warning): the guest sees the container.
        using (var image = DiskImage.Open(qcow2, DiskFormat.Raw, readOnly: true))
        {
            Assert.IsType<RawImage>(image);
            Assert.Equal((ulong)new FileInfo(qcow2).Length, image.Size);
            Assert.Equal(BlockStatus.Ok, image.Read(0, sector));
            Assert.Equal(0x51, sector[0]);
        }
        using (var image = DiskImage.Open(raw, DiskFormat.Raw, readOnly: false))
            Assert.False(image.ReadOnly);

        var e = Assert.Throws<DiskImageException>(() => DiskImage.Open(raw, DiskFormat.Qcow2, readOnly: false));
        Assert.Equal($"{raw} does not look like qcow2 (no QFI\\xfb magic) but format=qcow2 was given", e.Message);
    }

    [Fact]
    public void FormatNamesAreXlsSpelling()
    {
        Assert.True(DiskImage.TryParseFormat("raw", out var f));
        Assert.Equal(DiskFormat.Raw, f);
        Assert.True(DiskImage.TryParseFormat("qcow2", out f));
        Assert.Equal(DiskFormat.Qcow2, f);
        Assert.False(DiskImage.TryParseFormat("vhd", out _));
        Assert.Equal("qcow2", DiskImage.Name(DiskFormat.Qcow2));
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("missing.qcow2");
        var e = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, DiskFormat.Qcow2, readOnly: true));
        Assert.Equal($"{path}: no such file", e.Message);
    }
}
