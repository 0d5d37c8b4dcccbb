using System.Buffers.Binary;
using Jit.Runtime;

namespace Jit.Devices.Storage;

/// <summary>The formats a disk image can be opened as, spelled as xl's <c>format=</c> spells them.</summary>
public enum DiskFormat
{
    /// <summary>The file's bytes are the disk's; xl's default.</summary>
    Raw,
    Qcow2,
}

/// <summary>
/// Opens disk images for block devices: <c>FILE[,format=raw|qcow2][,readonly]</c> as the command line and xl's
/// disk specification give them. The format is never guessed from the contents (a guest can write any bytes into
/// its raw disk); <see cref="Probe"/> only lets the caller warn about a likely mistake.
/// </summary>
public static class DiskImage
{
    /// <summary>Opens <paramref name="path"/> as <paramref name="format"/>; a raw open of a file that looks like qcow2 logs a warning.</summary>
    /// <exception cref="DiskImageException">The file cannot be opened, or is not a supported image of that format.</exception>
    public static IBlockImage Open(string path, DiskFormat format, bool readOnly)
    {
        switch (format)
        {
            case DiskFormat.Qcow2:
                if (Probe(path) != DiskFormat.Qcow2)
                    throw new DiskImageException($"{path} does not look like qcow2 (no QFI\\xfb magic) but format=qcow2 was given");
                return Qcow2Image.Open(path, readOnly);
            case DiskFormat.Raw:
                // Probed before opening: a read-write open is exclusive, even against this process.
                if (FormatMismatch(path, format) is { } warning) Log.Warn(warning);
                return RawImage.Open(path, readOnly);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    /// <summary>What the first bytes of <paramref name="path"/> say it is: qcow2 by its magic, raw otherwise.</summary>
    /// <exception cref="DiskImageException">The file cannot be read.</exception>
    public static DiskFormat Probe(string path)
    {
        using var file = ImageFile.Open(path, readOnly: true);
        Span<byte> magic = stackalloc byte[4];
        try
        {
            if (file.ReadExactly(magic, 0) && BinaryPrimitives.ReadUInt32BigEndian(magic) == Qcow2Header.Magic) return DiskFormat.Qcow2;
        }
        catch (IOException e)
        {
            throw new DiskImageException($"{path}: read error: {ImageFile.OneLine(e.Message)}", e);
        }
        return DiskFormat.Raw;
    }

    /// <summary>A one-line warning when the contents contradict the format given, e.g. "FILE looks like qcow2 but format=raw was given".</summary>
    public static string? FormatMismatch(string path, DiskFormat given)
    {
        DiskFormat seen = Probe(path);
        return seen == given ? null
            : $"{path} looks like {Name(seen)} but format={Name(given)} was given";
    }

    /// <summary>Parses xl's spelling of a format ("raw", "qcow2"); false for anything else.</summary>
    public static bool TryParseFormat(string text, out DiskFormat format)
    {
        switch (text)
        {
            case "raw": format = DiskFormat.Raw; return true;
            case "qcow2": format = DiskFormat.Qcow2; return true;
            default: format = default; return false;
        }
    }

    public static string Name(DiskFormat format) => format switch
    {
        DiskFormat.Raw => "raw",
        DiskFormat.Qcow2 => "qcow2",
        _ => format.ToString(),
    };
}
