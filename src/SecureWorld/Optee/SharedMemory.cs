namespace Jit.SecureWorld.Optee;

/// <summary>
/// Normal-world memory the secure world knows by a page list (OPTEE_MSG_ATTR_NONCONTIG): registered shared
/// memory under its cookie, the temporary buffer of one parameter, or a buffer the normal world allocated for an
/// RPC. Its pages are 4 KiB machine frames, each checked once when the list was read.
/// </summary>
internal sealed class SharedMemory
{
    private const int PageShift = 12;
    private const ulong PageMask = OpteeMsg.NoncontigPageSize - 1;

    private ulong[] pages = [];

    public ulong Cookie { get; private set; }
    public ulong Size { get; private set; }
    public int PageCount { get; private set; }
    /// <summary>Where the data starts in the first page: the low 12 bits of buf_ptr.</summary>
    public uint FirstPageOffset { get; private set; }

    /// <summary>
    /// Reads the page list at <paramref name="bufPtr"/> (its low 12 bits the offset of the data in the first page)
    /// for <paramref name="size"/> bytes, replacing what this object held. Returns a TEE result: BAD_PARAMETERS for
    /// a malformed list or a page the normal world cannot share, OUT_OF_MEMORY past <paramref name="maxPages"/>.
    /// </summary>
    public uint Load(IMachineMemory memory, ulong bufPtr, ulong size, ulong cookie, int maxPages, Span<byte> listPage)
    {
        Reset();
        uint offset = (uint)(bufPtr & PageMask);
        ulong listAddress = bufPtr & ~PageMask;
        if (size == 0 || size > ulong.MaxValue - PageMask - offset) return TeeResult.ErrorBadParameters;
        ulong needed = (offset + size + PageMask) >> PageShift;
        if (needed > (ulong)maxPages) return TeeResult.ErrorOutOfMemory;
        int count = (int)needed;
        if (pages.Length < count) pages = new ulong[count];

        int loaded = 0;
        while (loaded < count)
        {
            if (memory.Read(listAddress, listPage) != MemoryStatus.Ok) return TeeResult.ErrorBadParameters;
            int inThisList = Math.Min(OpteeMsg.PageListEntries, count - loaded);
            for (int i = 0; i < inThisList; i++)
            {
                ulong page = ReadEntry(listPage, i);
                if ((page & PageMask) != 0 || memory.Check(page, OpteeMsg.NoncontigPageSize) != MemoryStatus.Ok)
                    return TeeResult.ErrorBadParameters;
                pages[loaded++] = page;
            }
            if (loaded < count)
            {
                listAddress = ReadEntry(listPage, OpteeMsg.PageListEntries);
                if ((listAddress & PageMask) != 0) return TeeResult.ErrorBadParameters;
            }
        }
        PageCount = count;
        FirstPageOffset = offset;
        Size = size;
        Cookie = cookie;
        return TeeResult.Success;
    }

    public void Reset()
    {
        PageCount = 0;
        Size = 0;
        Cookie = 0;
        FirstPageOffset = 0;
    }

    private static ulong ReadEntry(ReadOnlySpan<byte> list, int index) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(list[(index * 8)..]);

    /// <summary>Copies from byte <paramref name="offset"/> of the buffer; the caller has checked the range.</summary>
    public MemoryStatus Read(IMachineMemory memory, ulong offset, Span<byte> destination)
    {
        ulong position = FirstPageOffset + offset;
        while (!destination.IsEmpty)
        {
            int inPage = (int)Math.Min((ulong)destination.Length, OpteeMsg.NoncontigPageSize - (position & PageMask));
            var status = memory.Read(pages[position >> PageShift] + (position & PageMask), destination[..inPage]);
            if (status != MemoryStatus.Ok) return status;
            destination = destination[inPage..];
            position += (ulong)inPage;
        }
        return MemoryStatus.Ok;
    }

    public MemoryStatus Write(IMachineMemory memory, ulong offset, ReadOnlySpan<byte> source)
    {
        ulong position = FirstPageOffset + offset;
        while (!source.IsEmpty)
        {
            int inPage = (int)Math.Min((ulong)source.Length, OpteeMsg.NoncontigPageSize - (position & PageMask));
            var status = memory.Write(pages[position >> PageShift] + (position & PageMask), source[..inPage]);
            if (status != MemoryStatus.Ok) return status;
            source = source[inPage..];
            position += (ulong)inPage;
        }
        return MemoryStatus.Ok;
    }
}
