using Jit.Devices.Storage;

namespace Jit.Hypervisor.Tests.Devices.Storage;

/// <summary>
/// qcow2 images made and checked by QEMU's own tools: what qemu-io wrote reads back the same through the image, and
/// what the image wrote passes qemu-img check without corruptions or leaks and converts back to the same bytes.
/// </summary>
public class Qcow2ImageTests
{
    private const int MiB = 1 << 20;

    /// <summary>Writes the same random requests to the image and to a byte-array model of the disk.</summary>
    private static void RandomWrites(IBlockImage image, byte[] model, int seed, int count, int maxLength, bool aligned)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int length = aligned ? rng.Next(1, maxLength / 512 + 1) * 512 : rng.Next(1, maxLength + 1);
            long offset = aligned ? rng.NextInt64(0, (model.Length - length) / 512 + 1) * 512 : rng.NextInt64(0, model.Length - length + 1);
            var data = new byte[length];
            if (rng.Next(4) == 0) Array.Fill(data, (byte)rng.Next(256)); else rng.NextBytes(data);
            Assert.Equal(BlockStatus.Ok, image.Write((ulong)offset, data));
            data.CopyTo(model, offset);
        }
    }

    private static byte[] ReadAll(IBlockImage image)
    {
        var bytes = new byte[image.Size];
        // In odd-sized pieces, so requests start and end inside clusters.
        for (int at = 0; at < bytes.Length;)
        {
            int n = Math.Min(bytes.Length - at, 77_777);
            Assert.Equal(BlockStatus.Ok, image.Read((ulong)at, bytes.AsSpan(at, n)));
            at += n;
        }
        return bytes;
    }

    [Theory]
    [InlineData("cluster_size=65536")]
    [InlineData("cluster_size=512")]
    [InlineData("cluster_size=4096,refcount_bits=1")]
    [InlineData("cluster_size=2M")]
    [InlineData("compat=0.10,cluster_size=4096")]
    public void ReadsWhatQemuWrote(string options)
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "8M", options);
        scratch.QemuIo(path,
            "write -P 0x11 0 4k",
            "write -P 0x22 100000 300000",
            "write -P 0x33 7M 1M",
            "write -z 200k 64k",                 // zeros over written data: the zero flag in version 3
            "write -P 0x44 5000000 1");
        byte[] expected = scratch.QemuView(path);

        using var image = Qcow2Image.Open(path, readOnly: true);
        Assert.Equal(8UL * MiB, image.Size);
        Assert.Equal(expected, ReadAll(image));
    }

    [Theory]
    [InlineData("cluster_size=65536", true)]
    [InlineData("cluster_size=65536", false)]
    [InlineData("cluster_size=512", false)]
    [InlineData("cluster_size=2M", false)]
    [InlineData("compat=0.10,cluster_size=16384", false)]
    public void WritesPassQemuImgCheckAndReadBackInQemu(string options, bool aligned)
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "4M", options);
        byte[] model = new byte[4 * MiB];
        using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            RandomWrites(image, model, seed: 7, count: 120, maxLength: 150_000, aligned);
            Assert.Equal(model, ReadAll(image));
        }
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    [InlineData(64)]
    public void EveryRefcountWidthIsKeptConsistent(int refcountBits)
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "2M", $"cluster_size=4096,refcount_bits={refcountBits}");
        byte[] model = new byte[2 * MiB];
        using (var image = Qcow2Image.Open(path, readOnly: false))
            RandomWrites(image, model, seed: refcountBits, count: 60, maxLength: 40_000, aligned: true);
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void TheRefcountTableGrowsWhenTheFileOutgrowsIt()
    {
        // 512-byte clusters with 64-bit refcounts: a block counts 64 clusters (32 KiB), the one-cluster table 64
        // blocks (2 MiB of file), so filling 6 MiB moves and doubles the table twice.
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "6M", "cluster_size=512,refcount_bits=64");
        ulong tableBefore = ImageScratch.ReadU64(path, 48);
        byte[] model = new byte[6 * MiB];
        new Random(5).NextBytes(model);
        using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            // Backwards in 64 KiB pieces, so allocation order differs from guest order.
            for (int at = model.Length - 65536; at >= 0; at -= 65536)
                Assert.Equal(BlockStatus.Ok, image.Write((ulong)at, model.AsSpan(at, 65536)));
        }
        Assert.NotEqual(tableBefore, ImageScratch.ReadU64(path, 48));
        Assert.True(ImageScratch.ReadU32(path, 56) >= 4, "refcount table clusters");
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void WithTinyCachesTheFileIsNeverCorruptBetweenRequests()
    {
        // Two L2 tables and two refcount blocks in memory: nearly every request evicts a dirty table, which writes
        // back metadata in the crash-safe order. What is on disk after any request, as a crash would leave it, may
        // leak clusters but has no corruption (qemu-img check exit status 3 at worst, never 2).
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "4M", "cluster_size=512");
        scratch.QemuIo(path, "write -P 0x3c 0 1M");
        scratch.QemuImg("snapshot", "-c", "s", path);
        byte[] model = scratch.QemuView(path);
        using (var image = Qcow2Image.Open(path, readOnly: false, l2CacheBytes: 1024, refcountCacheBytes: 1024))
        {
            for (int round = 0; round < 4; round++)
            {
                RandomWrites(image, model, seed: 20 + round, count: 25, maxLength: 40_000, aligned: round % 2 == 0);
                var r = TestProcess.Run("qemu-img", ["check", "-U", path], TimeSpan.FromSeconds(60));
                Assert.True(r.ExitCode is 0 or 3, $"qemu-img check after round {round}: exit {r.ExitCode}\n{r.Stdout}{r.Stderr}");
            }
            Assert.Equal(model, ReadAll(image));
        }
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void CompressedClustersAreReadAndRewrittenUncompressed()
    {
        using var scratch = new ImageScratch();
        string source = scratch.PathOf("source.raw");
        byte[] model = new byte[2 * MiB];
        var rng = new Random(3);
        for (int i = 0; i < model.Length; i += 64)
            Array.Fill(model, (byte)rng.Next(8), i, 64); // compressible, different in every cluster
        File.WriteAllBytes(source, model);
        string path = scratch.PathOf("disk.qcow2");
        scratch.QemuImg("convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096", source, path);
        Assert.Contains("compressed", scratch.QemuImg("check", path));

        using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            Assert.Equal(model, ReadAll(image));
            RandomWrites(image, model, seed: 11, count: 40, maxLength: 20_000, aligned: false);
            Assert.Equal(model, ReadAll(image));
        }
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void ClustersSharedWithASnapshotAreCopiedOnWrite()
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "4M", "cluster_size=4096");
        scratch.QemuIo(path, "write -P 0x5a 0 4M");
        byte[] before = scratch.QemuView(path);
        scratch.QemuImg("snapshot", "-c", "before", path);

        byte[] model = (byte[])before.Clone();
        using (var image = Qcow2Image.Open(path, readOnly: false))
            RandomWrites(image, model, seed: 13, count: 50, maxLength: 30_000, aligned: false);

        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
        Assert.Equal(before, scratch.QemuView(path, snapshot: "before"));
    }

    [Fact]
    public void ZeroClustersReadAsZerosAndPartialWritesKeepTheRestZero()
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "1M");
        scratch.QemuIo(path, "write -P 0x77 0 1M", "write -z 64k 128k");
        byte[] model = scratch.QemuView(path);
        Assert.All(model.AsSpan(64 * 1024, 128 * 1024).ToArray(), b => Assert.Equal(0, b));

        using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            Assert.Equal(model, ReadAll(image));
            byte[] data = [1, 2, 3, 4, 5];
            Assert.Equal(BlockStatus.Ok, image.Write(64 * 1024 + 1000, data));
            data.CopyTo(model, 64 * 1024 + 1000);
            Assert.Equal(model, ReadAll(image));
        }
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void FlushPutsEverythingInTheFileWhileTheImageStaysOpen()
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "4M", "cluster_size=4096");
        scratch.QemuIo(path, "write -P 0x01 0 1M");
        scratch.QemuImg("snapshot", "-c", "s", path);
        byte[] model = scratch.QemuView(path);
        using var image = Qcow2Image.Open(path, readOnly: false);
        RandomWrites(image, model, seed: 17, count: 40, maxLength: 50_000, aligned: true);
        Assert.Equal(BlockStatus.Ok, image.Flush());
        // qemu-img reads the file behind the open image (-U): the metadata is there, refcounts exact, no leaks.
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void ConcurrentRequestsFromSeveralThreadsAreSerialised()
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "4M", "cluster_size=4096");
        byte[] model = new byte[4 * MiB];
        using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            Parallel.For(0, 4, t =>
            {
                var rng = new Random(100 + t);
                var buffer = new byte[6000];
                var back = new byte[6000];
                for (int i = 0; i < 150; i++)
                {
                    // Each thread owns 1 MiB; requests straddle clusters, allocations interleave.
                    int offset = t * MiB + rng.Next(MiB - buffer.Length);
                    rng.NextBytes(buffer);
                    Assert.Equal(BlockStatus.Ok, image.Write((ulong)offset, buffer));
                    lock (model) buffer.CopyTo(model, offset);
                    Assert.Equal(BlockStatus.Ok, image.Read((ulong)offset, back));
                    Assert.Equal(buffer, back);
                    if (i % 50 == 0) Assert.Equal(BlockStatus.Ok, image.Flush());
                }
            });
        }
        scratch.AssertCheckClean(path);
        Assert.Equal(model, scratch.QemuView(path));
    }

    [Fact]
    public void PersistentBitmapsAreMarkedStaleBeforeTheFirstWrite()
    {
        // Autoclear feature bits name data a writer must keep up to date or disown (qcow2.txt): a read-only open
        // leaves the bitmap's bit alone, a read-write open clears it, and QEMU then treats the bitmap as stale.
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "1M");
        scratch.QemuImg("bitmap", "--add", path, "b0");
        Assert.Equal(1UL, ImageScratch.ReadU64(path, 88));
        using (Qcow2Image.Open(path, readOnly: true)) { }
        Assert.Equal(1UL, ImageScratch.ReadU64(path, 88));
        using (var image = Qcow2Image.Open(path, readOnly: false))
            Assert.Equal(BlockStatus.Ok, image.Write(0, new byte[4096]));
        Assert.Equal(0UL, ImageScratch.ReadU64(path, 88));
        var r = TestProcess.Run("qemu-img", ["check", path], TimeSpan.FromSeconds(60));
        Assert.Contains("bitmaps are now considered inconsistent", r.Stderr);
        Assert.NotEqual(2, r.ExitCode); // the bitmap's clusters count as leaks, nothing is corrupt
    }

    [Fact]
    public void StatusesForRangeReadOnlyAndClosedImages()
    {
        using var scratch = new ImageScratch();
        string path = scratch.CreateQcow2("disk.qcow2", "1M");
        using (var image = Qcow2Image.Open(path, readOnly: true))
        {
            Assert.True(image.ReadOnly);
            Assert.Equal(BlockStatus.ReadOnly, image.Write(0, new byte[512]));
            Assert.Equal(BlockStatus.OutOfRange, image.Read(MiB - 512, new byte[1024]));
            Assert.Equal(BlockStatus.Ok, image.Read(MiB - 512, new byte[512]));
        }
        var closed = Qcow2Image.Open(path, readOnly: false);
        Assert.Equal(BlockStatus.OutOfRange, closed.Write(MiB, new byte[1]));
        closed.Dispose();
        Assert.Equal(BlockStatus.IoError, closed.Read(0, new byte[512]));
        Assert.Equal(BlockStatus.IoError, closed.Write(0, new byte[512]));
        Assert.Equal(BlockStatus.IoError, closed.Flush());
        scratch.AssertCheckClean(path);
    }

    [Fact]
    public void CorruptCompressedDataIsAnIoErrorNotAnException()
    {
        using var scratch = new ImageScratch();
        string source = scratch.PathOf("source.raw");
        byte[] model = Enumerable.Range(0, 128 * 1024).Select(i => (byte)(i / 1000)).ToArray();
        File.WriteAllBytes(source, model);
        string path = scratch.PathOf("disk.qcow2");
        scratch.QemuImg("convert", "-c", "-O", "qcow2", source, path);
        long entry = ImageScratch.L2EntryOffset(path, 0);
        ulong descriptor = ImageScratch.ReadU64(path, entry);
        Assert.NotEqual(0UL, descriptor & (1UL << 62));
        ulong dataOffset = descriptor & ((1UL << 54) - 1); // 64 KiB clusters: the offset is bits 0-53
        ImageScratch.WriteU64(path, (long)dataOffset, 0xFFFF_FFFF_FFFF_FFFF);

        using var image = Qcow2Image.Open(path, readOnly: false);
        Assert.Equal(BlockStatus.IoError, image.Read(0, new byte[512]));
        Assert.Equal(BlockStatus.IoError, image.Write(512, new byte[512]));
        // The other cluster, compressed too, still reads.
        var second = new byte[64 * 1024];
        Assert.Equal(BlockStatus.Ok, image.Read(64 * 1024, second));
        Assert.Equal(model.AsSpan(64 * 1024).ToArray(), second);
    }
}
