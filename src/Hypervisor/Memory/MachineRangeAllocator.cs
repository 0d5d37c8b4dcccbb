namespace Jit.Hypervisor.Memory;

/// <summary>
/// Hands out ranges of a host's machine address space: each domain's RAM banks and the hypervisor's own pages
/// that the secure world may see (the TEE mediator's shadows) get frames no other owner has. Fresh space goes
/// first and a freed range is reused only once the fresh space is gone, so a stale machine address (a bug, or a
/// secure-world object that outlived its owner) reaches nothing rather than another domain's memory.
/// </summary>
/// <remarks>Ranges are granule-aligned and granule-sized; not thread-safe, the map calls it under its lock.</remarks>
internal sealed class MachineRangeAllocator
{
    private readonly ulong granule, end;
    private ulong next;
    // Freed ranges, sorted by base and coalesced.
    private readonly List<(ulong Base, ulong Size)> free = [];

    public MachineRangeAllocator(ulong start, ulong end, ulong granule)
    {
        if (granule == 0 || (granule & (granule - 1)) != 0 || start % granule != 0 || end <= start)
            throw new ArgumentException("machine ranges: start must be granule-aligned below end, the granule a power of two");
        next = start;
        this.end = end;
        this.granule = granule;
    }

    /// <summary>A range of at least <paramref name="size"/> bytes (rounded up to the granule), or null when none is left.</summary>
    public (ulong Base, ulong Size)? Allocate(ulong size)
    {
        if (size == 0 || size > end) return null;
        ulong rounded = (size + granule - 1) & ~(granule - 1);
        if (rounded <= end - next)
        {
            ulong at = next;
            next += rounded;
            return (at, rounded);
        }
        for (int i = 0; i < free.Count; i++)
        {
            var (b, s) = free[i];
            if (s < rounded) continue;
            if (s == rounded) free.RemoveAt(i);
            else free[i] = (b + rounded, s - rounded);
            return (b, rounded);
        }
        return null;
    }

    /// <summary>Gives back a range <see cref="Allocate"/> returned.</summary>
    public void Free(ulong @base, ulong size)
    {
        int i = 0;
        while (i < free.Count && free[i].Base < @base) i++;
        free.Insert(i, (@base, size));
        // Coalesce with the neighbours.
        if (i + 1 < free.Count && free[i].Base + free[i].Size == free[i + 1].Base)
        {
            free[i] = (free[i].Base, free[i].Size + free[i + 1].Size);
            free.RemoveAt(i + 1);
        }
        if (i > 0 && free[i - 1].Base + free[i - 1].Size == free[i].Base)
        {
            free[i - 1] = (free[i - 1].Base, free[i - 1].Size + free[i].Size);
            free.RemoveAt(i);
        }
    }

    /// <summary>Bytes never handed out, for tests.</summary>
    public ulong FreshBytes => end - next;
}
