namespace Jit.SecureWorld.Optee;

/// <summary>
/// The GlobalPlatform result codes that travel in optee_msg_arg.ret (TEEC_* in the client API, TEE_* in the
/// TA API: the same numbers), and where a result came from (ret_origin).
/// </summary>
public static class TeeResult
{
    public const uint Success = 0x0000_0000;
    public const uint ErrorGeneric = 0xFFFF_0000;
    public const uint ErrorAccessDenied = 0xFFFF_0001;
    public const uint ErrorCancel = 0xFFFF_0002;
    public const uint ErrorAccessConflict = 0xFFFF_0003;
    public const uint ErrorExcessData = 0xFFFF_0004;
    public const uint ErrorBadFormat = 0xFFFF_0005;
    public const uint ErrorBadParameters = 0xFFFF_0006;
    public const uint ErrorBadState = 0xFFFF_0007;
    public const uint ErrorItemNotFound = 0xFFFF_0008;
    public const uint ErrorNotImplemented = 0xFFFF_0009;
    public const uint ErrorNotSupported = 0xFFFF_000A;
    public const uint ErrorNoData = 0xFFFF_000B;
    public const uint ErrorOutOfMemory = 0xFFFF_000C;
    public const uint ErrorBusy = 0xFFFF_000D;
    public const uint ErrorCommunication = 0xFFFF_000E;
    public const uint ErrorSecurity = 0xFFFF_000F;
    public const uint ErrorShortBuffer = 0xFFFF_0010;
    public const uint ErrorTargetDead = 0xFFFF_3024;

    public const uint OriginApi = 1, OriginComms = 2, OriginTee = 3, OriginTrustedApp = 4;
}
