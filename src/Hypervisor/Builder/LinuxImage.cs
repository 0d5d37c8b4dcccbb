using System.Buffers.Binary;
using System.IO.Compression;

namespace Jit.Hypervisor.Builder;

/// <summary>Where a kernel landed in guest RAM and where it is entered.</summary>
public sealed record LoadedKernel(string File, ulong LoadAddress, ulong Entry, ulong End);

/// <summary>
/// Loads a Linux kernel the way arm64's boot protocol (Documentation/arm64/booting.rst) asks: an uncompressed
/// Image at a 2 MiB-aligned base plus its text_offset, with image_size bytes of RAM free from there; a gzip'd
/// Image is inflated first; an ELF vmlinux is laid out as the Image it would be (its first PT_LOAD at the
/// load address). Every field is checked; a bad file raises <see cref="ImageError"/>.
/// </summary>
public static class LinuxImage
{
    private const uint ArmMagic = 0x644D_5241; // "ARM\x64" at offset 56
    private const int HeaderSize = 64;

    public static LoadedKernel Load(string path, Jit.Runtime.Memory.PhysicalMemory ram, ulong ramBase, ulong ramSize)
    {
        byte[] data = ReadAll(path, ramSize);
        if (data.Length >= 2 && data[0] == 0x1F && data[1] == 0x8B) data = Inflate(path, data, ramSize);
        if (data.Length >= 4 && data[0] == 0x7F && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F')
            return LoadElf(path, data, ram, ramBase, ramSize);
        return LoadImage(path, data, ram, ramBase, ramSize);
    }

    private static LoadedKernel LoadImage(string path, byte[] data, Jit.Runtime.Memory.PhysicalMemory ram, ulong ramBase, ulong ramSize)
    {
        if (data.Length < HeaderSize) throw Truncated(path, data.Length, HeaderSize);
        var h = data.AsSpan();
        if (BinaryPrimitives.ReadUInt32LittleEndian(h[56..]) != ArmMagic)
            throw new ImageError(path, "not an arm64 Linux Image (no \"ARM\\x64\" magic at offset 56), gzip'd Image or ELF");
        if (h[0] == (byte)'M' && h[1] == (byte)'Z') CheckEfiStub(path, h);
        ulong textOffset = BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
        ulong imageSize = BinaryPrimitives.ReadUInt64LittleEndian(h[16..]);
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        // booting.rst: image_size 0 means a kernel older than 3.17, which used text_offset 0x80000.
        if (imageSize == 0)
        {
            textOffset = 0x80000;
            imageSize = (ulong)data.Length;
        }
        if ((flags & 1) != 0) throw new ImageError(path, "is a big-endian kernel; this machine is little-endian");
        if (imageSize < (ulong)data.Length)
            throw new ImageError(path, $"header says image_size 0x{imageSize:x}, smaller than the file's {data.Length} bytes: the file is not a valid Image");
        if (textOffset >= 2UL << 20 || textOffset % 4096 != 0)
            throw new ImageError(path, $"text_offset 0x{textOffset:x} is not a page-aligned offset below 2 MiB");
        ulong baseAddress = AlignUp(ramBase, 2UL << 20);
        ulong load = baseAddress + textOffset;
        if (load + imageSize > ramBase + ramSize)
            throw new ImageError(path, $"needs 0x{imageSize:x} bytes at 0x{load:x}, beyond the guest's RAM (0x{ramBase:x}+0x{ramSize:x})");
        ram.Write(load, data);
        return new LoadedKernel(path, load, load, load + imageSize);
    }

    /// <summary>
    /// An Image that starts with "MZ" carries an EFI stub: a PE/COFF header (its offset at 0x3C, booting.rst's
    /// res5) whose section table says where every section's bytes lie in the file. The file must hold them all;
    /// an Image without the stub states no length of its own.
    /// </summary>
    private static void CheckEfiStub(string path, ReadOnlySpan<byte> d)
    {
        // PE format: "PE\0\0", then the COFF file header (20 bytes: NumberOfSections at +2, SizeOfOptionalHeader
        // at +16), the optional header (SizeOfHeaders at +60 in PE32+), then 40-byte section headers
        // (SizeOfRawData at +16, PointerToRawData at +20).
        const int CoffHeaderSize = 20, SectionHeaderSize = 40;
        ulong pe = BinaryPrimitives.ReadUInt32LittleEndian(d[0x3C..]);
        ulong need = pe + 4 + CoffHeaderSize;
        if ((ulong)d.Length < need) throw Truncated(path, d.Length, need);
        if (BinaryPrimitives.ReadUInt32LittleEndian(d[(int)pe..]) != 0x0000_4550)
            throw new ImageError(path, $"starts with \"MZ\" but has no PE signature at offset 0x{pe:x}: not an arm64 Image with an EFI stub");
        var coff = d[(int)(pe + 4)..];
        ulong sections = BinaryPrimitives.ReadUInt16LittleEndian(coff[2..]);
        ulong optional = BinaryPrimitives.ReadUInt16LittleEndian(coff[16..]);
        ulong table = pe + 4 + CoffHeaderSize + optional;
        need = table + sections * SectionHeaderSize;
        if ((ulong)d.Length < need) throw Truncated(path, d.Length, need);
        if (optional >= 64) need = Math.Max(need, BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(pe + 4 + CoffHeaderSize + 60)..]));
        for (ulong i = 0; i < sections; i++)
        {
            var section = d[(int)(table + i * SectionHeaderSize)..];
            ulong size = BinaryPrimitives.ReadUInt32LittleEndian(section[16..]);
            ulong pointer = BinaryPrimitives.ReadUInt32LittleEndian(section[20..]);
            if (size != 0) need = Math.Max(need, pointer + size);
        }
        if ((ulong)d.Length < need) throw Truncated(path, d.Length, need);
    }

    private static ImageError Truncated(string path, long have, ulong need) =>
        new(path, $"truncated: {have} bytes, the header needs {need}");

    private static LoadedKernel LoadElf(string path, byte[] data, Jit.Runtime.Memory.PhysicalMemory ram, ulong ramBase, ulong ramSize)
    {
        var h = data.AsSpan();
        if (data.Length < 64) throw Truncated(path, data.Length, 64);
        if (data[4] != 2 || data[5] != 1) throw new ImageError(path, "not a little-endian ELF64 file");
        if (BinaryPrimitives.ReadUInt16LittleEndian(h[18..]) != 183) throw new ImageError(path, "ELF file is not for AArch64");
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(h[40..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        ulong shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[58..]);
        ulong shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[60..]);
        if (phentsize < 56) throw new ImageError(path, $"ELF program header entries are {phentsize} bytes, ELF64 needs 56");
        // Offsets are 64-bit and untrusted: saturate rather than wrap, so a huge one reads as "past the end".
        static ulong End(ulong offset, ulong size) => offset > ulong.MaxValue - size ? ulong.MaxValue : offset + size;
        ulong need = End(phoff, (ulong)phnum * (ulong)phentsize);
        if (need > (ulong)data.Length) throw Truncated(path, data.Length, need);
        // The file must hold everything its headers place in it: every segment and the section header table.
        if (shoff != 0) need = Math.Max(need, End(shoff, shnum * shentsize));
        var loads = new List<(ulong Vaddr, ulong Offset, ulong FileSize, ulong MemSize)>();
        for (int i = 0; i < phnum; i++)
        {
            var p = h[((int)phoff + i * phentsize)..];
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]);
            ulong vaddr = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(p[40..]);
            need = Math.Max(need, End(offset, filesz));
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) != 1) continue;
            if (filesz > memsz) throw new ImageError(path, $"ELF segment {i} has a file size (0x{filesz:x}) larger than its memory size (0x{memsz:x})");
            loads.Add((vaddr, offset, filesz, memsz));
        }
        if (need > (ulong)data.Length) throw Truncated(path, data.Length, need);
        if (loads.Count == 0) throw new ImageError(path, "ELF file has no loadable segment");
        ulong first = loads.Min(l => l.Vaddr);
        ulong last = loads.Max(l => l.Vaddr + l.MemSize);
        if (entry < first || entry >= last) throw new ImageError(path, $"ELF entry 0x{entry:x} is outside its segments");
        // The Image is the linked image from its first byte on: lay the segments out at a 2 MiB-aligned base.
        ulong load = AlignUp(ramBase, 2UL << 20);
        if (last - first > ramBase + ramSize - load)
            throw new ImageError(path, $"needs 0x{last - first:x} bytes, more than the guest's RAM");
        foreach (var l in loads)
            ram.Write(load + (l.Vaddr - first), h.Slice((int)l.Offset, (int)l.FileSize));
        return new LoadedKernel(path, load, load + (entry - first), load + (last - first));
    }

    /// <summary>Checks that <paramref name="path"/> is an initramfs: a cpio archive, plain or compressed as Linux can unpack.</summary>
    public static byte[] ReadInitramfs(string path, ulong limit)
    {
        byte[] data = ReadAll(path, limit);
        if (data.Length == 0) throw new ImageError(path, "empty file, not an initramfs");
        ReadOnlySpan<byte> d = data;
        bool known =
            d.StartsWith("070701"u8) || d.StartsWith("070702"u8) ||      // cpio newc / crc
            d.StartsWith(new byte[] { 0x1F, 0x8B }) ||                  // gzip
            d.StartsWith(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 }) || // xz
            d.StartsWith(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }) ||      // zstd
            d.StartsWith(new byte[] { 0x02, 0x21, 0x4C, 0x18 }) ||      // lz4 legacy
            d.StartsWith("BZh"u8) ||                                    // bzip2
            d.StartsWith(new byte[] { 0x5D, 0x00, 0x00 }) ||            // lzma
            d.StartsWith(new byte[] { 0x89, 0x4C, 0x5A, 0x4F });        // lzop
        if (!known) throw new ImageError(path, "not an initramfs: expected a cpio \"newc\" archive, plain or gzip/xz/zstd/lz4/bzip2/lzma/lzo compressed");
        return data;
    }

    /// <summary>Checks a device-tree blob's header (magic, sizes, version).</summary>
    public static byte[] ReadDeviceTree(string path)
    {
        byte[] data = ReadAll(path, 2UL << 20);
        if (data.Length < 40 || BinaryPrimitives.ReadUInt32BigEndian(data) != 0xD00D_FEED)
            throw new ImageError(path, "not a flattened device tree (no 0xd00dfeed magic)");
        uint total = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
        if (total > data.Length) throw new ImageError(path, $"truncated device tree: header says {total} bytes, file has {data.Length}");
        uint version = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(20));
        if (version < 16) throw new ImageError(path, $"device tree version {version} is older than 16");
        return data;
    }

    private static byte[] Inflate(string path, byte[] data, ulong limit)
    {
        // RFC 1952: a member ends with an 8-byte trailer, CRC-32 and ISIZE (the inflated length mod 2^32).
        try
        {
            using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[1 << 20];
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, n);
                if ((ulong)output.Length > limit) throw new ImageError(path, "inflates to more than the guest's RAM");
            }
            // GZipStream checks the trailer's CRC-32 when it reaches one, but where a cut file ends it ends quietly.
            // A file cut before its trailer ends in compressed bytes, which do not state what came out.
            if (data.Length < 18) throw new ImageError(path, $"truncated: {data.Length} bytes, a gzip stream needs at least 18");
            uint isize = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(data.Length - 4));
            if (isize != (uint)output.Length)
                throw new ImageError(path, $"truncated: the gzip stream stops after {data.Length} bytes, before its end (what it holds inflates to {output.Length} bytes and no trailer follows)");
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ImageError(path, $"corrupt gzip data: {e.Message}");
        }
    }

    private static byte[] ReadAll(string path, ulong limit)
    {
        try
        {
            if (Directory.Exists(path)) throw new ImageError(path, "is a directory");
            var info = new FileInfo(path);
            if (!info.Exists) throw new ImageError(path, "no such file");
            if ((ulong)info.Length > limit) throw new ImageError(path, $"is {info.Length} bytes, more than fits (0x{limit:x})");
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

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
