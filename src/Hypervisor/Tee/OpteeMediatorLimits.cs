namespace Jit.Hypervisor.Tee;

/// <summary>
/// What one domain may hold through the OP-TEE mediator, so that no guest can make the hypervisor (or the secure
/// world) spend without bound. The defaults follow Xen's optee.c: 16 calls in flight, 16384 pages shared.
/// </summary>
public sealed record OpteeMediatorLimits
{
    /// <summary>Yielding calls in flight at once (Xen's MAX_STD_CALLS); the next gets ETHREAD_LIMIT and Linux retries.</summary>
    public int MaxCalls { get; init; } = 16;

    /// <summary>Parameters of one argument struct; Linux sends at most 6 (two meta and four TA parameters).</summary>
    public int MaxParams { get; init; } = 8;

    /// <summary>Pages of one buffer, registered, temporary or RPC-allocated (16 MiB).</summary>
    public int MaxBufferPages { get; init; } = 4096;

    /// <summary>Registered and RPC-allocated buffers held at once.</summary>
    public int MaxSharedBuffers { get; init; } = 256;

    /// <summary>Their pages together (Xen's MAX_TOTAL_SMH_BUF_PG, 64 MiB).</summary>
    public int MaxSharedPages { get; init; } = 16384;

    /// <summary>Buffers the guest gave for RPC arguments (RPC_FUNC_ALLOC): one per thread at most.</summary>
    public int MaxRpcArgBuffers { get; init; } = 16;

    /// <summary>Shadow pages (argument shadows and translated page lists) the domain may use at once.</summary>
    public int MaxShadowPages { get; init; } = 1024;
}
