using Jit.Devices.Storage;

namespace Jit.Hypervisor.Tests.Devices.Storage;

public class RawImageTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void ReadsTheFileAndWritesReachIt()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("disk.raw");
        byte[] model = Pattern(1 << 20, 1);
        File.WriteAllBytes(path, model);

        using (var image = RawImage.Open(path, readOnly: false))
        {
            Assert.Equal((ulong)model.Length, image.Size);
            Assert.False(image.ReadOnly);
            var sector = new byte[IBlockImage.SectorSize * 3];
            Assert.Equal(BlockStatus.Ok, image.Read(4096, sector));
            Assert.Equal(model.AsSpan(4096, sector.Length).ToArray(), sector);

            byte[] data = Pattern(8192, 2);
            Assert.Equal(BlockStatus.Ok, image.Write(512 * 7, data));
            data.CopyTo(model, 512 * 7);
            // Unaligned requests are served too.
            byte[] odd = Pattern(1000, 3);
            Assert.Equal(BlockStatus.Ok, image.Write(123_457, odd));
            odd.CopyTo(model, 123_457);
            var back = new byte[1000];
            Assert.Equal(BlockStatus.Ok, image.Read(123_457, back));
            Assert.Equal(odd, back);
            Assert.Equal(BlockStatus.Ok, image.Flush());
        }
        Assert.Equal(model, File.ReadAllBytes(path));
    }

    [Fact]
    public void RequestsPastTheEndAndWritesToAReadOnlyImageTransferNothing()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("disk.raw");
        byte[] model = Pattern(64 * 1024, 4);
        File.WriteAllBytes(path, model);

        using (var image = RawImage.Open(path, readOnly: true))
        {
            Assert.True(image.ReadOnly);
            Assert.Equal(BlockStatus.ReadOnly, image.Write(0, new byte[512]));
            Assert.Equal(BlockStatus.OutOfRange, image.Read(64 * 1024 - 512, new byte[1024]));
            Assert.Equal(BlockStatus.OutOfRange, image.Read(ulong.MaxValue - 10, new byte[512]));
            Assert.Equal(BlockStatus.Ok, image.Read(64 * 1024, Span<byte>.Empty));
            Assert.Equal(BlockStatus.Ok, image.Flush());
        }
        using (var image = RawImage.Open(path, readOnly: false))
            Assert.Equal(BlockStatus.OutOfRange, image.Write(64 * 1024 - 511, new byte[512]));
        Assert.Equal(model, File.ReadAllBytes(path));
    }

    [Fact]
    public void ReadWriteOpensAreExclusive()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using (RawImage.Open(path, readOnly: false))
        {
            var e = Assert.Throws<DiskImageException>(() => RawImage.Open(path, readOnly: false));
            Assert.Contains(path, e.Message);
            Assert.Throws<DiskImageException>(() => RawImage.Open(path, readOnly: true));
        }
        using (RawImage.Open(path, readOnly: true))
        using (RawImage.Open(path, readOnly: true))
            Assert.Throws<DiskImageException>(() => RawImage.Open(path, readOnly: false));
    }

    [Fact]
    public void MissingFilesAndDirectoriesAreRefusedWithTheirName()
    {
        using var scratch = new ImageScratch();
        string missing = scratch.PathOf("nope.raw");
        var e = Assert.Throws<DiskImageException>(() => RawImage.Open(missing, readOnly: true));
        Assert.Equal($"{missing}: no such file", e.Message);
        e = Assert.Throws<DiskImageException>(() => RawImage.Open(scratch.Folder, readOnly: false));
        Assert.Contains("is a directory", e.Message);
    }

    [Fact]
    public void RequestsAfterDisposeFailWithoutThrowing()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        var image = RawImage.Open(path, readOnly: false);
        image.Dispose();
        Assert.Equal(BlockStatus.IoError, image.Read(0, new byte[512]));
        Assert.Equal(BlockStatus.IoError, image.Write(0, new byte[512]));
        Assert.Equal(BlockStatus.IoError, image.Flush());
    }

    [Fact]
    public void ConcurrentWritersFromSeveralThreadsAllLand()
    {
        using var scratch = new ImageScratch();
        string path = scratch.PathOf("disk.raw");
        File.WriteAllBytes(path, new byte[4 << 20]);
        byte[] model = new byte[4 << 20];
        using (var image = RawImage.Open(path, readOnly: false))
        {
            Parallel.For(0, 4, t =>
            {
                var rng = new Random(t);
                var buffer = new byte[4096];
                for (int i = 0; i < 200; i++)
                {
                    int sector = rng.Next(256) * 4 + t * 1024 * 2; // each thread owns 1 MiB
                    rng.NextBytes(buffer);
                    Assert.Equal(BlockStatus.Ok, image.Write((ulong)sector * 512, buffer));
                    lock (model) buffer.CopyTo(model, sector * 512);
                }
            });
        }
        Assert.Equal(model, File.ReadAllBytes(path));
    }
}
