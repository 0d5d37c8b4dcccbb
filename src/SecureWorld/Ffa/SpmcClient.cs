namespace Jit.SecureWorld.Ffa;

/// <summary>
/// What the SPMC keeps of one normal-world endpoint (the hypervisor, or a VM by the ID the hypervisor gives it):
/// the FF-A version it negotiated, its RX/TX buffer pair at machine addresses, who owns its RX buffer, and the
/// machine pages of the shares it made. Calls of one endpoint run under its lock.
/// </summary>
internal sealed class SpmcClient(ushort id)
{
    public ushort Id { get; } = id;
    public Lock Gate { get; } = new();

    /// <summary>The version the endpoint asked for with FFA_VERSION (1.1 until it asks): the layout of what it reads.</summary>
    public uint Version { get; set; } = FfaAbi.Version11;

    public ulong Tx { get; set; }
    public ulong Rx { get; set; }
    /// <summary>Pages of each buffer; 0 while none is mapped.</summary>
    public int BufferPages { get; set; }
    public int BufferSize => BufferPages * FfaAbi.PageSize;

    /// <summary>The SPMC wrote the RX buffer and the endpoint has not released it (FFA_RX_RELEASE).</summary>
    public bool RxHeldByClient { get; set; }

    /// <summary>A copy of the TX buffer, so that the descriptor is read once and cannot change under the SPMC.</summary>
    public byte[]? TxCopy { get; set; }

    /// <summary>The handles of its live shares, and every machine page in them: one page is shared once at a time.</summary>
    public HashSet<ulong> Handles { get; } = [];
    public HashSet<ulong> SharedPages { get; } = [];

    public bool IsEmpty => BufferPages == 0 && Handles.Count == 0;
}
