using System.Buffers.Binary;
using Jit.Runtime.Memory;

namespace Jit.Devices.Virtio;

/// <summary>
/// A split virtqueue (virtio 1.2 2.7) as the device side consumes it: the descriptor table, the driver area
/// (available ring) and the device area (used ring) in guest memory, reached only through the function's DMA
/// port. Every index, length and address the driver wrote is checked where it is read; one that breaks the
/// rules faults the queue, and the transport then marks the device DEVICE_NEEDS_RESET.
/// </summary>
/// <remarks>
/// Limits: a chain has at most Queue Size descriptors in the table, plus at most Queue Size in one indirect
/// table (2.7.5, indirect descriptors), so a loop is found by counting; a chain's buffers total less than 4 GiB; an indirect
/// descriptor may not chain on, nest, or appear unless VIRTIO_F_INDIRECT_DESC was negotiated; device-writable
/// descriptors come after every device-readable one (2.7.4, message framing and the descriptor table's rules).
/// </remarks>
public sealed class VirtQueue
{
    public const ushort NoVector = 0xFFFF;

    // 2.7.5: virtq_desc.flags
    private const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;
    // 2.7.6: virtq_avail.flags
    private const ushort AvailNoInterrupt = 1;
    private const int DescriptorSize = 16, UsedElementSize = 8;

    private readonly IDmaPort dma;
    private readonly Action<VirtQueue, string, string> fault;
    private readonly DescriptorChain chain;
    private ushort lastAvailIndex, usedIndex;

    internal VirtQueue(int index, ushort maxSize, IDmaPort dma, Action<VirtQueue, string, string> fault)
    {
        Index = index;
        MaxSize = maxSize;
        this.dma = dma;
        this.fault = fault;
        chain = new DescriptorChain(this, dma, 2 * maxSize);
        Reset();
    }

    public int Index { get; }
    public ushort MaxSize { get; }

    /// <summary>Queue Size as the driver chose it (a power of two up to <see cref="MaxSize"/>).</summary>
    public ushort Size { get; internal set; }
    public bool Enabled { get; private set; }
    public ushort MsixVector { get; internal set; }
    public ulong DescriptorArea { get; internal set; }
    public ulong DriverArea { get; internal set; }
    public ulong DeviceArea { get; internal set; }

    /// <summary>Set when the driver broke the queue's rules; nothing more is consumed until a reset.</summary>
    public bool Broken { get; private set; }

    internal bool EventIndex { get; set; }
    internal bool IndirectDescriptors { get; set; }
    internal ushort LastAvailIndex => lastAvailIndex;
    internal ushort UsedIndex => usedIndex;

    internal void Reset()
    {
        Size = MaxSize;
        Enabled = false;
        MsixVector = NoVector;
        DescriptorArea = DriverArea = DeviceArea = 0;
        Broken = false;
        EventIndex = IndirectDescriptors = false;
        lastAvailIndex = usedIndex = 0;
    }

    /// <summary>queue_enable = 1: the areas must be aligned as 2.7 requires and must not wrap the address space.</summary>
    internal void Enable()
    {
        Enabled = true;
        ulong size = Size;
        if ((DescriptorArea & 15) != 0 || (DriverArea & 1) != 0 || (DeviceArea & 3) != 0)
            Fail("ring-alignment", $"rings at 0x{DescriptorArea:x}/0x{DriverArea:x}/0x{DeviceArea:x} are not aligned as 2.7 requires");
        else if (Wraps(DescriptorArea, DescriptorSize * size) || Wraps(DriverArea, 6 + 2 * size) || Wraps(DeviceArea, 6 + UsedElementSize * size))
            Fail("ring-range", "a ring runs past the end of the address space");
    }

    private static bool Wraps(ulong address, ulong length) => address + length < address;

    /// <summary>Marks the queue broken; the transport logs <paramref name="detail"/> once per <paramref name="kind"/> and asks for a reset.</summary>
    public bool Fail(string kind, string detail)
    {
        if (!Broken)
        {
            Broken = true;
            fault(this, kind, detail);
        }
        return false;
    }

    /// <summary>Whether the driver has made buffers available that are not consumed yet.</summary>
    internal bool HasAvailable()
    {
        if (Broken || !Enabled) return false;
        if (dma.ReadUInt16(DriverArea + 2, out ushort availIndex) != GuestMemoryStatus.Ok)
            return Fail("ring-memory", $"available ring at 0x{DriverArea:x} is not guest memory");
        return availIndex != lastAvailIndex;
    }

    /// <summary>
    /// Takes the next available chain, checked whole. False when there is none or the queue faulted; the same
    /// <see cref="DescriptorChain"/> object is reused for every chain of this queue.
    /// </summary>
    public bool TryPop(out DescriptorChain next)
    {
        next = chain;
        if (Broken || !Enabled) return false;
        if (dma.ReadUInt16(DriverArea + 2, out ushort availIndex) != GuestMemoryStatus.Ok)
            return Fail("ring-memory", $"available ring at 0x{DriverArea:x} is not guest memory");
        ushort waiting = (ushort)(availIndex - lastAvailIndex);
        if (waiting == 0) return false;
        if (waiting > Size)
            return Fail("avail-index", $"available index {availIndex} is {waiting} entries ahead of {lastAvailIndex}, more than the queue's {Size}");
        ulong slot = DriverArea + 4 + 2UL * (ulong)(lastAvailIndex % Size);
        if (dma.ReadUInt16(slot, out ushort head) != GuestMemoryStatus.Ok)
            return Fail("ring-memory", $"available ring entry at 0x{slot:x} is not guest memory");
        if (head >= Size) return Fail("head-index", $"available ring names descriptor {head}, beyond the queue's {Size}");
        if (!Walk(head)) return false;
        lastAvailIndex++;
        return true;
    }

    private bool Walk(ushort head)
    {
        chain.Start(head);
        Span<byte> d = stackalloc byte[DescriptorSize];
        ulong table = DescriptorArea;
        uint entries = Size;
        uint index = head;
        uint walked = 0;
        bool indirect = false;
        while (true)
        {
            if (++walked > entries)
                return Fail("chain-loop", $"chain from descriptor {head} is longer than its table ({entries} entries): a loop");
            ulong at = table + DescriptorSize * (ulong)index;
            if (dma.Read(at, d) != GuestMemoryStatus.Ok)
                return Fail("descriptor-memory", $"descriptor {index} at 0x{at:x} is not guest memory");
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(d);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
            if ((flags & DescIndirect) != 0)
            {
                // 2.7.5, indirect descriptors: only with the feature, never inside an indirect table, never together with NEXT.
                if (!IndirectDescriptors) return Fail("indirect", "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
                if (indirect) return Fail("indirect", "indirect descriptor inside an indirect table");
                if ((flags & DescNext) != 0) return Fail("indirect", "indirect descriptor with NEXT set");
                if (length == 0 || length % DescriptorSize != 0 || length / DescriptorSize > Size || Wraps(address, length))
                    return Fail("indirect-length", $"indirect table of {length} bytes at 0x{address:x}: not 1 to {Size} whole descriptors");
                table = address;
                entries = length / DescriptorSize;
                index = 0;
                walked = 0;
                indirect = true;
                continue;
            }
            if (Wraps(address, length)) return Fail("buffer-range", $"buffer at 0x{address:x} of {length} bytes wraps the address space");
            if (!chain.Add(address, length, (flags & DescWrite) != 0, out string? problem)) return Fail("chain-layout", problem!);
            if ((flags & DescNext) == 0) return true;
            if (next >= entries) return Fail("next-index", $"descriptor {index} chains to {next}, beyond its table of {entries}");
            index = next;
        }
    }

    /// <summary>Returns <paramref name="done"/> to the driver with <paramref name="written"/> bytes written into its writable buffers.</summary>
    public void Push(DescriptorChain done, uint written)
    {
        if (Broken) return;
        Span<byte> element = stackalloc byte[UsedElementSize];
        BinaryPrimitives.WriteUInt32LittleEndian(element, done.Head);
        BinaryPrimitives.WriteUInt32LittleEndian(element[4..], written);
        ulong at = DeviceArea + 4 + UsedElementSize * (ulong)(usedIndex % Size);
        if (dma.Write(at, element) != GuestMemoryStatus.Ok)
        {
            Fail("ring-memory", $"used ring entry at 0x{at:x} is not guest memory");
            return;
        }
        // The element is written before the index that publishes it: an aligned 2-byte write is a release.
        usedIndex++;
        if (dma.WriteUInt16(DeviceArea + 2, usedIndex) != GuestMemoryStatus.Ok)
            Fail("ring-memory", $"used ring at 0x{DeviceArea:x} is not guest memory");
    }

    /// <summary>With VIRTIO_F_EVENT_IDX, asks to be notified when the driver makes the next buffer available (avail_event: available buffer notification suppression).</summary>
    internal void PublishAvailEvent()
    {
        if (!EventIndex || Broken) return;
        ulong at = DeviceArea + 4 + UsedElementSize * (ulong)Size;
        if (dma.WriteUInt16(at, lastAvailIndex) != GuestMemoryStatus.Ok)
            Fail("ring-memory", $"avail_event at 0x{at:x} is not guest memory");
    }

    /// <summary>
    /// Whether the driver wants an interrupt for what was used since <paramref name="usedBefore"/>: its used_event
    /// with VIRTIO_F_EVENT_IDX (used buffer notification suppression), otherwise VIRTQ_AVAIL_F_NO_INTERRUPT clear.
    /// </summary>
    internal bool NeedsInterrupt(ushort usedBefore)
    {
        if (Broken || usedIndex == usedBefore) return false;
        if (EventIndex)
        {
            ulong at = DriverArea + 4 + 2UL * Size;
            if (dma.ReadUInt16(at, out ushort usedEvent) != GuestMemoryStatus.Ok)
                return Fail("ring-memory", $"used_event at 0x{at:x} is not guest memory");
            return (ushort)(usedIndex - usedEvent - 1) < (ushort)(usedIndex - usedBefore);
        }
        if (dma.ReadUInt16(DriverArea, out ushort flags) != GuestMemoryStatus.Ok)
            return Fail("ring-memory", $"available ring at 0x{DriverArea:x} is not guest memory");
        return (flags & AvailNoInterrupt) == 0;
    }
}

/// <summary>
/// One chain of buffers the driver made available: device-readable segments, then device-writable ones, each
/// seen as one contiguous byte range. Reads and writes go through the DMA port; one that reaches outside guest
/// memory faults the queue and returns false.
/// </summary>
public sealed class DescriptorChain
{
    private readonly VirtQueue queue;
    private readonly IDmaPort dma;
    private readonly ulong[] addresses;
    private readonly uint[] lengths;
    private int readableCount, count;

    internal DescriptorChain(VirtQueue queue, IDmaPort dma, int capacity)
    {
        this.queue = queue;
        this.dma = dma;
        addresses = new ulong[capacity];
        lengths = new uint[capacity];
    }

    /// <summary>The head descriptor's index, which the used ring gives back.</summary>
    public ushort Head { get; private set; }

    /// <summary>Bytes the device may read, in total.</summary>
    public uint ReadableLength { get; private set; }

    /// <summary>Bytes the device may write, in total.</summary>
    public uint WritableLength { get; private set; }

    internal void Start(ushort head)
    {
        Head = head;
        readableCount = count = 0;
        ReadableLength = WritableLength = 0;
    }

    internal bool Add(ulong address, uint length, bool writable, out string? problem)
    {
        problem = null;
        if (count == addresses.Length) { problem = "chain has more descriptors than the queue allows"; return false; }
        if (!writable && count > readableCount)
        {
            problem = $"device-readable descriptor for 0x{address:x} after a device-writable one";
            return false;
        }
        if ((ulong)ReadableLength + WritableLength + length > uint.MaxValue)
        {
            problem = "chain's buffers total 4 GiB or more";
            return false;
        }
        addresses[count] = address;
        lengths[count] = length;
        count++;
        if (writable) WritableLength += length;
        else { readableCount++; ReadableLength += length; }
        return true;
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes from offset <paramref name="offset"/> of the readable buffers.</summary>
    public bool Read(uint offset, Span<byte> destination)
    {
        if ((ulong)offset + (uint)destination.Length > ReadableLength) return false;
        return Copy(0, readableCount, offset, destination, default, write: false);
    }

    /// <summary>Writes <paramref name="source"/> at offset <paramref name="offset"/> of the writable buffers.</summary>
    public bool Write(uint offset, ReadOnlySpan<byte> source)
    {
        if ((ulong)offset + (uint)source.Length > WritableLength) return false;
        return Copy(readableCount, count, offset, default, source, write: true);
    }

    private bool Copy(int first, int end, uint offset, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        int total = write ? from.Length : into.Length, done = 0;
        for (int i = first; i < end && done < total; i++)
        {
            if (offset >= lengths[i]) { offset -= lengths[i]; continue; }
            int n = (int)Math.Min(lengths[i] - offset, (uint)(total - done));
            ulong at = addresses[i] + offset;
            var status = write ? dma.Write(at, from.Slice(done, n)) : dma.Read(at, into.Slice(done, n));
            if (status != GuestMemoryStatus.Ok)
                return queue.Fail("buffer-memory", $"buffer at 0x{addresses[i]:x} ({lengths[i]} bytes) is not {(write ? "writable " : "")}guest memory");
            done += n;
            offset = 0;
        }
        return true;
    }
}
