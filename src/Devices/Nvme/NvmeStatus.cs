namespace Jit.Devices.Nvme;

/// <summary>
/// A completion's status as Status Code Type &lt;&lt; 8 | Status Code (NVMe 1.4 4.6.1.2). The completion entry carries
/// it in bits 27:17 of dword 3, with Do Not Retry (bit 31) set for every error but a media error.
/// </summary>
public enum NvmeStatus : ushort
{
    // 4.6.1.2.1, Generic Command Status (SCT 0).
    Success = 0x000,
    InvalidCommandOpcode = 0x001,
    InvalidFieldInCommand = 0x002,
    DataTransferError = 0x004,
    InternalError = 0x006,
    CommandAbortRequested = 0x007,
    InvalidNamespaceOrFormat = 0x00B,
    CommandSequenceError = 0x00C,
    PrpOffsetInvalid = 0x013,
    NamespaceIsWriteProtected = 0x020,
    // NVM command set values of SCT 0.
    LbaOutOfRange = 0x080,

    // 4.6.1.2.2, Command Specific Status (SCT 1).
    CompletionQueueInvalid = 0x100,
    InvalidQueueIdentifier = 0x101,
    InvalidQueueSize = 0x102,
    AsynchronousEventRequestLimitExceeded = 0x105,
    InvalidInterruptVector = 0x108,
    InvalidLogPage = 0x109,
    InvalidQueueDeletion = 0x10C,
    FeatureIdentifierNotSaveable = 0x10D,

    // 4.6.1.2.3, Media and Data Integrity Errors (SCT 2).
    WriteFault = 0x280,
    UnrecoveredReadError = 0x281,
}

internal static class NvmeStatusExtensions
{
    private const uint DoNotRetry = 1u << 31;

    /// <summary>Dword 3 of a completion entry (4.6): command identifier, phase tag and status field.</summary>
    public static uint CompletionDword3(this NvmeStatus status, ushort commandId, bool phase)
    {
        uint dword = commandId | (phase ? 1u << 16 : 0) | (uint)status << 17;
        // A media error may go away if retried (the host file may have been out of space); nothing else would.
        bool retryable = status == NvmeStatus.Success || (int)status >> 8 == 2;
        return retryable ? dword : dword | DoNotRetry;
    }
}
