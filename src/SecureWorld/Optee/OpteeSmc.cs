namespace Jit.SecureWorld.Optee;

/// <summary>
/// OP-TEE's SMC interface as optee_smc.h defines it (Linux drivers/tee/optee/optee_smc.h, OP-TEE's
/// core/arch/arm/include/sm/optee_smc.h): every function is SMC32; the general queries sit at the top of owner
/// 63 (Trusted OS end), the rest at owner 50 (Trusted OS).
/// </summary>
public static class OpteeSmc
{
    private const uint Fast = 0x8000_0000;
    private const uint TrustedOs = 50u << 24, TrustedOsEnd = 63u << 24;

    public const uint CallsCount = Fast | TrustedOsEnd | 0xFF00;
    public const uint CallsUid = Fast | TrustedOsEnd | 0xFF01;
    public const uint CallsRevision = Fast | TrustedOsEnd | 0xFF03;

    public const uint GetOsUuid = Fast | TrustedOs | 0;
    public const uint GetOsRevision = Fast | TrustedOs | 1;
    public const uint GetShmConfig = Fast | TrustedOs | 7;
    public const uint L2ccMutex = Fast | TrustedOs | 8;
    public const uint ExchangeCapabilities = Fast | TrustedOs | 9;
    public const uint DisableShmCache = Fast | TrustedOs | 10;
    public const uint EnableShmCache = Fast | TrustedOs | 11;
    public const uint BootSecondary = Fast | TrustedOs | 12;
    public const uint VmCreated = Fast | TrustedOs | 13;
    public const uint VmDestroyed = Fast | TrustedOs | 14;
    public const uint GetThreadCount = Fast | TrustedOs | 15;
    public const uint EnableAsyncNotif = Fast | TrustedOs | 16;
    public const uint GetAsyncNotifValue = Fast | TrustedOs | 17;

    /// <summary>Yielding: a1/a2 = physical address of a struct optee_msg_arg (high/low 32 bits).</summary>
    public const uint CallWithArg = TrustedOs | 4;
    /// <summary>Yielding: a1–a3 = what the RPC return left there, a4/a5 = an RPC_ALLOC's cookie.</summary>
    public const uint ReturnFromRpc = TrustedOs | 3;
    /// <summary>Yielding: as CALL_WITH_ARG, with the RPC argument struct right after the call's own.</summary>
    public const uint CallWithRpcArg = TrustedOs | 18;
    /// <summary>Yielding: a1/a2 = cookie of registered shared memory, a3 = offset of the argument struct in it.</summary>
    public const uint CallWithRegdArg = TrustedOs | 19;

    // Return values in a0 of the Trusted OS's own functions.
    public const uint ReturnOk = 0x0;
    public const uint ReturnEThreadLimit = 0x1;
    public const uint ReturnEBusy = 0x2;
    public const uint ReturnEResume = 0x3;
    public const uint ReturnEBadAddr = 0x4;
    public const uint ReturnEBadCmd = 0x5;
    public const uint ReturnENoMem = 0x6;
    public const uint ReturnENotAvail = 0x7;
    public const uint ReturnUnknownFunction = 0xFFFF_FFFF;

    /// <summary>An RPC return is 0xFFFF0000 | the RPC function.</summary>
    public const uint ReturnRpcPrefix = 0xFFFF_0000;
    public const uint RpcFuncAlloc = 0, RpcFuncFree = 2, RpcFuncForeignIntr = 4, RpcFuncCmd = 5;
    public const uint ReturnRpcAlloc = ReturnRpcPrefix | RpcFuncAlloc;
    public const uint ReturnRpcFree = ReturnRpcPrefix | RpcFuncFree;
    public const uint ReturnRpcCmd = ReturnRpcPrefix | RpcFuncCmd;

    public static bool IsRpc(uint a0) => a0 != ReturnUnknownFunction && (a0 & 0xFFFF_0000) == ReturnRpcPrefix;

    // EXCHANGE_CAPABILITIES: normal-world bits in a1 on entry, secure-world bits in a1 on return.
    public const uint NsecCapUniprocessor = 1u << 0;
    public const uint SecCapHaveReservedShm = 1u << 0;
    public const uint SecCapUnregisteredShm = 1u << 1;
    public const uint SecCapDynamicShm = 1u << 2;
    public const uint SecCapVirtualization = 1u << 3;
    public const uint SecCapMemrefNull = 1u << 4;
    public const uint SecCapAsyncNotif = 1u << 5;
    public const uint SecCapRpcArg = 1u << 6;

    // The API this file describes and the OS that implements it (optee_msg.h).
    public const uint ApiUid0 = 0x384fb3e0, ApiUid1 = 0xe7f811e3, ApiUid2 = 0xaf630002, ApiUid3 = 0xa5d5c51b;
    public const uint ApiRevisionMajor = 2, ApiRevisionMinor = 0;
    public const uint OsUuid0 = 0x486178e0, OsUuid1 = 0xe7f811e3, OsUuid2 = 0xbc5e0002, OsUuid3 = 0xa5d5c51b;

    /// <summary>optee_smc.h's register pairs: a 64-bit value as (upper 32 bits, lower 32 bits).</summary>
    public static ulong Pair(ulong high, ulong low) => (ulong)(uint)high << 32 | (uint)low;
}
