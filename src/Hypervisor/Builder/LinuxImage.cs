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
        if (data.Length < HeaderSize) throw new ImageError(path, $"truncated: {data.Length} bytes is shorter than the 64-byte arm64 Image header");
        var h = data.AsSpan();
        if (BinaryPrimitives.ReadUInt32LittleEndian(h[56..]) != ArmMagic)
            throw new ImageError(path, "not an arm64 Linux Image (no \"ARM\\x64\" magic at offset 56), gzip'd Image or ELF");
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

    private static LoadedKernel LoadElf(string path, byte[] data, Jit.Runtime.Memory.PhysicalMemory ram, ulong ramBase, ulong ramSize)
    {
        var h = data.AsSpan();
        if (data.Length < 64 || data[4] != 2 || data[5] != 1)
            throw new ImageError(path, "truncated or not a little-endian ELF64 file");
        if (BinaryPrimitives.ReadUInt16LittleEndian(h[18..]) != 183) throw new ImageError(path, "ELF file is not for AArch64");
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        if (phentsize < 56 || phoff + (ulong)(phnum * phentsize) > (ulong)data.Length)
            throw new ImageError(path, "ELF program headers lie outside the file");
        var loads = new List<(ulong Vaddr, ulong Offset, ulong FileSize, ulong MemSize)>();
        for (int i = 0; i < phnum; i++)
        {
            var p = h[((int)phoff + i * phentsize)..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) != 1) continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]);
            ulong vaddr = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(p[40..]);
            if (offset + filesz > (ulong)data.Length || filesz > memsz)
                throw new ImageError(path, $"ELF segment {i} lies outside the file or has filesz > memsz");
            loads.Add((vaddr, offset, filesz, memsz));
        }
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
