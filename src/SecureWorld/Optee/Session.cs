namespace Jit.SecureWorld.Optee;

/// <summary>An open session of one client to one TA.</summary>
internal sealed class Session(uint id, ITrustedApplication application, uint login)
{
    public uint Id { get; } = id;
    public ITrustedApplication Application { get; } = application;
    public uint Login { get; } = login;
    public object? Context { get; set; }

    /// <summary>The call suspended in an RPC on this session, if any: a second call waits for it (TEE_ERROR_BUSY).</summary>
    public OpteeThread? ActiveCall { get; set; }
}
