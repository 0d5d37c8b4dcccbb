namespace Jit.Devices.Nvme;

/// <summary>NVMe 1.4 5.21.1, figure "Feature Identifiers": the features this controller has.</summary>
public static class FeatureId
{
    public const byte Arbitration = 0x01, PowerManagement = 0x02, TemperatureThreshold = 0x04, ErrorRecovery = 0x05,
        VolatileWriteCache = 0x06, NumberOfQueues = 0x07, InterruptCoalescing = 0x08, InterruptVectorConfiguration = 0x09,
        WriteAtomicityNormal = 0x0A, AsynchronousEventConfiguration = 0x0B;
}

/// <summary>
/// The features' current values (NVMe 1.4 5.21.1). None is saveable, and a controller reset brings every one back
/// to its default. Most are stored for Get Features without changing what the model does (arbitration,
/// coalescing, temperature thresholds, asynchronous event configuration); Volatile Write Cache and Number of
/// Queues are honoured.
/// </summary>
internal sealed class NvmeFeatures
{
    /// <summary>The over temperature threshold of the composite temperature at reset, in kelvins (the controller's WCTEMP).</summary>
    public const ushort DefaultOverTemperature = 343;

    private readonly int ioQueues;

    public NvmeFeatures(int ioQueues)
    {
        this.ioQueues = ioQueues;
        Reset();
    }

    public uint ArbitrationValue { get; set; }
    public uint PowerState { get; set; }
    public ushort OverTemperature { get; set; }
    public ushort UnderTemperature { get; set; }
    public uint ErrorRecoveryValue { get; set; }
    /// <summary>WCE: writes may sit in the volatile cache until a flush; when off, every write is flushed.</summary>
    public bool WriteCacheEnabled { get; set; }
    /// <summary>I/O submission and completion queues allocated (counts, not 0's based).</summary>
    public int SubmissionQueuesAllocated { get; set; }
    public int CompletionQueuesAllocated { get; set; }
    public uint CoalescingValue { get; set; }
    /// <summary>Coalescing Disable per interrupt vector, stored for Get Features: the model never coalesces.</summary>
    public ulong CoalescingDisabled { get; set; }
    public uint WriteAtomicityValue { get; set; }
    public uint AsyncEventConfiguration { get; set; }

    public void Reset()
    {
        ArbitrationValue = PowerState = ErrorRecoveryValue = CoalescingValue = WriteAtomicityValue = AsyncEventConfiguration = 0;
        OverTemperature = DefaultOverTemperature;
        UnderTemperature = 0;
        WriteCacheEnabled = true;
        SubmissionQueuesAllocated = CompletionQueuesAllocated = ioQueues;
        CoalescingDisabled = 0;
    }
}
