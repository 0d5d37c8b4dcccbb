namespace Jit.Devices.Storage;

/// <summary>
/// A disk image as a block device sees it: a byte array of <see cref="Size"/> bytes that can be read, written and
/// flushed. virtio-blk and NVMe sit on this; they never see the image's format.
/// </summary>
/// <remarks>
/// <para>Requests: any byte offset and length inside [0, Size) is accepted. Devices make sector-aligned requests
/// (<see cref="SectorSize"/>); an unaligned one is served the same way, as no format here needs alignment (qcow2
/// works in clusters and merges partial ones itself). A device reports Size / SectorSize sectors; a raw file whose
/// length is not a multiple of 512 keeps its tail unreachable by sector requests, as on Xen and QEMU.</para>
/// <para>Errors are values: every request returns a <see cref="BlockStatus"/>, and no exception escapes a request
/// on an I/O error or on corrupt image metadata found while serving it (that is logged once per problem). Only
/// opening an image throws, a <see cref="DiskImageException"/> whose message is one line naming the file.</para>
/// <para>Threads: every member may be called from any thread, concurrently with the others (a device may serve
/// its queues from several vCPU threads). Each image serialises what it must: a raw image nothing (positional
/// reads and writes), a qcow2 image every request behind one lock, as a write may allocate clusters and rewrite
/// the tables other requests walk. Requests after <see cref="IDisposable.Dispose"/> return
/// <see cref="BlockStatus.IoError"/>; Dispose flushes first.</para>
/// <para>Durability: a completed write is in the file (no data is cached in this process), but reaches the disk
/// only with <see cref="Flush"/>, the guest's flush command: it writes back metadata in crash-safe order and
/// fsyncs. Between flushes a crash can lose writes, never leave the image inconsistent.</para>
/// </remarks>
public interface IBlockImage : IDisposable
{
    /// <summary>The logical block size devices report; offsets and lengths in sectors are in these units.</summary>
    public const int SectorSize = 512;

    /// <summary>The file the image was opened from, for messages.</summary>
    string Path { get; }

    /// <summary>The virtual disk's size in bytes (a qcow2 image's virtual size, a raw file's length).</summary>
    ulong Size { get; }

    /// <summary>Opened read-only: writes return <see cref="BlockStatus.ReadOnly"/>, devices advertise it (VIRTIO_BLK_F_RO, NVMe write protect).</summary>
    bool ReadOnly { get; }

    /// <summary>Reads buffer.Length bytes at <paramref name="offset"/>; unallocated and zero regions read as zeros.</summary>
    BlockStatus Read(ulong offset, Span<byte> buffer);

    /// <summary>Writes data at <paramref name="offset"/>; the file may grow (qcow2), the virtual size never does.</summary>
    BlockStatus Write(ulong offset, ReadOnlySpan<byte> data);

    /// <summary>Makes every completed write durable: metadata written back in order, then fsync of the file.</summary>
    BlockStatus Flush();
}

/// <summary>
/// The outcome of one request. virtio-blk answers everything but <see cref="Ok"/> with VIRTIO_BLK_S_IOERR; NVMe has a
/// status for each (LBA Out of Range, a write-protected namespace, and a media error for <see cref="IoError"/>).
/// </summary>
public enum BlockStatus
{
    Ok,
    /// <summary>The host file failed (EIO, ENOSPC, ...), or the image's metadata is corrupt, or the image is closed.</summary>
    IoError,
    /// <summary>The request reaches past <see cref="IBlockImage.Size"/>; nothing was transferred.</summary>
    OutOfRange,
    /// <summary>A write to an image opened read-only; nothing was written.</summary>
    ReadOnly,
}
