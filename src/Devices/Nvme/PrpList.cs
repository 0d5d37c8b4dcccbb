using System.Buffers.Binary;
using Jit.Runtime.Memory;

namespace Jit.Devices.Nvme;

/// <summary>
/// A command's data pointer as Physical Region Page entries (NVMe 1.4 4.3): PRP1 names the first page and may
/// start inside it; PRP2 is the second page when the data ends there, or else points to a PRP list, whose last
/// entry chains to the next list when more entries follow than its page holds. <see cref="Map"/> resolves the
/// entries into guest ranges, then the data moves through the controller's DMA port. Nothing here allocates:
/// the ranges and the list entries sit in arrays sized for the largest transfer the controller allows (MDTS).
/// </summary>
internal sealed class PrpList
{
    private const ulong OffsetMustBeZero = 3; // 4.3: bits 1:0 of every entry are reserved

    private readonly IDmaPort dma;
    private readonly ulong[] address;
    private readonly uint[] length;
    private readonly byte[] entries;
    private int count;

    /// <param name="maxBytes">The largest transfer to map; with the smallest page size it fixes the most ranges a transfer has.</param>
    public PrpList(IDmaPort dma, int maxBytes)
    {
        this.dma = dma;
        int maxRanges = maxBytes / (1 << NvmeRegisters.MinPageShift) + 1;
        address = new ulong[maxRanges];
        length = new uint[maxRanges];
        entries = new byte[8 * maxRanges];
    }

    /// <summary>
    /// Resolves <paramref name="bytes"/> of data (at most the constructor's maximum) described by PRP1 and PRP2 with
    /// memory pages of <paramref name="pageSize"/> bytes. Entries that break 4.3's rules give PRP Offset Invalid; a
    /// list the controller cannot read gives Data Transfer Error.
    /// </summary>
    public NvmeStatus Map(ulong prp1, ulong prp2, int bytes, int pageSize)
    {
        count = 0;
        if (bytes == 0) return NvmeStatus.Success;
        ulong pageMask = (ulong)pageSize - 1;
        if ((prp1 & OffsetMustBeZero) != 0) return NvmeStatus.PrpOffsetInvalid;
        uint first = (uint)Math.Min((ulong)bytes, (ulong)pageSize - (prp1 & pageMask));
        Add(prp1, first);
        uint remaining = (uint)bytes - first;
        if (remaining == 0) return NvmeStatus.Success;
        if (remaining <= pageSize)
        {
            // PRP2 is the second (and last) data page: no offset.
            if ((prp2 & pageMask) != 0) return NvmeStatus.PrpOffsetInvalid;
            Add(prp2, remaining);
            return NvmeStatus.Success;
        }
        // PRP2 is a list pointer; it may start inside its page but is a qword address.
        ulong list = prp2;
        // Each list page adds at least one range, except one whose only entry is the pointer to the next: bound the walk.
        for (int lists = 0; remaining > 0; lists++)
        {
            if ((list & 7) != 0 || lists > address.Length) return NvmeStatus.PrpOffsetInvalid;
            uint inPage = (uint)(((ulong)pageSize - (list & pageMask)) / 8);
            uint needed = (remaining + (uint)pageSize - 1) / (uint)pageSize;
            bool chains = needed > inPage;
            int read = (int)(chains ? inPage : needed);
            var span = entries.AsSpan(0, 8 * read);
            if (dma.Read(list, span) != GuestMemoryStatus.Ok) return NvmeStatus.DataTransferError;
            int data = chains ? read - 1 : read;
            for (int i = 0; i < data; i++)
            {
                ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(span[(8 * i)..]);
                if ((entry & pageMask) != 0) return NvmeStatus.PrpOffsetInvalid;
                uint part = Math.Min(remaining, (uint)pageSize);
                Add(entry, part);
                remaining -= part;
            }
            if (chains) list = BinaryPrimitives.ReadUInt64LittleEndian(span[(8 * (read - 1))..]);
        }
        return NvmeStatus.Success;
    }

    /// <summary>Writes <paramref name="data"/> (the mapped length) to the guest's pages; Data Transfer Error if one is not memory it may write.</summary>
    public NvmeStatus CopyToGuest(ReadOnlySpan<byte> data)
    {
        int done = 0;
        for (int i = 0; i < count; i++)
        {
            if (dma.Write(address[i], data.Slice(done, (int)length[i])) != GuestMemoryStatus.Ok) return NvmeStatus.DataTransferError;
            done += (int)length[i];
        }
        return NvmeStatus.Success;
    }

    /// <summary>Reads the guest's pages into <paramref name="data"/> (the mapped length).</summary>
    public NvmeStatus CopyFromGuest(Span<byte> data)
    {
        int done = 0;
        for (int i = 0; i < count; i++)
        {
            if (dma.Read(address[i], data.Slice(done, (int)length[i])) != GuestMemoryStatus.Ok) return NvmeStatus.DataTransferError;
            done += (int)length[i];
        }
        return NvmeStatus.Success;
    }

    private void Add(ulong at, uint bytes)
    {
        address[count] = at;
        length[count] = bytes;
        count++;
    }
}
