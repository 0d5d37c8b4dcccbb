using System.Buffers.Binary;
using System.Text;
using Jit.Devices.Storage;

namespace Jit.Devices.Virtio;

/// <summary>
/// virtio-blk (virtio 1.2 5.2) on an <see cref="IBlockImage"/>: one request queue; read, write, flush and get-id.
/// A request is a 16-byte header the device reads, the data, and a status byte the device writes last. Image
/// errors become VIRTIO_BLK_S_IOERR; an image opened read-only offers VIRTIO_BLK_F_RO and fails every write
/// with VIRTIO_BLK_S_IOERR without writing (5.2.6, device requirements).
/// </summary>
public sealed class VirtioBlock : VirtioDevice
{
    // 5.2.3
    public const ulong FeatureSegMax = 1UL << 2, FeatureReadOnly = 1UL << 5, FeatureBlockSize = 1UL << 6, FeatureFlush = 1UL << 9;
    // 5.2.6
    public const uint TypeIn = 0, TypeOut = 1, TypeFlush = 4, TypeGetId = 8;
    public const byte StatusOk = 0, StatusIoError = 1, StatusUnsupported = 2;
    public const int IdBytes = 20;

    private const int HeaderSize = 16, ChunkSize = 64 * 1024;
    private const int CapacityField = 0, SegMaxField = 12, BlockSizeField = 20;

    private readonly IBlockImage image;
    private readonly byte[] config = new byte[24];
    private readonly byte[] id = new byte[IdBytes];
    private readonly byte[] chunk = new byte[ChunkSize];

    /// <param name="serial">What get-id answers (up to 20 bytes of ASCII); the image file's name by default.</param>
    public VirtioBlock(IBlockImage image, string? serial = null)
    {
        this.image = image;
        string name = serial ?? Path.GetFileName(image.Path);
        // 5.2.6: the ID is 20 bytes, NUL-padded, without a terminator when it fills them.
        Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(IdBytes, name.Length)), id);
        BinaryPrimitives.WriteUInt64LittleEndian(config.AsSpan(CapacityField), image.Size / IBlockImage.SectorSize);
        // A chain is header, data segments and status within the queue's descriptors.
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(SegMaxField), (uint)MaxQueueSize - 2);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(BlockSizeField), IBlockImage.SectorSize);
    }

    public override ushort DeviceType => 2;
    public override string Name => "virtio-blk";
    public override uint PciClassCode => 0x01_80_00; // mass storage, other
    public override ulong DeviceFeatures => FeatureSegMax | FeatureBlockSize | FeatureFlush | (image.ReadOnly ? FeatureReadOnly : 0);
    public override int QueueCount => 1;
    public override int ConfigSize => config.Length;

    public override void ReadConfig(int offset, Span<byte> data) => config.AsSpan(offset, data.Length).CopyTo(data);

    protected internal override void QueueNotified(VirtQueue queue)
    {
        while (queue.TryPop(out var request))
        {
            if (!Serve(queue, request, out uint written)) return;
            queue.Push(request, written);
        }
    }

    /// <summary>False when the chain could not be served at all (the queue is broken now).</summary>
    private bool Serve(VirtQueue queue, DescriptorChain request, out uint written)
    {
        written = 0;
        if (request.ReadableLength < HeaderSize || request.WritableLength < 1)
            return queue.Fail("blk-request", $"request {request.Head} has no 16-byte header or no status byte ({request.ReadableLength} readable, {request.WritableLength} writable bytes)");
        Span<byte> header = stackalloc byte[HeaderSize];
        if (!request.Read(0, header)) return false;
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        uint statusAt = request.WritableLength - 1;
        byte status;
        switch (type)
        {
            case TypeIn:
                status = Transfer(request, sector, statusAt, toGuest: true, out written);
                break;
            case TypeOut:
                status = image.ReadOnly ? StatusIoError : Transfer(request, sector, request.ReadableLength - HeaderSize, toGuest: false, out _);
                break;
            case TypeFlush:
                status = image.Flush() == BlockStatus.Ok ? StatusOk : StatusIoError;
                break;
            case TypeGetId:
                written = Math.Min(IdBytes, statusAt);
                status = request.Write(0, id.AsSpan(0, (int)written)) ? StatusOk : StatusIoError;
                break;
            default:
                status = StatusUnsupported;
                break;
        }
        if (queue.Broken) return false;
        Span<byte> statusByte = [status];
        if (!request.Write(statusAt, statusByte)) return false;
        written++;
        return true;
    }

    /// <summary>Moves <paramref name="length"/> bytes between the image at <paramref name="sector"/> and the request's data buffers.</summary>
    private byte Transfer(DescriptorChain request, ulong sector, uint length, bool toGuest, out uint moved)
    {
        moved = 0;
        // 5.2.6: data is whole sectors; the request must fit in the disk.
        if (length % IBlockImage.SectorSize != 0) return StatusIoError;
        ulong sectors = image.Size / IBlockImage.SectorSize;
        if (sector > sectors || length / IBlockImage.SectorSize > sectors - sector) return StatusIoError;
        ulong at = sector * IBlockImage.SectorSize;
        while (moved < length)
        {
            var part = chunk.AsSpan(0, (int)Math.Min(ChunkSize, length - moved));
            if (toGuest)
            {
                if (image.Read(at + moved, part) != BlockStatus.Ok) return StatusIoError;
                if (!request.Write(moved, part)) return StatusIoError;
            }
            else
            {
                if (!request.Read(HeaderSize + moved, part)) return StatusIoError;
                if (image.Write(at + moved, part) != BlockStatus.Ok) return StatusIoError;
            }
            moved += (uint)part.Length;
        }
        return StatusOk;
    }
}
