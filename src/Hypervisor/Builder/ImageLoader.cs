using System.Buffers.Binary;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Builder;

/// <summary>A segment copied into guest RAM.</summary>
public readonly record struct LoadedSegment(ulong Address, ulong FileSize, ulong MemorySize);

/// <summary>What the loader put into RAM and where the program starts.</summary>
public sealed record LoadedImage(string File, bool IsElf, ulong Entry, IReadOnlyList<LoadedSegment> Segments);

/// <summary>
/// Loads a bare-metal program into a domain's RAM: an ELF64 AArch64 executable at the physical addresses of its
/// PT_LOAD program headers, or anything else as a flat binary at the start of RAM. Every field the file supplies
/// is checked before it is used; a bad file raises <see cref="ImageError"/>, never anything else.
/// </summary>
public static class ImageLoader
{
    // ELF constants (System V gABI, ELF-64 object file format).
    private const int EhdrSize = 64;
    private const int PhdrSize = 56;
    private const byte ElfClass64 = 2;
    private const byte ElfData2Lsb = 1;
    private const ushort EtExec = 2, EtDyn = 3;
    private const ushort EmAarch64 = 183;
    private const uint PtLoad = 1;

    public static LoadedImage Load(string path, PhysicalMemory ram, ulong flatBase)
    {
        byte[] data = ReadFile(path, ram);
        if (data.Length == 0) throw new ImageError(path, "empty file");
        if (data.Length >= 4 && data[0] == 0x7F && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F')
            return LoadElf(path, data, ram);
        return LoadFlat(path, data, ram, flatBase);
    }

    private static byte[] ReadFile(string path, PhysicalMemory ram)
    {
        try
        {
            if (Directory.Exists(path)) throw new ImageError(path, "is a directory, not a program image");
            var info = new FileInfo(path);
            if (!info.Exists) throw new ImageError(path, "no such file");
            ulong ramSize = 0;
            foreach (var b in ram.Banks) ramSize += b.Size;
            // Nothing larger than RAM can load, and reading it first would only waste host memory.
            if ((ulong)info.Length > ramSize)
                throw new ImageError(path, $"is {info.Length} bytes, more than the guest's {ramSize} bytes of RAM");
            return File.ReadAllBytes(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ImageError(path, "cannot be read: permission denied");
        }
        catch (IOException e)
        {
            throw new ImageError(path, $"cannot be read: {e.Message}");
        }
    }

    private static LoadedImage LoadFlat(string path, byte[] data, PhysicalMemory ram, ulong @base)
    {
        if (!InsideRam(ram, @base, (ulong)data.Length))
            throw new ImageError(path, $"flat binary of {data.Length} bytes does not fit in RAM at 0x{@base:x}");
        ram.Write(@base, data);
        return new LoadedImage(path, false, @base, [new LoadedSegment(@base, (ulong)data.Length, (ulong)data.Length)]);
    }

    private static LoadedImage LoadElf(string path, byte[] data, PhysicalMemory ram)
    {
        if (data.Length < EhdrSize)
            throw new ImageError(path, $"truncated ELF header ({data.Length} bytes, the header alone needs {EhdrSize})");
        if (data[4] != ElfClass64)
            throw new ImageError(path, data[4] == 1 ? "32-bit ELF; an AArch64 (ELF64) image is needed" : $"ELF class {data[4]} is not ELF64");
        if (data[5] != ElfData2Lsb)
            throw new ImageError(path, "big-endian ELF; an AArch64 little-endian image is needed");
        var d = new ReadOnlySpan<byte>(data);
        ushort type = U16(d, 16);
        ushort machine = U16(d, 18);
        ulong entry = U64(d, 24);
        ulong phoff = U64(d, 32);
        ushort phentsize = U16(d, 54);
        ushort phnum = U16(d, 56);
        if (machine != EmAarch64)
            throw new ImageError(path, $"ELF for {MachineName(machine)}, not AArch64");
        if (type == EtDyn)
            throw new ImageError(path, "position-independent ELF (ET_DYN); a bare-metal program must be linked at fixed addresses (ET_EXEC)");
        if (type != EtExec)
            throw new ImageError(path, $"ELF type {type} is not an executable (ET_EXEC)");
        if (phnum == 0)
            throw new ImageError(path, "ELF has no program headers, so nothing to load");
        if (phentsize != PhdrSize)
            throw new ImageError(path, $"ELF program header entries are {phentsize} bytes, ELF64 needs {PhdrSize}");
        if (phoff > (ulong)data.Length || (ulong)data.Length - phoff < (ulong)phnum * PhdrSize)
            throw new ImageError(path, $"truncated ELF: {phnum} program headers at offset 0x{phoff:x} run past the end of the file (0x{data.Length:x} bytes)");

        // Validate every segment before writing any, so a bad file leaves RAM untouched.
        var segments = new List<(ulong Offset, LoadedSegment Segment)>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = d.Slice((int)phoff + i * PhdrSize, PhdrSize);
            if (U32(ph, 0) != PtLoad) continue;
            ulong offset = U64(ph, 8);
            ulong paddr = U64(ph, 24);
            ulong filesz = U64(ph, 32);
            ulong memsz = U64(ph, 40);
            if (filesz > memsz)
                throw new ImageError(path, $"segment {i}: file size 0x{filesz:x} is larger than its memory size 0x{memsz:x}");
            if (offset > (ulong)data.Length || (ulong)data.Length - offset < filesz)
                throw new ImageError(path, $"truncated ELF: segment {i} needs bytes 0x{offset:x}..0x{offset + filesz:x} but the file has 0x{data.Length:x}");
            if (memsz == 0) continue;
            if (!InsideRam(ram, paddr, memsz))
                throw new ImageError(path, $"segment {i} at 0x{paddr:x}+0x{memsz:x} is outside RAM ({DescribeRam(ram)})");
            segments.Add((offset, new LoadedSegment(paddr, filesz, memsz)));
        }
        if (segments.Count == 0)
            throw new ImageError(path, "ELF has no loadable (PT_LOAD) segment");
        bool entryLoaded = false;
        foreach (var (_, s) in segments)
            if (entry - s.Address < s.MemorySize) entryLoaded = true;
        if (!entryLoaded)
            throw new ImageError(path, $"entry point 0x{entry:x} is not inside any loaded segment");

        foreach (var (offset, s) in segments)
        {
            ram.Write(s.Address, d.Slice((int)offset, (int)s.FileSize));
            // RAM starts zeroed, but segments may overlap: clear the .bss part explicitly.
            ZeroFill(ram, s.Address + s.FileSize, s.MemorySize - s.FileSize);
        }
        return new LoadedImage(path, true, entry, segments.ConvertAll(x => x.Segment));
    }

    private static void ZeroFill(PhysicalMemory ram, ulong address, ulong size)
    {
        Span<byte> zeros = stackalloc byte[4096];
        zeros.Clear();
        while (size > 0)
        {
            int n = (int)Math.Min(size, (ulong)zeros.Length);
            ram.Write(address, zeros[..n]);
            address += (ulong)n;
            size -= (ulong)n;
        }
    }

    private static bool InsideRam(PhysicalMemory ram, ulong address, ulong size)
    {
        var bank = ram.FindBank(address);
        return bank is not null && size <= bank.Size - (address - bank.Base);
    }

    private static string DescribeRam(PhysicalMemory ram) =>
        string.Join(", ", ram.Banks.Select(b => $"RAM is 0x{b.Base:x}..0x{b.Base + b.Size:x}"));

    private static string MachineName(ushort machine) => machine switch
    {
        3 => "x86 (EM_386)",
        40 => "32-bit Arm (EM_ARM)",
        62 => "x86-64 (EM_X86_64)",
        243 => "RISC-V (EM_RISCV)",
        _ => $"machine {machine}",
    };

    private static ushort U16(ReadOnlySpan<byte> d, int at) => BinaryPrimitives.ReadUInt16LittleEndian(d[at..]);
    private static uint U32(ReadOnlySpan<byte> d, int at) => BinaryPrimitives.ReadUInt32LittleEndian(d[at..]);
    private static ulong U64(ReadOnlySpan<byte> d, int at) => BinaryPrimitives.ReadUInt64LittleEndian(d[at..]);
}
