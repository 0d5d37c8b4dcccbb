namespace Jit.Devices.Storage;

/// <summary>
/// A write-back cache of cluster-sized qcow2 tables (L2 tables or refcount blocks) keyed by their offset in the file.
/// Tables are read on first use and checked then; changed ones stay dirty until the image writes them back in its
/// crash-safe order, so evicting a dirty table first asks the image to do that (<see cref="WriteBackForEviction"/>).
/// </summary>
/// <remarks>
/// A slot number returned by <see cref="Get"/> or <see cref="Create"/> is valid until the next Get or Create on the
/// same cache, which may evict it; writing back and <see cref="Forget"/> never move other tables.
/// </remarks>
internal sealed class Qcow2TableCache(ImageFile file, int tableSize, int capacity, string what)
{
    /// <summary>Checks a table read from the file; returns the problem, or null when it is sound.</summary>
    public delegate string? TableCheck(ulong offset, ReadOnlySpan<byte> table);

    private readonly List<byte[]> tables = new(capacity);
    private readonly ulong[] offsets = new ulong[capacity];
    private readonly bool[] dirty = new bool[capacity];
    private readonly long[] lastUse = new long[capacity];
    private readonly Dictionary<ulong, int> slotOf = new(capacity);
    private long clock;
    private int dirtyCount;

    public TableCheck? Check { get; init; }

    /// <summary>Called before a dirty table is evicted; must leave every table of this cache clean, or throw.</summary>
    public required Action WriteBackForEviction { get; init; }

    public bool HasDirty => dirtyCount > 0;

    public Span<byte> Table(int slot) => tables[slot];

    /// <summary>The slot holding the table at <paramref name="offset"/>, read from the file if it is not cached.</summary>
    /// <exception cref="Qcow2CorruptException">The table lies past the end of the file or fails <see cref="Check"/>.</exception>
    public int Get(ulong offset)
    {
        if (slotOf.TryGetValue(offset, out int slot))
        {
            lastUse[slot] = ++clock;
            return slot;
        }
        slot = Victim();
        var table = tables[slot];
        if (!file.ReadExactly(table, offset))
            throw new Qcow2CorruptException($"{file.Path}: {what} at 0x{offset:x} lies past the end of the file");
        if (Check?.Invoke(offset, table) is { } problem)
            throw new Qcow2CorruptException($"{file.Path}: {what} at 0x{offset:x}: {problem}");
        Occupy(slot, offset);
        return slot;
    }

    /// <summary>A new all-zero table at <paramref name="offset"/> (a just-allocated cluster), dirty.</summary>
    public int Create(ulong offset)
    {
        Forget(offset);
        int slot = Victim();
        tables[slot].AsSpan().Clear();
        Occupy(slot, offset);
        MarkDirty(slot);
        return slot;
    }

    public void MarkDirty(int slot)
    {
        if (!dirty[slot]) dirtyCount++;
        dirty[slot] = true;
    }

    /// <summary>Writes every dirty table to the file (without fsync); the image decides when that is safe.</summary>
    public void WriteDirty()
    {
        for (int slot = 0; slot < tables.Count && dirtyCount > 0; slot++)
        {
            if (!dirty[slot]) continue;
            file.Write(tables[slot], offsets[slot]);
            dirty[slot] = false;
            dirtyCount--;
        }
    }

    /// <summary>Drops the table at <paramref name="offset"/>, dirty or not: its cluster was freed and may be reused for anything.</summary>
    public void Forget(ulong offset)
    {
        if (!slotOf.Remove(offset, out int slot)) return;
        if (dirty[slot]) dirtyCount--;
        dirty[slot] = false;
        lastUse[slot] = 0;
    }

    private void Occupy(int slot, ulong offset)
    {
        offsets[slot] = offset;
        slotOf[offset] = slot;
        lastUse[slot] = ++clock;
    }

    /// <summary>An empty slot, or the least recently used one after writing back if it is dirty.</summary>
    private int Victim()
    {
        if (tables.Count < capacity)
        {
            tables.Add(new byte[tableSize]);
            return tables.Count - 1;
        }
        int victim = 0;
        for (int slot = 1; slot < capacity; slot++)
            if (lastUse[slot] < lastUse[victim]) victim = slot;
        if (lastUse[victim] != 0)
        {
            if (dirty[victim]) WriteBackForEviction();
            if (dirty[victim]) throw new InvalidOperationException($"{what} cache: write-back left the victim dirty");
            slotOf.Remove(offsets[victim]);
            lastUse[victim] = 0;
        }
        return victim;
    }
}

/// <summary>
/// Corrupt metadata found while serving a request (a table past the end of the file, a bad entry, a refcount that
/// cannot be right). The image catches it at the request boundary, logs the message once and answers
/// <see cref="BlockStatus.IoError"/>; it never reaches a device.
/// </summary>
internal sealed class Qcow2CorruptException(string message) : Exception(message);
