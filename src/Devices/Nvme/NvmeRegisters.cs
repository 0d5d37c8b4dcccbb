namespace Jit.Devices.Nvme;

/// <summary>
/// The controller registers at the start of BAR 0 (NVMe 1.4 section 3.1) and the fields this model gives them.
/// Doorbells follow at 0x1000 with a stride of 4 bytes (CAP.DSTRD = 0): SQ y tail at 0x1000 + 8y, CQ y head at
/// 0x1000 + 8y + 4.
/// </summary>
public static class NvmeRegisters
{
    // 3.1, table "Controller Registers".
    public const int Cap = 0x00, Vs = 0x08, Intms = 0x0C, Intmc = 0x10, Cc = 0x14, Csts = 0x1C, Nssr = 0x20, Aqa = 0x24,
        Asq = 0x28, Acq = 0x30;
    public const int DoorbellBase = 0x1000;

    /// <summary>3.1.2: version 1.4.0.</summary>
    public const uint Version = 0x0001_0400;

    // 3.1.1, CAP. MQES is 0's based: 1024 entries per I/O queue.
    public const ushort MaxQueueEntriesZeroBased = 1023;
    public const int MinPageShift = 12, MaxPageShift = 16; // MPSMIN 4 KiB, MPSMAX 64 KiB
    private const int TimeoutHalfSeconds = 20;          // CAP.TO: the model is ready at once; 10 s is a usual value

    /// <summary>CAP: MQES, CQR (contiguous queues required), TO, DSTRD = 0, CSS = NVM command set, MPSMIN, MPSMAX.</summary>
    public const ulong Capabilities = MaxQueueEntriesZeroBased
        | 1UL << 16                                      // CQR
        | (ulong)TimeoutHalfSeconds << 24                // TO
        | 1UL << 37                                      // CSS bit 0: NVM command set
        | (ulong)(MinPageShift - 12) << 48               // MPSMIN
        | (ulong)(MaxPageShift - 12) << 52;              // MPSMAX

    // 3.1.5, CC.
    public const uint CcEnable = 1;
    public const int CcCssShift = 4, CcMpsShift = 7, CcAmsShift = 11, CcShnShift = 14, CcIosqesShift = 16, CcIocqesShift = 20;
    /// <summary>The fields of CC that exist (EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES); the rest are reserved and read 0.</summary>
    public const uint CcWritable = 0x00FF_FFF1;

    // 3.1.6, CSTS.
    public const uint CstsReady = 1, CstsFatal = 1 << 1, CstsShutdownComplete = 2 << 2, CstsShutdownMask = 3 << 2;

    // 3.1.8, AQA: ASQS and ACQS, both 0's based, 12 bits each.
    public const uint AqaWritable = 0x0FFF_0FFF;

    /// <summary>3.1.9 and 3.1.10: ASQ and ACQ bits 11:0 are reserved; the queues are 4 KiB aligned.</summary>
    public const ulong QueueBaseMask = ~0xFFFUL;

    /// <summary>4.2 and 4.6: a submission queue entry is 64 bytes (IOSQES 6), a completion queue entry 16 (IOCQES 4).</summary>
    public const int SubmissionEntrySize = 64, CompletionEntrySize = 16, SubmissionEntryShift = 6, CompletionEntryShift = 4;
}
