namespace Jit.Devices.Nvme;

/// <summary>
/// A physically contiguous submission queue (NVMe 1.4 4.1): the host moves the tail with its doorbell, the
/// controller moves the head as it fetches, and the queue is empty when they are equal.
/// </summary>
internal sealed class SubmissionQueue(ushort id, ulong baseAddress, uint size, CompletionQueue completion)
{
    public ushort Id { get; } = id;
    public ulong Base { get; } = baseAddress;
    /// <summary>Entries, 2 to 65536 (the command's QSIZE + 1).</summary>
    public uint Size { get; } = size;
    public CompletionQueue Completion { get; } = completion;
    public uint Head { get; set; }
    public uint Tail { get; set; }

    public bool Empty => Head == Tail;

    public ulong EntryAddress(uint index) => Base + ((ulong)index << NvmeRegisters.SubmissionEntryShift);

    public void AdvanceHead() => Head = Head + 1 == Size ? 0 : Head + 1;
}

/// <summary>
/// A physically contiguous completion queue (NVMe 1.4 4.1, 4.6): the controller posts at the tail with a phase tag
/// that flips on each wrap, the host frees entries with its head doorbell. It is full when the tail is one entry
/// behind the head; the controller then fetches no command whose completion would go there.
/// </summary>
internal sealed class CompletionQueue(ushort id, ulong baseAddress, uint size, ushort vector, bool interruptsEnabled)
{
    public ushort Id { get; } = id;
    public ulong Base { get; } = baseAddress;
    public uint Size { get; } = size;
    /// <summary>The interrupt vector (IV): an MSI-X or MSI vector; 0 with pin-based interrupts.</summary>
    public ushort Vector { get; } = vector;
    public bool InterruptsEnabled { get; } = interruptsEnabled;
    public uint Head { get; set; }
    public uint Tail { get; private set; }
    /// <summary>4.6: the phase tag of the entries being posted now; 1 on the first pass through the queue.</summary>
    public bool Phase { get; private set; } = true;
    /// <summary>Submission queues that post here; a completion queue with any cannot be deleted.</summary>
    public int SubmissionQueues { get; set; }
    /// <summary>Set when an entry was posted and the interrupt for it not raised yet.</summary>
    public bool InterruptDue { get; set; }

    public bool Full => (Tail + 1 == Size ? 0 : Tail + 1) == Head;
    public int FreeEntries => (int)((Head + Size - Tail - 1) % Size);

    /// <summary>Entries posted and not yet consumed by the host.</summary>
    public bool HasUnconsumed => Head != Tail;

    public ulong TailAddress => Base + ((ulong)Tail << NvmeRegisters.CompletionEntryShift);

    public void AdvanceTail()
    {
        if (++Tail != Size) return;
        Tail = 0;
        Phase = !Phase;
    }

    /// <summary>Whether <paramref name="head"/> frees only entries the controller posted (between the head and the tail).</summary>
    public bool IsValidHead(uint head)
    {
        if (head >= Size) return false;
        uint posted = (Tail + Size - Head) % Size, freed = (head + Size - Head) % Size;
        return freed <= posted;
    }
}
