using Microsoft.Win32.SafeHandles;

namespace Jit.Devices.Storage;

/// <summary>
/// The host file under an image: positional reads and writes (pread/pwrite, so concurrent requests need no shared
/// file position), the length as written so far, and fsync. Opening turns the host's errors into one-line
/// <see cref="DiskImageException"/>s; afterwards I/O errors are exceptions the image turns into a status.
/// </summary>
internal sealed class ImageFile : IDisposable
{
    private long length;

    private ImageFile(string path, SafeFileHandle handle, bool readOnly)
    {
        Path = path;
        Handle = handle;
        ReadOnly = readOnly;
        length = RandomAccess.GetLength(handle);
    }

    public string Path { get; }
    public SafeFileHandle Handle { get; }
    public bool ReadOnly { get; }

    /// <summary>The file's length, including what this process wrote past the end it found.</summary>
    public long Length => Interlocked.Read(ref length);

    /// <summary>Something was written since the last <see cref="Sync"/>.</summary>
    public bool Unsynced { get; private set; }

    /// <summary>
    /// Opens the file; read-write opens are exclusive (a second read-write or read-only open of the same file by this
    /// or another jit fails), read-only opens may be shared with other read-only opens.
    /// </summary>
    public static ImageFile Open(string path, bool readOnly)
    {
        if (Directory.Exists(path)) throw new DiskImageException($"{path}: is a directory, not a disk image");
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open,
                readOnly ? FileAccess.Read : FileAccess.ReadWrite,
                readOnly ? FileShare.Read : FileShare.None);
            return new ImageFile(path, handle, readOnly);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DiskImageException($"{path}: no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DiskImageException(readOnly
                ? $"{path}: permission denied"
                : $"{path}: permission denied for writing (add readonly to open it read-only)", e);
        }
        catch (IOException e)
        {
            throw new DiskImageException($"{path}: cannot open: {OneLine(e.Message)} (is it already open read-write?)", e);
        }
    }

    /// <summary>Reads up to the end of the file; returns the bytes read, fewer than asked only at the end.</summary>
    public int Read(Span<byte> buffer, ulong offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(Handle, buffer[done..], (long)offset + done);
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    /// <summary>Reads buffer.Length bytes; false when the file ends first.</summary>
    public bool ReadExactly(Span<byte> buffer, ulong offset) => Read(buffer, offset) == buffer.Length;

    public void Write(ReadOnlySpan<byte> data, ulong offset)
    {
        RandomAccess.Write(Handle, data, (long)offset);
        Unsynced = true;
        long end = (long)offset + data.Length;
        long seen;
        while (end > (seen = Interlocked.Read(ref length)) && Interlocked.CompareExchange(ref length, end, seen) != seen) { }
    }

    /// <summary>fsync: everything written so far is on the disk when this returns.</summary>
    public void Sync()
    {
        RandomAccess.FlushToDisk(Handle);
        Unsynced = false;
    }

    public static string OneLine(string message) => message.ReplaceLineEndings(" ").TrimEnd('.', ' ');

    public void Dispose() => Handle.Dispose();
}
