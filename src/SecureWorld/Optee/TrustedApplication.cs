namespace Jit.SecureWorld.Optee;

/// <summary>The GlobalPlatform parameter types a TA sees (TEE_PARAM_TYPE_*).</summary>
public enum TaParamType : uint
{
    None = 0,
    ValueInput = 1,
    ValueOutput = 2,
    ValueInout = 3,
    MemrefInput = 5,
    MemrefOutput = 6,
    MemrefInout = 7,
}

/// <summary>
/// One of a call's four parameters: a value pair (<see cref="A"/>, <see cref="B"/>, 32 bits each as in the GP
/// TA API) or a memory reference (<see cref="Buffer"/>). For an output reference the TA sets <see cref="Size"/>
/// to what it wrote, or, with SHORT_BUFFER, to what it needs.
/// </summary>
public struct TaParam
{
    public TaParamType Type;
    public uint A, B;
    public SharedBuffer Buffer;
    public ulong Size;

    public readonly bool IsValue => Type is TaParamType.ValueInput or TaParamType.ValueOutput or TaParamType.ValueInout;
    public readonly bool IsMemref => Type is TaParamType.MemrefInput or TaParamType.MemrefOutput or TaParamType.MemrefInout;
}

/// <summary>
/// What a TA entry point returns: a TEE result, or "suspended" after it asked the normal world for something
/// (<see cref="TaInvocation.AllocateSharedMemory"/>); the OS calls the same entry point again once the answer is
/// in, with the TA's own <see cref="TaInvocation.Step"/> telling it where it was.
/// </summary>
public readonly struct TaReturn
{
    public uint Result { get; }
    public bool Suspended { get; }

    private TaReturn(uint result, bool suspended)
    {
        Result = result;
        Suspended = suspended;
    }

    public static TaReturn Done(uint result) => new(result, false);
    internal static TaReturn Suspend => new(0, true);

    public static implicit operator TaReturn(uint result) => Done(result);
}

/// <summary>
/// One open-session or invoke-command call as a TA sees it. The OS keeps one per thread and reuses it, so a call
/// allocates nothing; a TA must not keep it past the entry point's return except through <see cref="Step"/>.
/// </summary>
public sealed class TaInvocation
{
    public const int ParamCount = 4;

    private readonly TaParam[] parameters = new TaParam[ParamCount];

    /// <summary>The normal-world client (domid + 1) and how it logged in (OPTEE_MSG_LOGIN_*).</summary>
    public uint ClientId { get; internal set; }
    public uint Login { get; internal set; }

    /// <summary>The command of an invoke; 0 for open session.</summary>
    public uint Command { get; internal set; }

    /// <summary>What the TA's OpenSession left here; handed back at every invoke and at close.</summary>
    public object? Session { get; set; }

    /// <summary>The TA's own continuation state across an RPC: 0 on the first entry of a call.</summary>
    public int Step { get; set; }

    /// <summary>The normal world asked to cancel this call (OPTEE_MSG_CMD_CANCEL with its cancel_id).</summary>
    public bool CancelRequested { get; internal set; }

    public Span<TaParam> Params => parameters;

    /// <summary>The result of the last RPC, and the buffer an allocation returned.</summary>
    public uint RpcResult { get; internal set; }
    public SharedBuffer RpcBuffer { get; internal set; }

    internal RpcRequest Request;
    internal RpcAllocation Allocation;

    /// <summary>
    /// Asks the normal world's driver for <paramref name="size"/> bytes of shared memory (OPTEE_RPC_CMD_SHM_ALLOC of
    /// <paramref name="type"/>, OPTEE_RPC_SHM_TYPE_*). Return what this returns; on re-entry <see cref="RpcResult"/>
    /// says whether <see cref="RpcBuffer"/> holds the memory. A call holds at most one such buffer; whatever it
    /// still holds when it ends, the OS frees.
    /// </summary>
    public TaReturn AllocateSharedMemory(uint type, uint size)
    {
        if (Allocation.Held) throw new InvalidOperationException("a TA call holds at most one RPC buffer");
        Request = new RpcRequest(OpteeMsg.RpcCmdShmAlloc, type, size);
        return TaReturn.Suspend;
    }

    /// <summary>Gives the buffer of <see cref="AllocateSharedMemory"/> back (OPTEE_RPC_CMD_SHM_FREE).</summary>
    public TaReturn FreeSharedMemory()
    {
        if (!Allocation.Held) throw new InvalidOperationException("the TA call holds no RPC buffer");
        Request = new RpcRequest(OpteeMsg.RpcCmdShmFree, Allocation.Type, Allocation.Cookie);
        return TaReturn.Suspend;
    }

    internal void Begin(uint clientId, uint login, uint command, object? session)
    {
        ClientId = clientId;
        Login = login;
        Command = command;
        Session = session;
        Step = 0;
        CancelRequested = false;
        RpcResult = TeeResult.Success;
        RpcBuffer = default;
        Request = default;
        Allocation = default;
        parameters.AsSpan().Clear();
    }
}

/// <summary>An RPC command the secure world sends: SHM_ALLOC (type, size) or SHM_FREE (type, cookie).</summary>
internal readonly record struct RpcRequest(uint Command, uint Type, ulong Argument)
{
    public bool Pending => Command != 0;
}

/// <summary>The buffer an SHM_ALLOC returned, until SHM_FREE gives it back.</summary>
internal readonly record struct RpcAllocation(bool Held, uint Type, ulong Cookie);

/// <summary>
/// A trusted application written in C#, built into the OS as OP-TEE's early and pseudo TAs are. Every entry point
/// runs to completion or suspends for an RPC; none blocks.
/// </summary>
public interface ITrustedApplication
{
    Guid Uuid { get; }
    string Name { get; }

    /// <summary>Listed by the device-enumeration PTA, so Linux creates a TEE-bus device for it (optee-ta-UUID).</summary>
    bool IsDevice { get; }

    /// <summary>Opens a session; set <see cref="TaInvocation.Session"/> to the session's own state.</summary>
    TaReturn OpenSession(TaInvocation call);

    TaReturn Invoke(TaInvocation call);

    /// <summary>Releases what <paramref name="session"/> holds; also called when its client is destroyed.</summary>
    void CloseSession(object? session);
}
