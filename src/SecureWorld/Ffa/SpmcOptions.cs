namespace Jit.SecureWorld.Ffa;

/// <summary>What one normal-world endpoint may hold at the SPMC, so that no VM can make the secure world spend without bound.</summary>
public sealed record SpmcOptions
{
    /// <summary>Pages of each of an endpoint's RX and TX buffers (FFA_RXTX_MAP w3 allows up to 63).</summary>
    public int MaxBufferPages { get; init; } = 16;

    /// <summary>Live shares of one endpoint.</summary>
    public int MaxSharesPerEndpoint { get; init; } = 64;

    /// <summary>Pages of one share (16 MiB).</summary>
    public int MaxPagesPerShare { get; init; } = 4096;

    /// <summary>Pages of all of one endpoint's shares together (64 MiB).</summary>
    public int MaxSharedPagesPerEndpoint { get; init; } = 16384;

    /// <summary>Constituent ranges of one share.</summary>
    public int MaxRangesPerShare { get; init; } = 256;

    /// <summary>Receivers of one share.</summary>
    public int MaxReceivers { get; init; } = 4;
}
