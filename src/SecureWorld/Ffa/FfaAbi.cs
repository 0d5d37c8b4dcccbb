namespace Jit.SecureWorld.Ffa;

/// <summary>
/// The FF-A 1.1 ABI (Arm DEN0077A, "Arm Firmware Framework for Arm A-profile"): function IDs, error codes,
/// version numbers and the bits of the fields the SPMC and the hypervisor's mediator both read. FF-A lives in
/// the Standard Secure Service owner (4), function numbers 0x60–0xFF, beside PSCI and the TRNG.
/// </summary>
public static class FfaAbi
{
    public const uint Error = 0x8400_0060;
    public const uint Success32 = 0x8400_0061;
    public const uint Success64 = 0xC400_0061;
    public const uint Interrupt = 0x8400_0062;
    public const uint Version = 0x8400_0063;
    public const uint Features = 0x8400_0064;
    public const uint RxRelease = 0x8400_0065;
    public const uint RxTxMap32 = 0x8400_0066;
    public const uint RxTxMap64 = 0xC400_0066;
    public const uint RxTxUnmap = 0x8400_0067;
    public const uint PartitionInfoGet = 0x8400_0068;
    public const uint IdGet = 0x8400_0069;
    public const uint MsgWait = 0x8400_006B;
    public const uint Run = 0x8400_006D;
    public const uint MsgSendDirectReq32 = 0x8400_006F;
    public const uint MsgSendDirectReq64 = 0xC400_006F;
    public const uint MsgSendDirectResp32 = 0x8400_0070;
    public const uint MsgSendDirectResp64 = 0xC400_0070;
    public const uint MemDonate32 = 0x8400_0071;
    public const uint MemLend32 = 0x8400_0072;
    public const uint MemShare32 = 0x8400_0073;
    public const uint MemShare64 = 0xC400_0073;
    public const uint MemRetrieveReq32 = 0x8400_0074;
    public const uint MemReclaim = 0x8400_0077;
    public const uint SpmIdGet = 0x8400_0085;

    /// <summary>The first and last function numbers of the FF-A range in the Standard Secure Service owner.</summary>
    public const int FirstFunction = 0x60, LastFunction = 0xFF;

    /// <summary>Whether <paramref name="fid"/> is a fast call of the FF-A range, SMC32 or SMC64.</summary>
    public static bool IsFfa(uint fid) => (fid & 0xBFFF_FF00) == 0x8400_0000 && (fid & 0xFF) >= FirstFunction;

    // Error codes, returned in w2 of FFA_ERROR (FFA_VERSION returns NOT_SUPPORTED in w0 itself).
    public const int NotSupported = -1;
    public const int InvalidParameters = -2;
    public const int NoMemory = -3;
    public const int Busy = -4;
    public const int Interrupted = -5;
    public const int Denied = -6;
    public const int Retry = -7;
    public const int Aborted = -8;
    public const int NoData = -9;

    /// <summary>Version numbers: bit 31 zero, major in [30:16], minor in [15:0].</summary>
    public const uint Version10 = 0x0001_0000, Version11 = 0x0001_0001;
    public const uint VersionMbz = 1u << 31;
    public static uint Major(uint version) => version >> 16;
    public static uint Minor(uint version) => version & 0xFFFF;

    /// <summary>The endpoint ID of the hypervisor; VMs are 1 and up (domid + 1, as Xen numbers them).</summary>
    public const ushort HypervisorId = 0;

    /// <summary>Bit 15 set: a secure endpoint. The SPMC's own ID (FFA_SPM_ID_GET).</summary>
    public const ushort SpmcId = 0x8000;

    /// <summary>FFA_PARTITION_INFO_GET w5 bit 0: return the count only, write nothing to the RX buffer.</summary>
    public const uint PartitionInfoCountOnly = 1;

    /// <summary>The partition information descriptor: 8 bytes in FF-A 1.0, 24 (the UUID added) in 1.1.</summary>
    public const int PartitionInfoSize10 = 8, PartitionInfoSize11 = 24;

    // Partition properties (FF-A 1.1, the partition information descriptor).
    public const uint PropDirectRequestReceive = 1 << 0;
    public const uint PropDirectRequestSend = 1 << 1;
    public const uint PropIndirectMessages = 1 << 2;
    public const uint PropNotifications = 1 << 3;
    public const uint PropVmCreated = 1 << 6;
    public const uint PropVmDestroyed = 1 << 7;
    public const uint PropAArch64 = 1 << 8;

    // Direct message flags (w2): bit 31 a framework message, bits [7:0] its type; VM availability messages tell
    // a partition about a VM (its ID in w5) the hypervisor created or destroyed, and each has a response type.
    public const uint FrameworkMessage = 1u << 31;
    public const uint FrameworkTypeMask = 0xFF;
    public const uint VmCreatedMessage = 4, VmCreatedResponse = 5, VmDestroyedMessage = 6, VmDestroyedResponse = 7;

    /// <summary>FFA_RXTX_MAP w3 bits [5:0]: the buffers' size in 4 KiB pages; the other bits are reserved.</summary>
    public const uint RxTxPageCountMask = 0x3F;

    public const int PageSize = 4096;

    /// <summary>FFA_MEM_RECLAIM w3 bit 0: zero the memory before the owner gets it back.</summary>
    public const uint ReclaimZeroMemory = 1;
}
