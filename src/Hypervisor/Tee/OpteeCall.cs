using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tee;

internal enum OpteeCallState
{
    Free,
    /// <summary>Inside an SMC to the secure world.</summary>
    Running,
    /// <summary>The secure world returned an RPC; the guest answers it with RETURN_FROM_RPC.</summary>
    WaitRpc,
}

/// <summary>How the guest passed its argument struct.</summary>
internal enum OpteeArgMode
{
    /// <summary>CALL_WITH_ARG: at an IPA; an RPC needs a buffer from RPC_FUNC_ALLOC.</summary>
    WithArg,
    /// <summary>CALL_WITH_RPC_ARG: at an IPA, the RPC argument right after it.</summary>
    WithRpcArg,
    /// <summary>CALL_WITH_REGD_ARG: at an offset in registered shared memory, the RPC argument after it.</summary>
    Registered,
}

/// <summary>
/// One yielding call of a domain from its first SMC to the one that completes it (Xen's optee_std_call): where the
/// guest's argument struct is, the shadow the secure world works on instead, and the RPC it waits at. Pooled per
/// domain with everything it needs, so a call in steady state allocates nothing.
/// </summary>
internal sealed class OpteeCall
{
    public OpteeCall(int maxParams)
    {
        Original = new byte[OpteeMsg.ArgSize(maxParams)];
        Temporaries = new OpteeShmBuffer[maxParams];
        for (int i = 0; i < maxParams; i++) Temporaries[i] = new OpteeShmBuffer { Kind = OpteeShmKind.Temporary };
    }

    public OpteeCallState State { get; set; }
    public OpteeArgMode Mode { get; set; }

    /// <summary>The guest's argument struct: an IPA, or an offset in <see cref="ArgShm"/>.</summary>
    public ulong GuestArg { get; set; }
    public OpteeShmBuffer? ArgShm { get; set; }
    public int NumParams { get; set; }
    public int ArgSize => OpteeMsg.ArgSize(NumParams);
    public uint Cmd { get; set; }

    /// <summary>The shadow of the argument struct (and, inline, of the RPC argument after it); kept for the pool's life.</summary>
    public ShadowPage? Shadow { get; set; }

    /// <summary>The guest's argument as it gave it: results are patched into it, so nothing the mediator translated goes back.</summary>
    public byte[] Original { get; }

    /// <summary>The page lists of temporary memory references, one per parameter.</summary>
    public OpteeShmBuffer[] Temporaries { get; }

    /// <summary>REGISTER_SHM: the buffer being registered, kept if the secure world accepts it.</summary>
    public OpteeShmBuffer? Registering { get; set; }

    /// <summary>Shadow page lists lent for one SMC: the secure world reads a page list only in the SMC that passes it.</summary>
    public List<ShadowPage> Borrowed { get; } = new(64);

    // The RPC the call waits at: its function, the secure world's a1/a2 and thread (a3).
    public uint RpcFunction { get; set; }
    public ulong RpcA1 { get; set; }
    public ulong RpcA2 { get; set; }
    public uint ThreadId { get; set; }

    public bool UsesShm(OpteeShmBuffer shm) => State != OpteeCallState.Free && ReferenceEquals(ArgShm, shm);
}
