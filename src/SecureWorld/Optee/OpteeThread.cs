namespace Jit.SecureWorld.Optee;

/// <summary>Where a thread is between SMCs.</summary>
internal enum ThreadState
{
    Free,
    /// <summary>Inside an SMC.</summary>
    Running,
    /// <summary>Returned OPTEE_SMC_RETURN_RPC_ALLOC; waits for the address and cookie of an RPC argument buffer.</summary>
    WaitRpcAlloc,
    /// <summary>Returned OPTEE_SMC_RETURN_RPC_CMD; waits for the normal world to have answered the request.</summary>
    WaitRpcCmd,
    /// <summary>Returned OPTEE_SMC_RETURN_RPC_FREE for its RPC argument buffer; the call is done after that.</summary>
    WaitRpcFree,
}

/// <summary>What a running call does next.</summary>
internal enum CallPhase
{
    /// <summary>Enter (or re-enter after an RPC) the TA.</summary>
    RunTa,
    /// <summary>Send the TA's pending RPC request, first getting an argument buffer for it if there is none.</summary>
    SendRpc,
    /// <summary>Write the results back to the normal world's argument struct.</summary>
    Finish,
    /// <summary>Release the thread and return the SMC status.</summary>
    Complete,
}

/// <summary>Where a struct optee_msg_arg lives: at a machine address, or at an offset in registered shared memory.</summary>
internal readonly record struct ArgLocation(SharedMemory? Shm, ulong At)
{
    public MemoryStatus Read(IMachineMemory memory, int offset, Span<byte> destination) => Shm is null
        ? memory.Read(At + (ulong)offset, destination)
        : Shm.Read(memory, At + (ulong)offset, destination);

    public MemoryStatus Write(IMachineMemory memory, int offset, ReadOnlySpan<byte> source) => Shm is null
        ? memory.Write(At + (ulong)offset, source)
        : Shm.Write(memory, At + (ulong)offset, source);
}

/// <summary>
/// One OP-TEE thread: a yielding call from its first SMC to the one that completes it, across the RPCs between.
/// A small state machine, no host thread: each SMC runs the call as far as it can go and returns. Everything it
/// needs is allocated once, when its client is created.
/// </summary>
internal sealed class OpteeThread
{
    /// <summary>Open session carries two meta parameters before the TA's four.</summary>
    public const int MaxArgParams = 2 + TaInvocation.ParamCount;

    public OpteeThread(int index, int rpcParamCount)
    {
        Index = index;
        RpcArgSize = OpteeMsg.ArgSize(rpcParamCount);
        RpcBytes = new byte[RpcArgSize];
        for (int i = 0; i < Temporary.Length; i++) Temporary[i] = new SharedMemory();
    }

    public int Index { get; }
    public ThreadState State { get; set; }
    public CallPhase Phase { get; set; }

    /// <summary>The call's argument struct, its secure copy, and how many bytes of it the call has.</summary>
    public ArgLocation Arg { get; set; }
    public byte[] ArgBytes { get; } = new byte[OpteeMsg.ArgSize(MaxArgParams)];
    public int ArgLength { get; set; }
    /// <summary>Whether the results go back to <see cref="Arg"/>: not when the command itself was refused (EBADCMD).</summary>
    public bool WriteBack { get; set; }
    public uint SmcStatus { get; set; }

    /// <summary>CALL_WITH_RPC_ARG and CALL_WITH_REGD_ARG: the RPC struct follows the call's own.</summary>
    public bool InlineRpcArg { get; set; }
    public ArgLocation RpcArg { get; set; }
    public int RpcArgSize { get; }
    public byte[] RpcBytes { get; }

    /// <summary>CALL_WITH_ARG: the buffer RPC_FUNC_ALLOC gave this thread; kept while the client's shm cache is on.</summary>
    public bool HasRpcArgBuffer { get; set; }
    public ulong RpcArgAddress { get; set; }
    public ulong RpcArgCookie { get; set; }
    /// <summary>The normal world's answer to RPC_FUNC_ALLOC was not memory it may share: free it, never use it.</summary>
    public bool RpcArgUnusable { get; set; }

    // The command in progress.
    public Session? Session { get; set; }
    public bool OpeningSession { get; set; }
    public int FirstTaParam { get; set; }
    public int TaParamCount { get; set; }
    public uint CancelId { get; set; }
    public CallPhase AfterRpc { get; set; }
    public TaInvocation Invocation { get; } = new();
    public SharedMemory[] Temporary { get; } = new SharedMemory[TaInvocation.ParamCount];
    public SharedMemory RpcPages { get; } = new();

    public bool Uses(SharedMemory shm)
    {
        if (ReferenceEquals(Arg.Shm, shm) || ReferenceEquals(RpcArg.Shm, shm)) return true;
        foreach (ref readonly var p in Invocation.Params)
            if (p.IsMemref && p.Buffer.Uses(shm)) return true;
        return false;
    }

    /// <summary>Back to free, keeping only the cached RPC argument buffer.</summary>
    public void Release()
    {
        State = ThreadState.Free;
        Session = null;
        OpeningSession = false;
        Arg = default;
        RpcArg = default;
        InlineRpcArg = false;
        Invocation.Begin(0, 0, 0, null);
    }
}
