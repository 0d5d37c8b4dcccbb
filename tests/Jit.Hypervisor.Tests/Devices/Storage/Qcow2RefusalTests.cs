using Jit.Devices.Storage;

namespace Jit.Hypervisor.Tests.Devices.Storage;

/// <summary>
/// Images the qcow2 reader will not open: each is refused with one line that names the file and the problem, both
/// read-only and read-write, and the file is left as it was.
/// </summary>
public class Qcow2RefusalTests : IClassFixture<Qcow2RefusalTests.Template>, IDisposable
{
    /// <summary>One small valid image with data in two clusters, made once; each test edits its own copy.</summary>
    public sealed class Template : IDisposable
    {
        private readonly ImageScratch scratch = new();

        public Template()
        {
            Path = scratch.CreateQcow2("template.qcow2", "1M");
            scratch.QemuIo(Path, "write -P 0x42 0 128k");
        }

        public string Path { get; }

        public void Dispose() => scratch.Dispose();
    }

    private readonly Template template;
    private readonly ImageScratch scratch = new();

    public Qcow2RefusalTests(Template template) => this.template = template;

    public void Dispose() => scratch.Dispose();

    /// <summary>Opening fails both ways with one line containing the path and every one of <paramref name="words"/>.</summary>
    private static void AssertRefused(string path, params string[] words)
    {
        byte[] before = File.ReadAllBytes(path);
        foreach (bool readOnly in new[] { true, false })
        {
            var e = Assert.Throws<DiskImageException>(() => Qcow2Image.Open(path, readOnly));
            Assert.StartsWith(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            foreach (string w in words) Assert.Contains(w, e.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    /// <summary>A copy of the template image.</summary>
    private string Image()
    {
        string path = scratch.PathOf("disk.qcow2");
        File.Copy(template.Path, path);
        return path;
    }

    [Fact]
    public void BackingFile()
    {
        string base_ = Image();
        string path = scratch.PathOf("overlay.qcow2");
        scratch.QemuImg("create", "-q", "-f", "qcow2", "-b", base_, "-F", "qcow2", path);
        AssertRefused(path, "backing file", base_);
    }

    [Theory]
    [InlineData(1u, "AES")]
    [InlineData(2u, "LUKS")]
    public void Encryption(uint method, string name)
    {
        string path = Image();
        ImageScratch.WriteU32(path, 32, method); // crypt_method
        AssertRefused(path, "encrypted", name);
    }

    [Fact]
    public void ExternalDataFile()
    {
        string path = scratch.CreateQcow2("disk.qcow2", "1M", $"data_file={scratch.PathOf("data.raw")}");
        AssertRefused(path, "external data file", "data.raw");
    }

    [Fact]
    public void ExtendedL2Entries()
    {
        AssertRefused(scratch.CreateQcow2("disk.qcow2", "1M", "extended_l2=on"), "extended L2");
    }

    [Fact]
    public void ZstdCompression()
    {
        AssertRefused(scratch.CreateQcow2("disk.qcow2", "1M", "compression_type=zstd"), "zstd", "only deflate");
    }

    [Fact]
    public void UnknownIncompatibleFeature()
    {
        string path = Image();
        ImageScratch.WriteU64(path, 72, 1UL << 20);
        AssertRefused(path, "unknown incompatible feature bit 20");
    }

    [Fact]
    public void DirtyAndCorruptBits()
    {
        string path = Image();
        ImageScratch.WriteU64(path, 72, 1);
        AssertRefused(path, "dirty bit", "qemu-img check -r all");
        ImageScratch.WriteU64(path, 72, 2);
        AssertRefused(path, "marked corrupt");
    }

    [Fact]
    public void NotQcow2AtAll()
    {
        string path = scratch.PathOf("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        AssertRefused(path, "not a qcow2 image");
        ImageScratch.WriteU32(path, 0, 0x514649FB);
        ImageScratch.WriteU32(path, 4, 4);
        AssertRefused(path, "version 4");
    }

    [Theory]
    [InlineData(50, "truncated")]          // inside the header
    [InlineData(65536, "beyond the end")]  // the header cluster only: tables are gone
    [InlineData(327680, "beyond the end")] // the metadata, but not all the data clusters
    public void Truncated(long length, string problem)
    {
        string path = Image();
        Assert.True(new FileInfo(path).Length > 327680);
        using (var f = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite)) RandomAccess.SetLength(f, length);
        AssertRefused(path, problem);
    }

    [Theory]
    [InlineData(20, 8u, "cluster_bits 8")]
    [InlineData(20, 22u, "cluster_bits 22")]
    [InlineData(96, 7u, "refcount_order 7")]
    [InlineData(100, 108u, "header_length 108")]
    public void HeaderFieldsOutOfRange(int field, uint value, string problem)
    {
        string path = Image();
        ImageScratch.WriteU32(path, field, value);
        AssertRefused(path, problem);
    }

    [Fact]
    public void TablesOffTheirClusterBoundaries()
    {
        string path = Image();
        ulong l1 = ImageScratch.ReadU64(path, 40);
        ImageScratch.WriteU64(path, 40, l1 + 512);
        AssertRefused(path, "L1 table", "not a cluster boundary");
        ImageScratch.WriteU64(path, 40, l1);

        ulong refcountTable = ImageScratch.ReadU64(path, 48);
        ImageScratch.WriteU64(path, 48, 0);
        AssertRefused(path, "refcount table", "not a cluster boundary");
        ImageScratch.WriteU64(path, 48, refcountTable);

        ImageScratch.WriteU32(path, 36, 0); // l1_size 0 cannot map 1 MiB
        AssertRefused(path, "L1 table of 0 entries");
    }

    [Fact]
    public void L2EntriesPointingPastTheEndOrOffTheGrid()
    {
        string path = Image();
        long entry = ImageScratch.L2EntryOffset(path, 1);
        ulong good = ImageScratch.ReadU64(path, entry);
        ImageScratch.WriteU64(path, entry, (1UL << 63) | (1UL << 40));
        AssertRefused(path, "L2 table", "beyond the end of the file");
        ImageScratch.WriteU64(path, entry, good + 4096);
        AssertRefused(path, "L2 table", "not on a cluster boundary");
        ImageScratch.WriteU64(path, entry, good | 0x100);
        AssertRefused(path, "L2 table", "reserved bits");
    }

    [Fact]
    public void ClustersInUseWithoutARefcount()
    {
        // Allocation would hand such a cluster out again and overwrite the data in it.
        string path = Image();
        ulong dataCluster = ImageScratch.ReadU64(path, ImageScratch.L2EntryOffset(path, 1)) & 0x00FF_FFFF_FFFF_FE00;
        ulong block = ImageScratch.ReadU64(path, (long)ImageScratch.ReadU64(path, 48));
        ImageScratch.WriteU32(path, (long)(block + (dataCluster >> 16) * 2), 0); // its 16-bit refcount and the next
        AssertRefused(path, "a data cluster", $"0x{dataCluster:x}", "refcount 0");
    }

    [Fact]
    public void CopiedFlagOnASharedCluster()
    {
        // In-place writes to it would change the snapshot too.
        string path = Image();
        scratch.QemuImg("snapshot", "-c", "s", path);
        long entry = ImageScratch.L2EntryOffset(path, 1);
        ImageScratch.WriteU64(path, entry, ImageScratch.ReadU64(path, entry) | (1UL << 63));
        AssertRefused(path, "COPIED", "refcount is 2");
    }
}
