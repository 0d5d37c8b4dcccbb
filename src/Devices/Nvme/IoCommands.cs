using System.Buffers.Binary;
using Jit.Devices.Storage;

namespace Jit.Devices.Nvme;

/// <summary>
/// The NVM command set (NVMe 1.4 chapter 6) on namespace 1: Read, Write, Flush, Write Zeroes and Dataset Management. Data
/// moves through one buffer of MDTS bytes: a write is gathered from the host's pages before the image sees any
/// of it, so a bad data pointer leaves the image untouched.
/// </summary>
public sealed partial class NvmeController
{
    private const uint ForceUnitAccess = 1u << 30; // CDW12 bit 30 of Write and Write Zeroes
    private const int ZeroChunk = 64 * 1024;
    private const int DatasetRangeSize = 16;

    private NvmeStatus ExecuteIo(in NvmeCommand c, out uint result)
    {
        result = 0;
        if (c.Fuse != 0 || c.DataPointerType != 0) return NvmeStatus.InvalidFieldInCommand;
        return c.Opcode switch
        {
            IoOpcode.Flush => Flush(in c),
            IoOpcode.Write => Write(in c),
            IoOpcode.Read => Read(in c),
            IoOpcode.WriteZeroes => WriteZeroes(in c),
            IoOpcode.DatasetManagement => DatasetManagement(in c),
            _ => NvmeStatus.InvalidCommandOpcode,
        };
    }

    /// <summary>Flush: makes every completed write durable. NSID FFFFFFFFh flushes all namespaces (VWC bits 2:1 = 11b).</summary>
    private NvmeStatus Flush(in NvmeCommand c)
    {
        if (c.NamespaceId != ActiveNamespaceId && c.NamespaceId != BroadcastNamespaceId) return NvmeStatus.InvalidNamespaceOrFormat;
        return FlushImage();
    }

    private NvmeStatus FlushImage()
    {
        if (image.Flush() == BlockStatus.Ok) return NvmeStatus.Success;
        logs.MediaErrorCount++;
        return NvmeStatus.WriteFault;
    }

    /// <summary>Read: SLBA in CDW10-11, NLB (0's based) in CDW12 15:0, data through PRP1 and PRP2.</summary>
    private NvmeStatus Read(in NvmeCommand c)
    {
        var check = CheckRange(in c, out ulong offset, out uint count);
        if (check != NvmeStatus.Success) return check;
        int bytes = (int)(count << IdentifyData.LbaShift);
        if (bytes > IdentifyData.MaxTransferBytes) return NvmeStatus.InvalidFieldInCommand;
        var mapped = prps.Map(c.Prp1, c.Prp2, bytes, pageSize);
        if (mapped != NvmeStatus.Success) return mapped;
        var data = buffer.AsSpan(0, bytes);
        var read = image.Read(offset, data);
        if (read != BlockStatus.Ok) return ImageError(read, NvmeStatus.UnrecoveredReadError);
        logs.BlocksRead += count;
        logs.ReadCommands++;
        return prps.CopyToGuest(data);
    }

    /// <summary>Write: as Read; FUA (CDW12 bit 30), or a disabled write cache, flushes before completing.</summary>
    private NvmeStatus Write(in NvmeCommand c)
    {
        var check = CheckRange(in c, out ulong offset, out uint count);
        if (check != NvmeStatus.Success) return check;
        int bytes = (int)(count << IdentifyData.LbaShift);
        if (bytes > IdentifyData.MaxTransferBytes) return NvmeStatus.InvalidFieldInCommand;
        if (image.ReadOnly) return NvmeStatus.NamespaceIsWriteProtected;
        var mapped = prps.Map(c.Prp1, c.Prp2, bytes, pageSize);
        if (mapped != NvmeStatus.Success) return mapped;
        var data = buffer.AsSpan(0, bytes);
        var gathered = prps.CopyFromGuest(data);
        if (gathered != NvmeStatus.Success) return gathered;
        var written = image.Write(offset, data);
        if (written != BlockStatus.Ok) return ImageError(written, NvmeStatus.WriteFault);
        logs.BlocksWritten += count;
        logs.WriteCommands++;
        return (c.Cdw12 & ForceUnitAccess) != 0 || !features.WriteCacheEnabled ? FlushImage() : NvmeStatus.Success;
    }

    /// <summary>Write Zeroes: zeros to the blocks, no data transfer, so not limited by MDTS; DEAC is a hint the model ignores.</summary>
    private NvmeStatus WriteZeroes(in NvmeCommand c)
    {
        var check = CheckRange(in c, out ulong offset, out uint count);
        if (check != NvmeStatus.Success) return check;
        if (image.ReadOnly) return NvmeStatus.NamespaceIsWriteProtected;
        ulong bytes = (ulong)count << IdentifyData.LbaShift;
        var zeros = buffer.AsSpan(0, (int)Math.Min(bytes, ZeroChunk));
        zeros.Clear();
        for (ulong done = 0; done < bytes; done += (ulong)zeros.Length)
        {
            var part = zeros[..(int)Math.Min((ulong)zeros.Length, bytes - done)];
            var written = image.Write(offset + done, part);
            if (written != BlockStatus.Ok) return ImageError(written, NvmeStatus.WriteFault);
        }
        logs.WriteCommands++;
        return (c.Cdw12 & ForceUnitAccess) != 0 || !features.WriteCacheEnabled ? FlushImage() : NvmeStatus.Success;
    }

    /// <summary>
    /// Dataset Management: NR (CDW10 7:0, 0's based) ranges of 16 bytes (context attributes, length in blocks, starting LBA). Every
    /// range is checked; deallocation (AD, CDW11 bit 2) is advisory and the model keeps the data, which DLFEAT = 0
    /// allows: the host is not told what deallocated blocks read.
    /// </summary>
    private NvmeStatus DatasetManagement(in NvmeCommand c)
    {
        if (c.NamespaceId != ActiveNamespaceId) return NvmeStatus.InvalidNamespaceOrFormat;
        int bytes = ((int)(c.Cdw10 & 0xFF) + 1) * DatasetRangeSize;
        var mapped = prps.Map(c.Prp1, c.Prp2, bytes, pageSize);
        if (mapped != NvmeStatus.Success) return mapped;
        var ranges = buffer.AsSpan(0, bytes);
        var gathered = prps.CopyFromGuest(ranges);
        if (gathered != NvmeStatus.Success) return gathered;
        for (int at = 0; at < bytes; at += DatasetRangeSize)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(ranges[(at + 4)..]);
            ulong start = BinaryPrimitives.ReadUInt64LittleEndian(ranges[(at + 8)..]);
            if (length != 0 && (start >= blocks || length > blocks - start)) return NvmeStatus.LbaOutOfRange;
        }
        if ((c.Cdw11 & 1u << 2) != 0 && image.ReadOnly) return NvmeStatus.NamespaceIsWriteProtected;
        return NvmeStatus.Success;
    }

    /// <summary>The namespace and the blocks of a Read, Write or Write Zeroes: SLBA in CDW10-11, NLB in CDW12 15:0.</summary>
    private NvmeStatus CheckRange(in NvmeCommand c, out ulong offset, out uint count)
    {
        ulong lba = (ulong)c.Cdw11 << 32 | c.Cdw10;
        count = (c.Cdw12 & 0xFFFF) + 1;
        offset = lba << IdentifyData.LbaShift;
        if (c.NamespaceId != ActiveNamespaceId) return NvmeStatus.InvalidNamespaceOrFormat;
        return lba >= blocks || count > blocks - lba ? NvmeStatus.LbaOutOfRange : NvmeStatus.Success;
    }

    private NvmeStatus ImageError(BlockStatus failure, NvmeStatus mediaError)
    {
        switch (failure)
        {
            case BlockStatus.OutOfRange: return NvmeStatus.LbaOutOfRange;
            case BlockStatus.ReadOnly: return NvmeStatus.NamespaceIsWriteProtected;
            default:
                logs.MediaErrorCount++;
                LogOnce("image-error", $"{image.Path}: an I/O error, reported to the host as a media error");
                return mediaError;
        }
    }
}
