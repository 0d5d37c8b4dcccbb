namespace Jit.Hypervisor.Tee;

/// <summary>What a shared buffer is to the mediator.</summary>
internal enum OpteeShmKind
{
    /// <summary>The page list of one temporary memory reference, for one call.</summary>
    Temporary,
    /// <summary>REGISTER_SHM'd by the guest, until UNREGISTER_SHM.</summary>
    Registered,
    /// <summary>Allocated by the guest for an RPC SHM_ALLOC, until the secure world's SHM_FREE.</summary>
    RpcAllocated,
}

/// <summary>
/// A guest buffer the mediator translated from a page list (Xen's optee_shm_buf): the guest's pages by IPA, each
/// checked to be the domain's own RAM when the list was read, and the cookie the guest knows it by. Objects are
/// pooled per domain and their arrays kept, so registering and freeing in steady state allocates nothing.
/// </summary>
internal sealed class OpteeShmBuffer
{
    private ulong[] ipas = new ulong[16];

    public OpteeShmKind Kind { get; set; }
    public ulong Cookie { get; set; }
    public ulong Size { get; set; }
    public int PageCount { get; private set; }
    /// <summary>Where the data starts in the first page: the low 12 bits of buf_ptr.</summary>
    public uint FirstPageOffset { get; set; }

    public ReadOnlySpan<ulong> Pages => ipas.AsSpan(0, PageCount);

    /// <summary>Room for <paramref name="count"/> pages, forgetting the old ones.</summary>
    public Span<ulong> Reset(int count)
    {
        if (ipas.Length < count) ipas = new ulong[Math.Max(count, 2 * ipas.Length)];
        PageCount = count;
        return ipas.AsSpan(0, count);
    }

    public void Clear()
    {
        PageCount = 0;
        Size = 0;
        Cookie = 0;
        FirstPageOffset = 0;
    }

    /// <summary>The IPA of byte <paramref name="offset"/> of the buffer and how many bytes follow it in its page; false past the end.</summary>
    public bool Locate(ulong offset, out ulong ipa, out int inPage)
    {
        ipa = 0;
        inPage = 0;
        if (offset >= Size) return false;
        ulong position = FirstPageOffset + offset;
        ipa = ipas[position >> 12] + (position & 0xFFF);
        inPage = (int)Math.Min(Size - offset, 4096 - (position & 0xFFF));
        return true;
    }
}
