namespace Jit.Hypervisor.Tee;

/// <summary>
/// What one domain may hold through the FF-A mediator, so that no guest can make the hypervisor or the SPMC spend
/// without bound. The shadow of its RX/TX buffers is fixed at the largest pair it may map.
/// </summary>
public sealed record FfaMediatorLimits
{
    /// <summary>Pages of each of the guest's RX and TX buffers, and of their shadows (Xen allows one; Linux maps one).</summary>
    public int MaxBufferPages { get; init; } = 4;

    /// <summary>Live shares of the domain.</summary>
    public int MaxShares { get; init; } = 32;

    /// <summary>Pages of one share (16 MiB).</summary>
    public int MaxSharePages { get; init; } = 4096;

    /// <summary>Pages of all its shares together (64 MiB, as Xen's OP-TEE mediator allows).</summary>
    public int MaxSharedPages { get; init; } = 16384;

    /// <summary>Receivers of one share.</summary>
    public int MaxReceivers { get; init; } = 4;

    /// <summary>Constituent ranges of one share, as the guest gives them.</summary>
    public int MaxRanges { get; init; } = 256;
}
