using Jit.Runtime;

namespace Jit.Devices.Storage;

/// <summary>
/// A raw image: the file's bytes are the disk's bytes. Its size is the file's length when opened and never changes.
/// Requests go straight to pread/pwrite without a lock; concurrent requests on overlapping ranges are as ordered as
/// the guest made them, which is what a disk promises.
/// </summary>
public sealed class RawImage : IBlockImage
{
    private readonly ImageFile file;

    private RawImage(ImageFile file)
    {
        this.file = file;
        Size = (ulong)file.Length;
    }

    /// <exception cref="DiskImageException">The file cannot be opened as asked.</exception>
    public static RawImage Open(string path, bool readOnly) => new(ImageFile.Open(path, readOnly));

    public string Path => file.Path;
    public ulong Size { get; }
    public bool ReadOnly => file.ReadOnly;

    public BlockStatus Read(ulong offset, Span<byte> buffer)
    {
        if (!Fits(offset, buffer.Length)) return BlockStatus.OutOfRange;
        try
        {
            int n = file.Read(buffer, offset);
            // The file was shortened behind our back: the disk keeps its size, the lost tail reads as zeros.
            buffer[n..].Clear();
            return BlockStatus.Ok;
        }
        catch (Exception e) when (IsIoFailure(e))
        {
            return Failed("read", e);
        }
    }

    public BlockStatus Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (ReadOnly) return BlockStatus.ReadOnly;
        if (!Fits(offset, data.Length)) return BlockStatus.OutOfRange;
        try
        {
            file.Write(data, offset);
            return BlockStatus.Ok;
        }
        catch (Exception e) when (IsIoFailure(e))
        {
            return Failed("write", e);
        }
    }

    public BlockStatus Flush()
    {
        if (ReadOnly) return BlockStatus.Ok;
        try
        {
            file.Sync();
            return BlockStatus.Ok;
        }
        catch (Exception e) when (IsIoFailure(e))
        {
            return Failed("flush", e);
        }
    }

    private bool Fits(ulong offset, int length) => offset <= Size && (ulong)length <= Size - offset;

    private BlockStatus Failed(string what, Exception e)
    {
        Log.Once($"disk-io:{Path}:{what}:{e.GetType().Name}", $"{Path}: {what} failed: {ImageFile.OneLine(e.Message)}");
        return BlockStatus.IoError;
    }

    /// <summary>What a request turns into <see cref="BlockStatus.IoError"/>: host I/O failures and a closed image.</summary>
    internal static bool IsIoFailure(Exception e) => e is IOException or UnauthorizedAccessException or ObjectDisposedException;

    public void Dispose()
    {
        if (!ReadOnly && !file.Handle.IsClosed) Flush();
        file.Dispose();
    }
}
