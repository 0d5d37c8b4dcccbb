using System.Buffers.Binary;
using static Jit.Devices.Nvme.NvmeRegisters;

namespace Jit.Devices.Nvme;

/// <summary>The admin command set (NVMe 1.4 5): one method per command, each returning the status to post.</summary>
public sealed partial class NvmeController
{
    private const int ActiveNamespaceId = 1;
    private const uint BroadcastNamespaceId = 0xFFFF_FFFF;

    // 5.15.1, figure "Identify – CNS Values".
    private const byte CnsNamespace = 0x00, CnsController = 0x01, CnsActiveNamespaces = 0x02, CnsNamespaceDescriptors = 0x03,
        CnsCommandSetNamespace = 0x05, CnsCommandSetController = 0x06;

    /// <returns>False when the command stays outstanding (an Asynchronous Event Request): nothing is posted for it now.</returns>
    private bool ExecuteAdmin(SubmissionQueue adminQueue, in NvmeCommand c, out NvmeStatus outcome, out uint result)
    {
        result = 0;
        if (c.Fuse != 0 || c.DataPointerType != 0)
        {
            outcome = NvmeStatus.InvalidFieldInCommand;
            return true;
        }
        switch (c.Opcode)
        {
            case AdminOpcode.DeleteIoSubmissionQueue: outcome = DeleteIoSubmissionQueue(in c); break;
            case AdminOpcode.CreateIoSubmissionQueue: outcome = CreateIoSubmissionQueue(in c); break;
            case AdminOpcode.GetLogPage: outcome = GetLogPage(in c); break;
            case AdminOpcode.DeleteIoCompletionQueue: outcome = DeleteIoCompletionQueue(in c); break;
            case AdminOpcode.CreateIoCompletionQueue: outcome = CreateIoCompletionQueue(in c); break;
            case AdminOpcode.Identify: outcome = Identify(in c); break;
            case AdminOpcode.Abort: outcome = Abort(adminQueue, in c, out result); break;
            case AdminOpcode.SetFeatures: outcome = SetFeatures(in c, out result); break;
            case AdminOpcode.GetFeatures: outcome = GetFeatures(in c, out result); break;
            case AdminOpcode.AsynchronousEventRequest: return AsynchronousEventRequest(in c, out outcome);
            default: outcome = NvmeStatus.InvalidCommandOpcode; break;
        }
        return true;
    }

    // ---- queues (5.3 to 5.6) ----

    /// <summary>5.3, Create I/O Completion Queue: QID and QSIZE in CDW10, PC, IEN and IV in CDW11, the base in PRP1.</summary>
    private NvmeStatus CreateIoCompletionQueue(in NvmeCommand c)
    {
        ushort id = (ushort)c.Cdw10;
        uint entries = (c.Cdw10 >> 16) + 1;
        bool contiguous = (c.Cdw11 & 1) != 0, interrupts = (c.Cdw11 & 2) != 0;
        ushort vector = (ushort)(c.Cdw11 >> 16);
        if (id == 0 || id > features.CompletionQueuesAllocated || completionQueues[id] != null) return NvmeStatus.InvalidQueueIdentifier;
        if (entries < 2 || entries > MaxQueueEntriesZeroBased + 1u) return NvmeStatus.InvalidQueueSize;
        if (!contiguous) return NvmeStatus.InvalidFieldInCommand; // CAP.CQR: only physically contiguous queues
        if (interrupts && vector >= InterruptVectors) return NvmeStatus.InvalidInterruptVector;
        var queueStatus = CheckQueueMemory(c.Prp1, entries, CcIocqesShift, CompletionEntryShift);
        if (queueStatus != NvmeStatus.Success) return queueStatus;
        completionQueues[id] = new CompletionQueue(id, c.Prp1, entries, interrupts ? vector : (ushort)0, interrupts);
        return NvmeStatus.Success;
    }

    /// <summary>5.4, Create I/O Submission Queue: QID and QSIZE in CDW10, PC and CQID in CDW11 (QPRIO is moot with round robin).</summary>
    private NvmeStatus CreateIoSubmissionQueue(in NvmeCommand c)
    {
        ushort id = (ushort)c.Cdw10, completionId = (ushort)(c.Cdw11 >> 16);
        uint entries = (c.Cdw10 >> 16) + 1;
        bool contiguous = (c.Cdw11 & 1) != 0;
        if (id == 0 || id > features.SubmissionQueuesAllocated || submissionQueues[id] != null) return NvmeStatus.InvalidQueueIdentifier;
        if (entries < 2 || entries > MaxQueueEntriesZeroBased + 1u) return NvmeStatus.InvalidQueueSize;
        if (!contiguous) return NvmeStatus.InvalidFieldInCommand;
        // The admin completion queue takes admin completions only.
        if (completionId == 0 || completionId >= completionQueues.Length || completionQueues[completionId] is not { } cq)
            return NvmeStatus.CompletionQueueInvalid;
        var queueStatus = CheckQueueMemory(c.Prp1, entries, CcIosqesShift, SubmissionEntryShift);
        if (queueStatus != NvmeStatus.Success) return queueStatus;
        submissionQueues[id] = new SubmissionQueue(id, c.Prp1, entries, cq);
        cq.SubmissionQueues++;
        return NvmeStatus.Success;
    }

    /// <summary>
    /// The checks a queue's memory gets at creation: entries of the size CC sets (IOSQES, IOCQES: the only size
    /// Identify offers), a page-aligned base, and memory at both ends, so a queue that names no RAM fails its
    /// command rather than the controller.
    /// </summary>
    private NvmeStatus CheckQueueMemory(ulong baseAddress, uint entries, int ccShift, int entryShift)
    {
        if ((controllerConfiguration >> ccShift & 0xF) != (uint)entryShift) return NvmeStatus.InvalidFieldInCommand;
        if ((baseAddress & (ulong)(pageSize - 1)) != 0) return NvmeStatus.PrpOffsetInvalid;
        ulong bytes = (ulong)entries << entryShift;
        if (baseAddress > ulong.MaxValue - bytes) return NvmeStatus.InvalidFieldInCommand;
        Span<byte> probe = stackalloc byte[1];
        if (dma.Read(baseAddress, probe) != Runtime.Memory.GuestMemoryStatus.Ok
            || dma.Read(baseAddress + bytes - 1, probe) != Runtime.Memory.GuestMemoryStatus.Ok)
            return NvmeStatus.InvalidFieldInCommand;
        return NvmeStatus.Success;
    }

    /// <summary>5.6, Delete I/O Submission Queue: commands complete as they are fetched, so none is left to abort.</summary>
    private NvmeStatus DeleteIoSubmissionQueue(in NvmeCommand c)
    {
        ushort id = (ushort)c.Cdw10;
        if (id == 0 || id >= submissionQueues.Length || submissionQueues[id] is not { } sq) return NvmeStatus.InvalidQueueIdentifier;
        sq.Completion.SubmissionQueues--;
        submissionQueues[id] = null;
        return NvmeStatus.Success;
    }

    /// <summary>5.5, Delete I/O Completion Queue: not while a submission queue still posts to it.</summary>
    private NvmeStatus DeleteIoCompletionQueue(in NvmeCommand c)
    {
        ushort id = (ushort)c.Cdw10;
        if (id == 0 || id >= completionQueues.Length || completionQueues[id] is not { } cq) return NvmeStatus.InvalidQueueIdentifier;
        if (cq.SubmissionQueues != 0) return NvmeStatus.InvalidQueueDeletion;
        completionQueues[id] = null;
        return NvmeStatus.Success;
    }

    // ---- Identify (5.15) ----

    private NvmeStatus Identify(in NvmeCommand c)
    {
        byte cns = (byte)c.Cdw10;
        uint nsid = c.NamespaceId;
        switch (cns)
        {
            case CnsController:
                return ToHost(in c, identify.Controller);
            case CnsNamespace:
                return nsid == ActiveNamespaceId ? ToHost(in c, identify.Namespace) : NvmeStatus.InvalidNamespaceOrFormat;
            case CnsNamespaceDescriptors:
                return nsid == ActiveNamespaceId ? ToHost(in c, identify.NamespaceDescriptors) : NvmeStatus.InvalidNamespaceOrFormat;
            case CnsActiveNamespaces:
            {
                // Active namespace IDs greater than NSID, ascending; FFFFFFFEh and FFFFFFFFh are invalid here.
                if (nsid >= BroadcastNamespaceId - 1) return NvmeStatus.InvalidNamespaceOrFormat;
                var list = scratch.AsSpan();
                list.Clear();
                if (nsid < ActiveNamespaceId) BinaryPrimitives.WriteUInt32LittleEndian(list, ActiveNamespaceId);
                return ToHost(in c, list);
            }
            case CnsCommandSetNamespace or CnsCommandSetController:
            {
                // NVMe 2.0's I/O command set specific structures, which newer hosts ask for: for the NVM command set
                // (CSI 0) all zero, no limits beyond MDTS.
                if (c.Cdw11 >> 24 != 0) return NvmeStatus.InvalidFieldInCommand;
                if (cns == CnsCommandSetNamespace && nsid != ActiveNamespaceId) return NvmeStatus.InvalidNamespaceOrFormat;
                scratch.AsSpan().Clear();
                return ToHost(in c, scratch);
            }
            default:
                return NvmeStatus.InvalidFieldInCommand;
        }
    }

    /// <summary>Copies a data structure to the host through the command's PRPs.</summary>
    private NvmeStatus ToHost(in NvmeCommand c, ReadOnlySpan<byte> data)
    {
        var mapped = prps.Map(c.Prp1, c.Prp2, data.Length, pageSize);
        return mapped != NvmeStatus.Success ? mapped : prps.CopyToGuest(data);
    }

    // ---- Get Log Page (5.14) ----

    private NvmeStatus GetLogPage(in NvmeCommand c)
    {
        byte id = (byte)c.Cdw10;
        // NUMDL in CDW10 31:16, NUMDU in CDW11 15:0: dwords, 0's based. LPOL and LPOU: a byte offset, dword aligned.
        ulong dwords = ((ulong)(c.Cdw11 & 0xFFFF) << 16 | c.Cdw10 >> 16) + 1;
        ulong offset = (ulong)c.Cdw13 << 32 | c.Cdw12;
        int size = LogPages.SizeOf(id);
        if (size == 0) return NvmeStatus.InvalidLogPage;
        if ((offset & 3) != 0 || offset >= (ulong)size || dwords * 4 > IdentifyData.MaxTransferBytes)
            return NvmeStatus.InvalidFieldInCommand;
        logs.Build(id, scratch.AsSpan(0, size));
        // Beyond the log's end the host reads zeros.
        var data = buffer.AsSpan(0, (int)dwords * 4);
        data.Clear();
        var log = scratch.AsSpan((int)offset, size - (int)offset);
        log[..Math.Min(log.Length, data.Length)].CopyTo(data);
        return ToHost(in c, data);
    }

    // ---- Abort (5.1) and Asynchronous Event Request (5.2) ----

    /// <summary>
    /// Every command but an Asynchronous Event Request completes before the next is fetched, so only a held request
    /// can be aborted: it completes with Command Abort Requested and the Abort says so (dword 0 bit 0 clear).
    /// </summary>
    private NvmeStatus Abort(SubmissionQueue adminQueue, in NvmeCommand c, out uint result)
    {
        ushort queue = (ushort)c.Cdw10, commandId = (ushort)(c.Cdw10 >> 16);
        result = 1; // not aborted
        // Room for both completions, the aborted command's and this one's.
        if (queue != 0 || adminQueue.Completion.FreeEntries < 2) return NvmeStatus.Success;
        for (int i = 0; i < heldEventCount; i++)
        {
            if (heldEvents[i] != commandId) continue;
            heldEvents[i] = heldEvents[--heldEventCount];
            Complete(adminQueue, commandId, NvmeStatus.CommandAbortRequested, 0);
            result = 0;
            break;
        }
        return NvmeStatus.Success;
    }

    /// <summary>Held until an event, which this model never has; AERL + 1 may be outstanding.</summary>
    private bool AsynchronousEventRequest(in NvmeCommand c, out NvmeStatus outcome)
    {
        if (heldEventCount == heldEvents.Length)
        {
            outcome = NvmeStatus.AsynchronousEventRequestLimitExceeded;
            return true;
        }
        heldEvents[heldEventCount++] = c.CommandId;
        outcome = NvmeStatus.Success;
        return false;
    }

    // ---- Set Features (5.21) and Get Features (5.13) ----

    private NvmeStatus SetFeatures(in NvmeCommand c, out uint result)
    {
        result = 0;
        byte id = (byte)c.Cdw10;
        // SV (bit 31): nothing is saveable (ONCS bit 4 clear).
        if ((c.Cdw10 & 1u << 31) != 0) return NvmeStatus.FeatureIdentifierNotSaveable;
        uint value = c.Cdw11;
        switch (id)
        {
            case FeatureId.Arbitration: features.ArbitrationValue = value; break;
            case FeatureId.PowerManagement:
                // PS in bits 4:0: power state 0 is the only one (NPSS = 0).
                if ((value & 0x1F) != 0) return NvmeStatus.InvalidFieldInCommand;
                features.PowerState = value & 0xFF;
                break;
            case FeatureId.TemperatureThreshold:
            {
                if (!TemperatureSelect(value, out bool under)) return NvmeStatus.InvalidFieldInCommand;
                if (under) features.UnderTemperature = (ushort)value;
                else features.OverTemperature = (ushort)value;
                break;
            }
            case FeatureId.ErrorRecovery:
                // DULBE (bit 16) needs deallocated-block errors, which the namespace does not report (NSFEAT bit 2 clear).
                if ((value & 1u << 16) != 0) return NvmeStatus.InvalidFieldInCommand;
                features.ErrorRecoveryValue = value & 0xFFFF;
                break;
            case FeatureId.VolatileWriteCache: features.WriteCacheEnabled = (value & 1) != 0; break;
            case FeatureId.NumberOfQueues:
            {
                // NSQR 15:0 and NCQR 31:16, 0's based; 65535 is invalid. Allowed only before any I/O queue exists.
                uint submission = value & 0xFFFF, completion = value >> 16;
                if (submission == 0xFFFF || completion == 0xFFFF) return NvmeStatus.InvalidFieldInCommand;
                if (AnyIoQueue()) return NvmeStatus.CommandSequenceError;
                features.SubmissionQueuesAllocated = (int)Math.Min(submission + 1, (uint)ioQueues);
                features.CompletionQueuesAllocated = (int)Math.Min(completion + 1, (uint)ioQueues);
                result = QueuesAllocated(features);
                break;
            }
            case FeatureId.InterruptCoalescing: features.CoalescingValue = value & 0xFFFF; break;
            case FeatureId.InterruptVectorConfiguration:
            {
                ushort vector = (ushort)value;
                if (vector >= msix.Vectors) return NvmeStatus.InvalidFieldInCommand;
                ulong bit = 1UL << vector;
                features.CoalescingDisabled = (value & 1u << 16) != 0 ? features.CoalescingDisabled | bit : features.CoalescingDisabled & ~bit;
                break;
            }
            case FeatureId.WriteAtomicityNormal: features.WriteAtomicityValue = value & 1; break;
            case FeatureId.AsynchronousEventConfiguration: features.AsyncEventConfiguration = value; break;
            default: return NvmeStatus.InvalidFieldInCommand;
        }
        return NvmeStatus.Success;
    }

    private NvmeStatus GetFeatures(in NvmeCommand c, out uint result)
    {
        result = 0;
        byte id = (byte)c.Cdw10;
        uint select = c.Cdw10 >> 8 & 7;
        if (select == 3)
        {
            // Supported capabilities: changeable (bit 2), neither saveable nor namespace specific.
            if (!IsFeature(id)) return NvmeStatus.InvalidFieldInCommand;
            result = 1 << 2;
            return NvmeStatus.Success;
        }
        // Default and saved values are the defaults: nothing is ever saved.
        var from = select is 1 or 2 ? defaultFeatures : features;
        switch (id)
        {
            case FeatureId.Arbitration: result = from.ArbitrationValue; break;
            case FeatureId.PowerManagement: result = from.PowerState; break;
            case FeatureId.TemperatureThreshold:
                if (!TemperatureSelect(c.Cdw11, out bool under)) return NvmeStatus.InvalidFieldInCommand;
                result = (c.Cdw11 & 0x003F_0000) | (under ? from.UnderTemperature : from.OverTemperature);
                break;
            case FeatureId.ErrorRecovery: result = from.ErrorRecoveryValue; break;
            case FeatureId.VolatileWriteCache: result = from.WriteCacheEnabled ? 1u : 0; break;
            case FeatureId.NumberOfQueues: result = QueuesAllocated(from); break;
            case FeatureId.InterruptCoalescing: result = from.CoalescingValue; break;
            case FeatureId.InterruptVectorConfiguration:
            {
                ushort vector = (ushort)c.Cdw11;
                if (vector >= msix.Vectors) return NvmeStatus.InvalidFieldInCommand;
                result = vector | ((from.CoalescingDisabled >> vector & 1) != 0 ? 1u << 16 : 0);
                break;
            }
            case FeatureId.WriteAtomicityNormal: result = from.WriteAtomicityValue; break;
            case FeatureId.AsynchronousEventConfiguration: result = from.AsyncEventConfiguration; break;
            default: return NvmeStatus.InvalidFieldInCommand;
        }
        return NvmeStatus.Success;
    }

    private static bool IsFeature(byte id) => id is >= FeatureId.Arbitration and <= FeatureId.AsynchronousEventConfiguration and not 0x03;

    /// <summary>5.21.1.4: TMPSEL (19:16) 0 is the composite temperature, Fh all sensors (the composite is the only one); THSEL (21:20) 0 over, 1 under.</summary>
    private static bool TemperatureSelect(uint value, out bool under)
    {
        uint sensor = value >> 16 & 0xF, threshold = value >> 20 & 3;
        under = threshold == 1;
        return sensor is 0 or 0xF && threshold <= 1;
    }

    /// <summary>Dword 0 of Number of Queues: NSQA 15:0 and NCQA 31:16, 0's based.</summary>
    private static uint QueuesAllocated(NvmeFeatures from) =>
        (uint)(from.SubmissionQueuesAllocated - 1) | (uint)(from.CompletionQueuesAllocated - 1) << 16;

    private bool AnyIoQueue()
    {
        for (int i = 1; i < submissionQueues.Length; i++)
            if (submissionQueues[i] != null || completionQueues[i] != null) return true;
        return false;
    }
}
