namespace Jit.SecureWorld.Ffa;

/// <summary>
/// One memory region a VM shared with secure partitions by FFA_MEM_SHARE, from the SPMC's SUCCESS to the VM's
/// FFA_MEM_RECLAIM: its handle, its sender, its receivers with their access, the machine ranges it is made of,
/// and which receivers hold it retrieved (a share they hold cannot be reclaimed: DENIED).
/// </summary>
internal sealed class FfaShare(ulong handle, ushort sender, ushort[] receivers, byte[] permissions, (ulong Address, uint Pages)[] ranges, uint totalPages)
{
    public ulong Handle { get; } = handle;
    public ushort Sender { get; } = sender;
    public ushort[] Receivers { get; } = receivers;
    public byte[] Permissions { get; } = permissions;
    public (ulong Address, uint Pages)[] Ranges { get; } = ranges;
    public uint TotalPages { get; } = totalPages;
    public ulong Size => (ulong)TotalPages << 12;

    /// <summary>Bit i: receiver i has retrieved the region and not relinquished it.</summary>
    public uint Retrieved { get; set; }

    public int ReceiverIndex(ushort partition) => Array.IndexOf(Receivers, partition);

    /// <summary>
    /// The machine address of byte <paramref name="offset"/> of the region and how many bytes follow it in the same
    /// range; false past the end.
    /// </summary>
    public bool Locate(ulong offset, out ulong address, out ulong contiguous)
    {
        foreach (var (start, pages) in Ranges)
        {
            ulong size = (ulong)pages << 12;
            if (offset < size)
            {
                address = start + offset;
                contiguous = size - offset;
                return true;
            }
            offset -= size;
        }
        address = contiguous = 0;
        return false;
    }
}
