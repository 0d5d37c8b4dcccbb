namespace Jit.SecureWorld.Optee;

/// <summary>The limits and the identity of the modelled OP-TEE OS.</summary>
public sealed record OpteeOptions
{
    /// <summary>Yielding calls one client may have in the OS at once; the next gets OPTEE_SMC_RETURN_ETHREAD_LIMIT.</summary>
    public int ThreadsPerClient { get; init; } = 8;

    /// <summary>Clients (VMs) the OS accepts with VM_CREATED before it answers ENOTAVAIL.</summary>
    public int MaxClients { get; init; } = 64;

    public int MaxSessionsPerClient { get; init; } = 128;

    /// <summary>Registered shared-memory objects, and their 4 KiB pages together, per client.</summary>
    public int MaxSharedMemoryPerClient { get; init; } = 1024;
    public int MaxSharedMemoryPagesPerClient { get; init; } = 65536;

    /// <summary>Pages in one temporary (non-contiguous) parameter or one RPC allocation.</summary>
    public int MaxTemporaryPages { get; init; } = 1024;

    /// <summary>
    /// Whether EXCHANGE_CAPABILITIES offers OPTEE_SMC_SEC_CAP_RPC_ARG: Linux 6.1 then passes the RPC argument
    /// struct after the call's own (CALL_WITH_RPC_ARG, CALL_WITH_REGD_ARG) instead of having the OS allocate one
    /// with RPC_FUNC_ALLOC and cache it. Both ways work whatever this says; a mediator may hide the capability.
    /// </summary>
    public bool OfferRpcArg { get; init; } = true;

    /// <summary>Parameters the RPC argument struct must have room for (a3 of EXCHANGE_CAPABILITIES).</summary>
    public int RpcParamCount { get; init; } = 4;

    /// <summary>GET_OS_REVISION: Linux prints "optee: revision 3.20 (4a495400)".</summary>
    public uint OsRevisionMajor { get; init; } = 3;
    public uint OsRevisionMinor { get; init; } = 20;
    public uint OsBuildId { get; init; } = 0x4a49_5400;
}
