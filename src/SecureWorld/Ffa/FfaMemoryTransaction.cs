using System.Buffers.Binary;

namespace Jit.SecureWorld.Ffa;

/// <summary>
/// A memory transaction descriptor of FF-A 1.1 as FFA_MEM_SHARE passes it in the TX buffer, read in place and
/// checked once for its shape: the 48-byte header (sender, memory region attributes, flags, handle, tag, the
/// size, count and offset of the endpoint memory access descriptors), one 16-byte access descriptor per receiver
/// (endpoint ID, permissions, flags, offset of the composite descriptor), the 16-byte composite memory region
/// descriptor (total pages, range count) and its 16-byte constituents (4 KiB-aligned address, page count).
/// </summary>
/// <remarks>
/// Both the SPMC and the hypervisor's mediator read descriptors with it: the mediator on its shadow of the
/// guest's TX buffer, the SPMC on what the mediator rewrote. Every offset and count is checked against the
/// descriptor's length before anything is read, so a hostile descriptor ends in INVALID_PARAMETERS, never in an
/// out-of-range read.
/// </remarks>
public readonly ref struct FfaMemoryTransaction
{
    public const int HeaderSize = 48;
    public const int AccessDescriptorSize = 16;
    public const int CompositeSize = 16;
    public const int ConstituentSize = 16;

    // Memory region attributes, bits [5:4]: the memory type; only Normal memory is shared.
    public const ushort MemoryTypeMask = 0x30, MemoryTypeNormal = 0x20;
    /// <summary>What Linux asks for: Normal, write-back cacheable, inner shareable.</summary>
    public const ushort NormalWriteBackInnerShareable = 0x2F;

    // Access permissions, bits [1:0] data and [3:2] instruction access; [7:4] reserved.
    public const byte DataAccessMask = 0x3, DataNoAccess = 1, DataReadOnly = 2, DataReadWrite = 3;
    public const byte InstructionAccessMask = 0xC;
    public const byte PermissionsReserved = 0xF0;

    /// <summary>Flags of a share: bit 0 (zero the memory) must be clear, bit 1 (time slicing) is allowed, the rest reserved.</summary>
    public const uint ShareFlagsAllowed = 0x2;

    private readonly ReadOnlySpan<byte> bytes;
    private readonly int accessOffset, compositeOffset;

    private FfaMemoryTransaction(ReadOnlySpan<byte> bytes, int accessOffset, int receivers, int compositeOffset, int ranges)
    {
        this.bytes = bytes;
        this.accessOffset = accessOffset;
        this.compositeOffset = compositeOffset;
        ReceiverCount = receivers;
        RangeCount = ranges;
    }

    public ushort Sender => BinaryPrimitives.ReadUInt16LittleEndian(bytes);
    public ushort Attributes => BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]);
    public uint Flags => BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
    public ulong Handle => BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
    public ulong Tag => BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
    public int ReceiverCount { get; }
    public int RangeCount { get; }

    /// <summary>Where the descriptor ends: the last constituent.</summary>
    public int Length => compositeOffset + CompositeSize + RangeCount * ConstituentSize;

    public ushort Receiver(int i) => BinaryPrimitives.ReadUInt16LittleEndian(bytes[(accessOffset + i * AccessDescriptorSize)..]);
    public byte Permissions(int i) => bytes[accessOffset + i * AccessDescriptorSize + 2];
    public byte ReceiverFlags(int i) => bytes[accessOffset + i * AccessDescriptorSize + 3];

    public uint TotalPages => BinaryPrimitives.ReadUInt32LittleEndian(bytes[compositeOffset..]);
    public ulong RangeAddress(int i) => BinaryPrimitives.ReadUInt64LittleEndian(bytes[(compositeOffset + CompositeSize + i * ConstituentSize)..]);
    public uint RangePages(int i) => BinaryPrimitives.ReadUInt32LittleEndian(bytes[(compositeOffset + CompositeSize + i * ConstituentSize + 8)..]);

    /// <summary>
    /// Reads the descriptor of a share at the start of <paramref name="bytes"/> (its length as the caller gave it)
    /// and checks its shape: 0 (success) or an FF-A error code, INVALID_PARAMETERS for anything malformed and
    /// NO_MEMORY for more receivers or ranges than the reader handles.
    /// </summary>
    public static int Parse(ReadOnlySpan<byte> bytes, int maxReceivers, int maxRanges, out FfaMemoryTransaction transaction)
    {
        transaction = default;
        if (bytes.Length < HeaderSize) return FfaAbi.InvalidParameters;
        uint accessSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[28..]);
        uint accessOffset = BinaryPrimitives.ReadUInt32LittleEndian(bytes[32..]);
        // A share gets its handle from the SPMC; the reserved bytes must be zero.
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]) != 0 || !IsZero(bytes[36..48])) return FfaAbi.InvalidParameters;
        if (accessSize != AccessDescriptorSize || count == 0) return FfaAbi.InvalidParameters;
        if (count > (uint)maxReceivers) return FfaAbi.NoMemory;
        // Access descriptors after the header, 16-byte aligned, inside the descriptor.
        if (accessOffset < HeaderSize || accessOffset % 16 != 0 || (ulong)accessOffset + count * AccessDescriptorSize > (ulong)bytes.Length)
            return FfaAbi.InvalidParameters;
        int accessEnd = (int)accessOffset + (int)count * AccessDescriptorSize;
        uint composite = 0;
        for (int i = 0; i < (int)count; i++)
        {
            var access = bytes.Slice((int)accessOffset + i * AccessDescriptorSize, AccessDescriptorSize);
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(access[4..]);
            if (!IsZero(access[8..16])) return FfaAbi.InvalidParameters;
            // One region for all receivers: every access descriptor names the same composite descriptor.
            if (i == 0) composite = offset;
            else if (offset != composite) return FfaAbi.InvalidParameters;
            for (int j = 0; j < i; j++)
                if (BinaryPrimitives.ReadUInt16LittleEndian(bytes[((int)accessOffset + j * AccessDescriptorSize)..]) == BinaryPrimitives.ReadUInt16LittleEndian(access))
                    return FfaAbi.InvalidParameters;
        }
        // The composite descriptor after the access descriptors, 8-byte aligned, with its constituents inside.
        if (composite < accessEnd || composite % 8 != 0 || (ulong)composite + CompositeSize > (ulong)bytes.Length) return FfaAbi.InvalidParameters;
        uint ranges = BinaryPrimitives.ReadUInt32LittleEndian(bytes[((int)composite + 4)..]);
        if (ranges == 0 || !IsZero(bytes.Slice((int)composite + 8, 8))) return FfaAbi.InvalidParameters;
        if ((ulong)composite + CompositeSize + (ulong)ranges * ConstituentSize > (ulong)bytes.Length) return FfaAbi.InvalidParameters;
        if (ranges > (uint)maxRanges) return FfaAbi.NoMemory;
        var t = new FfaMemoryTransaction(bytes, (int)accessOffset, (int)count, (int)composite, (int)ranges);
        ulong pages = 0;
        for (int i = 0; i < t.RangeCount; i++)
        {
            if ((t.RangeAddress(i) & (FfaAbi.PageSize - 1)) != 0 || t.RangePages(i) == 0) return FfaAbi.InvalidParameters;
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[((int)composite + CompositeSize + i * ConstituentSize + 12)..]) != 0) return FfaAbi.InvalidParameters;
            // The range must not wrap around the address space.
            if (t.RangeAddress(i) > ulong.MaxValue - ((ulong)t.RangePages(i) << 12) + 1) return FfaAbi.InvalidParameters;
            pages += t.RangePages(i);
        }
        if (pages != t.TotalPages) return FfaAbi.InvalidParameters;
        transaction = t;
        return 0;
    }

    /// <summary>
    /// Checks what a share may ask for, beyond the descriptor's shape: Normal memory, only the allowed flags, and
    /// for each receiver read-only or read-write data access, no instruction access, no reserved bits.
    /// </summary>
    public int CheckShare()
    {
        if ((Attributes & MemoryTypeMask) != MemoryTypeNormal || (Attributes & 0xFFC0) != 0) return FfaAbi.InvalidParameters;
        if ((Flags & ~ShareFlagsAllowed) != 0) return FfaAbi.InvalidParameters;
        for (int i = 0; i < ReceiverCount; i++)
        {
            byte p = Permissions(i);
            if ((p & DataAccessMask) is not (DataReadOnly or DataReadWrite)) return FfaAbi.InvalidParameters;
            // A share keeps the memory mapped at the sender: executing it at a receiver is not permitted.
            if ((p & (InstructionAccessMask | PermissionsReserved)) != 0 || ReceiverFlags(i) != 0) return FfaAbi.InvalidParameters;
        }
        return 0;
    }

    private static bool IsZero(ReadOnlySpan<byte> span) => span.IndexOfAnyExcept((byte)0) < 0;

    /// <summary>The size of a descriptor of <paramref name="receivers"/> receivers and <paramref name="ranges"/> ranges, as <see cref="Write"/> lays it out.</summary>
    public static int SizeOf(int receivers, int ranges) => HeaderSize + receivers * AccessDescriptorSize + CompositeSize + ranges * ConstituentSize;

    /// <summary>
    /// Writes the header, access descriptors and composite descriptor of <paramref name="source"/>'s transaction
    /// into <paramref name="destination"/> in the canonical layout (access descriptors right after the header,
    /// the composite after them) for <paramref name="ranges"/> constituents; the caller writes those with
    /// <see cref="WriteRange"/>. Returns the offset of the first constituent.
    /// </summary>
    public static int Write(Span<byte> destination, in FfaMemoryTransaction source, uint totalPages, int ranges)
    {
        int at = WriteHead(destination, source.Sender, source.Attributes, source.Flags, source.Tag, source.ReceiverCount, totalPages, ranges);
        for (int i = 0; i < source.ReceiverCount; i++)
            WriteReceiver(destination, i, source.Receiver(i), source.Permissions(i), source.ReceiverFlags(i), source.ReceiverCount);
        return at;
    }

    /// <summary>
    /// Writes a whole share descriptor, as a normal-world driver builds one: <paramref name="sender"/> shares
    /// <paramref name="ranges"/> with <paramref name="receivers"/>. Returns its length.
    /// </summary>
    public static int Build(Span<byte> destination, ushort sender, ReadOnlySpan<(ushort Id, byte Permissions)> receivers,
        ReadOnlySpan<(ulong Address, uint Pages)> ranges, ushort attributes = NormalWriteBackInnerShareable, uint flags = 0, ulong tag = 0)
    {
        uint total = 0;
        foreach (var (_, pages) in ranges) total += pages;
        int at = WriteHead(destination, sender, attributes, flags, tag, receivers.Length, total, ranges.Length);
        for (int i = 0; i < receivers.Length; i++) WriteReceiver(destination, i, receivers[i].Id, receivers[i].Permissions, 0, receivers.Length);
        for (int i = 0; i < ranges.Length; i++) WriteRange(destination, at, i, ranges[i].Address, ranges[i].Pages);
        return SizeOf(receivers.Length, ranges.Length);
    }

    private static int WriteHead(Span<byte> destination, ushort sender, ushort attributes, uint flags, ulong tag, int receivers, uint totalPages, int ranges)
    {
        int composite = HeaderSize + receivers * AccessDescriptorSize;
        destination[..(composite + CompositeSize)].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(destination, sender);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], attributes);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], tag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], AccessDescriptorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], (uint)receivers);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[32..], HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[composite..], totalPages);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(composite + 4)..], (uint)ranges);
        return composite + CompositeSize;
    }

    private static void WriteReceiver(Span<byte> destination, int index, ushort id, byte permissions, byte flags, int receivers)
    {
        var access = destination.Slice(HeaderSize + index * AccessDescriptorSize, AccessDescriptorSize);
        BinaryPrimitives.WriteUInt16LittleEndian(access, id);
        access[2] = permissions;
        access[3] = flags;
        BinaryPrimitives.WriteUInt32LittleEndian(access[4..], (uint)(HeaderSize + receivers * AccessDescriptorSize));
    }

    /// <summary>Writes constituent <paramref name="index"/> of a descriptor whose constituents start at <paramref name="rangesOffset"/>.</summary>
    public static void WriteRange(Span<byte> destination, int rangesOffset, int index, ulong address, uint pages)
    {
        var range = destination.Slice(rangesOffset + index * ConstituentSize, ConstituentSize);
        BinaryPrimitives.WriteUInt64LittleEndian(range, address);
        BinaryPrimitives.WriteUInt32LittleEndian(range[8..], pages);
        BinaryPrimitives.WriteUInt32LittleEndian(range[12..], 0);
    }
}
