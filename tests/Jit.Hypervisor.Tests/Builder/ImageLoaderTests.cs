using System.Buffers.Binary;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Tests.Builder;

public sealed class ImageLoaderTests : IDisposable
{
    private const ulong Ram = 0x4000_0000;
    private readonly string dir = Directory.CreateTempSubdirectory("jit-loader-").FullName;
    private readonly PhysicalMemory memory = new();

    public ImageLoaderTests() => memory.AddRam(Ram, 0x10_0000);

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

    private LoadedImage Load(string path) => ImageLoader.Load(path, memory, Ram);

    /// <summary>The error names the file and says what is wrong with it.</summary>
    private void Rejects(string path, string problem)
    {
        var e = Assert.Throws<ImageError>(() => Load(path));
        Assert.Equal(path, e.File);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static byte[] Code(params uint[] words)
    {
        var b = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 4), words[i]);
        return b;
    }

    private ulong Word(ulong pa)
    {
        Span<byte> b = stackalloc byte[4];
        memory.Read(pa, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    [Fact]
    public void AFlatBinaryLoadsAndStartsAtTheBase()
    {
        var image = Load(File("flat.bin", Code(0xD503201F, 0x14000000)));
        Assert.False(image.IsElf);
        Assert.Equal(Ram, image.Entry);
        Assert.Equal(0x14000000UL, Word(Ram + 4));
    }

    [Fact]
    public void AnElfLoadsAtItsPhysicalAddressesWithBssCleared()
    {
        // Dirty the .bss area first: the loader must clear it, not rely on fresh RAM.
        memory.Write(Ram + 0x2008, Code(0xFFFF_FFFF, 0xFFFF_FFFF));
        var elf = new TestElf { Entry = Ram + 0x1004 }
            .Load(Ram + 0x1000, Code(0xD503201F, 0x14000000))
            .Load(Ram + 0x2000, Code(0x1111_1111, 0x2222_2222), memsz: 0x20);
        var image = Load(File("prog.elf", elf.Build()));
        Assert.True(image.IsElf);
        Assert.Equal(Ram + 0x1004, image.Entry);
        Assert.Equal(2, image.Segments.Count);
        Assert.Equal(0x14000000UL, Word(Ram + 0x1004));
        Assert.Equal(0x2222_2222UL, Word(Ram + 0x2004));
        Assert.Equal(0UL, Word(Ram + 0x2008));
        Assert.Equal(0UL, Word(Ram + 0x200C));
    }

    [Fact]
    public void MissingFile() => Rejects(Path.Combine(dir, "nope.elf"), "no such file");

    [Fact]
    public void ADirectory() => Rejects(dir, "is a directory");

    [Fact]
    public void EmptyFile() => Rejects(File("empty.bin", []), "empty file");

    [Fact]
    public void TruncatedElfHeader() =>
        Rejects(File("short.elf", new TestElf().Load(Ram, Code(0)).Build()[..40]), "truncated ELF header");

    [Fact]
    public void NotAArch64() =>
        Rejects(File("x86.elf", new TestElf { Machine = 62 }.Load(Ram, Code(0)).Build()), "x86-64 (EM_X86_64), not AArch64");

    [Fact]
    public void Elf32() => Rejects(File("arm32.elf", new TestElf { Class = 1 }.Load(Ram, Code(0)).Build()), "32-bit ELF");

    [Fact]
    public void BigEndian() => Rejects(File("be.elf", new TestElf { DataEncoding = 2 }.Load(Ram, Code(0)).Build()), "big-endian");

    [Fact]
    public void PositionIndependent() => Rejects(File("pie.elf", new TestElf { Type = 3 }.Load(Ram, Code(0)).Build()), "ET_DYN");

    [Fact]
    public void Relocatable() => Rejects(File("obj.o", new TestElf { Type = 1 }.Load(Ram, Code(0)).Build()), "not an executable");

    [Fact]
    public void NoProgramHeaders() => Rejects(File("none.elf", new TestElf().Build()), "no program headers");

    [Fact]
    public void WrongProgramHeaderSize() =>
        Rejects(File("ph.elf", new TestElf { PhEntSize = 32 }.Load(Ram, Code(0)).Build()), "program header entries are 32 bytes");

    [Fact]
    public void TruncatedProgramHeaders()
    {
        var bytes = new TestElf().Load(Ram, Code(0)).Load(Ram + 0x100, Code(0)).Build();
        Rejects(File("ph-cut.elf", bytes[..100]), "program headers at offset 0x40 run past the end");
    }

    [Fact]
    public void TruncatedSegment()
    {
        var bytes = new TestElf().Load(Ram, Code(1, 2, 3, 4)).Build();
        Rejects(File("seg-cut.elf", bytes[..^8]), "truncated ELF: segment 0");
    }

    [Fact]
    public void SegmentBelowRam() => Rejects(File("low.elf", new TestElf { Entry = 0x1000 }.Load(0x1000, Code(0)).Build()),
        "segment 0 at 0x1000+0x4 is outside RAM");

    [Fact]
    public void SegmentRunningPastTheEndOfRam() =>
        Rejects(File("high.elf", new TestElf().Load(Ram + 0xF_FFFC, Code(0, 0)).Build()), "outside RAM");

    [Fact]
    public void BssRunningPastTheEndOfRam() =>
        Rejects(File("bss.elf", new TestElf().Load(Ram, Code(0), memsz: 0x20_0000).Build()), "outside RAM");

    [Fact]
    public void FileSizeLargerThanMemorySize() =>
        Rejects(File("sizes.elf", new TestElf().Load(Ram, Code(0, 0), memsz: 4).Build()), "larger than its memory size");

    [Fact]
    public void NoLoadableSegment()
    {
        var elf = new TestElf();
        elf.Segments.Add(new TestElf.Segment(4, Ram, Code(0), 4));   // PT_NOTE only
        Rejects(File("noload.elf", elf.Build()), "no loadable (PT_LOAD) segment");
    }

    [Fact]
    public void EntryOutsideTheSegments() =>
        Rejects(File("entry.elf", new TestElf { Entry = Ram + 0x8000 }.Load(Ram, Code(0)).Build()),
            "entry point 0x40008000 is not inside any loaded segment");

    [Fact]
    public void FlatBinaryLargerThanRam() => Rejects(File("big.bin", new byte[0x10_0001]), "more than the guest's");

    [Fact]
    public void ARejectedImageLeavesRamUntouched()
    {
        var elf = new TestElf().Load(Ram, Code(0xAAAA_AAAA)).Load(0x1000, Code(0xBBBB_BBBB));
        Assert.Throws<ImageError>(() => Load(File("half.elf", elf.Build())));
        Assert.Equal(0UL, Word(Ram));
    }

    [Fact]
    public void TheCommandLineReportsABadImageInOneLineWithExitCode2()
    {
        string path = File("x86.elf", new TestElf { Machine = 62 }.Load(Ram, Code(0)).Build());
        var err = new StringWriter();
        int rc = CommandLine.Run(["run", "--bare", path], TextWriter.Null, err);
        Assert.Equal(2, rc);
        Assert.Equal($"jit: {path}: ELF for x86-64 (EM_X86_64), not AArch64{Environment.NewLine}", err.ToString());
    }
}
