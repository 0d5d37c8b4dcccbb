using System.Buffers.Binary;
using System.IO.Compression;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Tests.Builder;

/// <summary>
/// The kernel loader holds a file to what its own headers promise, so a truncated download is refused with one
/// line instead of booting into whatever bytes happen to be there.
/// </summary>
public sealed class LinuxImageTests : IDisposable
{
    private const ulong Ram = 0x4000_0000, RamSize = 64UL << 20;
    private readonly string dir = Directory.CreateTempSubdirectory("jit-kernel-").FullName;
    private readonly PhysicalMemory memory = new();

    public LinuxImageTests() => memory.AddRam(Ram, RamSize);

    public void Dispose()
    {
        memory.Dispose();
        Directory.Delete(dir, true);
    }

    private string File(string name, byte[] content)
    {
        string path = Path.Combine(dir, name);
        System.IO.File.WriteAllBytes(path, content);
        return path;
    }

    private LoadedKernel Load(string path) => LinuxImage.Load(path, memory, Ram, RamSize);

    private void Rejects(string path, string problem)
    {
        var e = Assert.Throws<ImageError>(() => Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>
    /// An arm64 Image with an EFI stub as distributions ship it: "MZ", the Image header, a PE header at 0x40 and
    /// two sections, the last of which ends at <paramref name="length"/>.
    /// </summary>
    private static byte[] EfiImage(int length = 0x3000)
    {
        var b = new byte[length];
        var d = b.AsSpan();
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)length + 0x1000); // image_size, bss included
        BinaryPrimitives.WriteUInt32LittleEndian(d[56..], 0x644D_5241);              // "ARM\x64"
        BinaryPrimitives.WriteUInt32LittleEndian(d[0x3C..], 0x40);                   // PE header offset
        BinaryPrimitives.WriteUInt32LittleEndian(d[0x40..], 0x0000_4550);            // "PE\0\0"
        BinaryPrimitives.WriteUInt16LittleEndian(d[0x44..], 0xAA64);                 // Machine: arm64
        BinaryPrimitives.WriteUInt16LittleEndian(d[0x46..], 2);                      // NumberOfSections
        BinaryPrimitives.WriteUInt16LittleEndian(d[0x54..], 0xF0);                   // SizeOfOptionalHeader
        int optional = 0x58;
        BinaryPrimitives.WriteUInt16LittleEndian(d[optional..], 0x20B);              // PE32+
        BinaryPrimitives.WriteUInt32LittleEndian(d[(optional + 60)..], 0x1000);      // SizeOfHeaders
        int table = optional + 0xF0;
        WriteSection(d[table..], 0x1000, 0x1000);
        WriteSection(d[(table + 40)..], 0x2000, (uint)length - 0x2000);
        return b;
    }

    private static void WriteSection(Span<byte> s, uint pointer, uint size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], pointer);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest)) gz.Write(data);
        return output.ToArray();
    }

    [Fact]
    public void AWholeEfiImageLoads()
    {
        var k = Load(File("Image", EfiImage()));
        Assert.Equal(Ram, k.LoadAddress);
        var first = new byte[2];
        memory.Read(Ram, first);
        Assert.Equal("MZ"u8.ToArray(), first);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(0x1800)]
    [InlineData(0x2FFF)]
    public void AnEfiImageCutShortIsTruncated(int length) =>
        Rejects(File("Image", EfiImage()[..length]), $"truncated: {length} bytes, the header needs 12288");

    [Fact]
    public void ACutBeforeTheSectionTableIsTruncated() =>
        Rejects(File("Image", EfiImage()[..0x100]), "truncated: 256 bytes, the header needs 408");

    [Fact]
    public void AnImageShorterThanItsHeaderIsTruncated() =>
        Rejects(File("Image", EfiImage()[..40]), "truncated: 40 bytes, the header needs 64");

    [Fact]
    public void AnMzImageWithoutAPeHeaderIsRefused()
    {
        var image = EfiImage();
        image[0x40] = 0;
        Rejects(File("Image", image), "no PE signature at offset 0x40");
    }

    [Fact]
    public void AWholeGzipImageLoads() => Assert.Equal(Ram, Load(File("Image.gz", Gzip(EfiImage(0x20000)))).LoadAddress);

    [Fact]
    public void AGzipImageCutInTheMiddleIsTruncated()
    {
        // Random bytes do not compress, so half the file is half the stream.
        var image = EfiImage(0x20000);
        new Random(7).NextBytes(image.AsSpan(0x1000));
        var gz = Gzip(image);
        Rejects(File("Image.gz", gz[..(gz.Length / 2)]), $"truncated: the gzip stream stops after {gz.Length / 2} bytes, before its end");
    }

    [Fact]
    public void AGzipImageWithABadCrcIsCorrupt()
    {
        var gz = Gzip(EfiImage());
        gz[^8] ^= 1;
        Rejects(File("Image.gz", gz), "corrupt gzip data");
    }

    [Fact]
    public void AnElfCutAfterItsHeadersIsTruncated()
    {
        var elf = new TestElf { Entry = 0x4008_0000 }.Load(0x4008_0000, new byte[0x400]).Build();
        int headers = 64 + 56;
        Rejects(File("vmlinux", elf[..headers]), $"truncated: {headers} bytes, the header needs {elf.Length}");
    }

    [Fact]
    public void TheCommandLineRefusesATruncatedKernelAtOnce()
    {
        string path = File("Image", EfiImage()[..1000]);
        var err = new StringWriter();
        int rc = CommandLine.Run(["run", "--kernel", path, "--timeout", "30"], TextWriter.Null, err);
        Assert.Equal(2, rc);
        Assert.Equal($"jit: {path}: truncated: 1000 bytes, the header needs 12288\n", err.ToString());
    }
}
