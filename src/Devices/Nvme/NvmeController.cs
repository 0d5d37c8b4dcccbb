using System.Buffers.Binary;
using System.Numerics;
using Jit.Devices.Pci;
using Jit.Devices.Storage;
using Jit.Runtime.Memory;
using static Jit.Devices.Nvme.NvmeRegisters;

namespace Jit.Devices.Nvme;

/// <summary>
/// An NVM Express 1.4 controller on PCI Express (class 01/08/02) with one namespace of 512-byte blocks on an
/// <see cref="IBlockImage"/>. Register the function on a <see cref="PciHostBridge"/>; Linux's nvme driver binds
/// by the class code.
/// </summary>
/// <remarks>
/// <para>BAR 0 (64-bit, 16 KiB, not prefetchable: reads and doorbells have side effects) holds the controller
/// registers at 0, the doorbells at 0x1000 (CAP.DSTRD = 0), the MSI-X table at 0x2000 and its PBA at 0x3000.
/// Capabilities: PCI Express, power management, MSI (up to 32 vectors) and MSI-X (one vector for the admin
/// queue and one per I/O completion queue); INTx on pin A when neither is on.</para>
/// <para>A submission queue's doorbell is served at once on the writer's thread, like a virtio notification:
/// the commands between the head and the new tail are fetched, executed against the image and completed, and
/// each completion queue that got entries raises its interrupt once. Only a ready controller (CSTS.RDY, not
/// CSTS.CFS, not shut down) with bus mastering on touches guest memory. When a completion queue is full the
/// controller fetches nothing more for it until the host frees entries through its head doorbell.</para>
/// <para>The guest cannot make this model throw: a bad data pointer fails its command (Data Transfer Error or
/// PRP Offset Invalid), a bad queue creation gets the command specific status, an invalid doorbell write is
/// ignored and logged once, and a queue the controller cannot read or write sets CSTS.CFS (controller fatal
/// status) until the host resets the controller.</para>
/// <para>Not implemented: SGLs, fused operations, metadata and protection information, namespace management,
/// firmware commands, Format NVM, security commands, Keep Alive, the controller memory buffer, the NVM subsystem
/// reset (CAP.NSSRS = 0), arbitration other than round robin, interrupt coalescing (accepted, never done);
/// Asynchronous Event Requests are held and only ever completed by Abort or dropped by a reset, as the model
/// has no events to report.</para>
/// </remarks>
public sealed partial class NvmeController : PciFunction
{
    /// <summary>
    /// An arbitrary vendor and device ID. Drivers bind to an NVMe controller by its class code (Linux's nvme driver
    /// matches PCI_CLASS_STORAGE_EXPRESS), so the IDs only need to be stable.
    /// </summary>
    public const ushort VendorId = 0x1AB8, DeviceId = 0x4E56;
    public const uint NvmExpressClass = 0x01_08_02; // mass storage, non-volatile memory, NVM Express
    public const int RegisterBar = 0;
    public const ulong RegisterBarSize = 0x4000, DoorbellOffset = 0x1000, MsixTableOffset = 0x2000, MsixPbaOffset = 0x3000;
    public const int DefaultIoQueues = 8;
    /// <summary>The most I/O queue pairs a controller may be given: 64 interrupt vectors in all.</summary>
    public const int MaxIoQueues = 63;

    private const int MaxMsiVectors = 32;

    private readonly IBlockImage image;
    private readonly IDmaPort dma;
    private readonly int ioQueues;
    private readonly ulong blocks;
    private readonly IdentifyData identify;
    private readonly NvmeFeatures features, defaultFeatures;
    private readonly LogPages logs = new();
    private readonly PrpList prps;
    private readonly MsixCapability msix;
    private readonly MsiCapability msi;
    private readonly SubmissionQueue?[] submissionQueues;
    private readonly CompletionQueue?[] completionQueues;
    // Data of one command (up to MDTS), a 4 KiB page for log pages, and the entry being fetched.
    private readonly byte[] buffer = new byte[IdentifyData.MaxTransferBytes];
    private readonly byte[] scratch = new byte[IdentifyData.Size];
    private readonly byte[] entry = new byte[SubmissionEntrySize];
    // Command identifiers of the Asynchronous Event Requests held (admin queue).
    private readonly ushort[] heldEvents = new ushort[IdentifyData.AsyncEventLimit + 1];
    private int heldEventCount;

    private uint controllerConfiguration, status, adminQueueAttributes, interruptMask, msiPending;
    private ulong adminSubmissionBase, adminCompletionBase;
    private int pageSize = 1 << MinPageShift;
    private bool shutDown, intxAsserted;

    /// <param name="serial">The serial number Identify reports (up to 20 printable ASCII characters); it also names the subsystem (SUBNQN) and the namespace (NGUID), so two controllers in one guest need two serials.</param>
    /// <param name="ioQueues">I/O submission and completion queues the controller offers (Number of Queues).</param>
    public NvmeController(IBlockImage image, IDmaPort dma, string serial, int ioQueues = DefaultIoQueues)
        : base(new PciIdentity(VendorId, DeviceId, NvmExpressClass, RevisionId: 0, SubsystemVendorId: VendorId, SubsystemId: DeviceId),
            interruptPin: 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(dma);
        ArgumentNullException.ThrowIfNull(serial);
        if (ioQueues is < 1 or > MaxIoQueues) throw new ArgumentOutOfRangeException(nameof(ioQueues), $"1 to {MaxIoQueues} I/O queues");
        this.image = image;
        this.dma = dma;
        this.ioQueues = ioQueues;
        Serial = serial;
        blocks = image.Size >> IdentifyData.LbaShift;
        identify = new IdentifyData(VendorId, serial, blocks, image.ReadOnly);
        features = new NvmeFeatures(ioQueues);
        defaultFeatures = new NvmeFeatures(ioQueues);
        prps = new PrpList(dma, IdentifyData.MaxTransferBytes);
        submissionQueues = new SubmissionQueue?[ioQueues + 1];
        completionQueues = new CompletionQueue?[ioQueues + 1];

        msix = new MsixCapability(ioQueues + 1, RegisterBar, (uint)MsixTableOffset, RegisterBar, (uint)MsixPbaOffset);
        var bar = new PciBarWindow("nvme-bar0", RegisterBarSize)
            .Add(0, new RegisterBlock(this))
            .Add(DoorbellOffset, new DoorbellBlock(this))
            .Add(MsixTableOffset, msix.Table)
            .Add(MsixPbaOffset, msix.PendingBitArray);
        DefineBar(RegisterBar, PciBarKind.Memory64, RegisterBarSize, bar);
        AddCapability(new PciExpressCapability());
        AddCapability(new PowerManagementCapability());
        msi = AddCapability(new MsiCapability((int)Math.Min(MaxMsiVectors, BitOperations.RoundUpToPowerOf2((uint)ioQueues + 1))));
        AddCapability(msix);
    }

    public override string Name => "nvme";

    public IBlockImage Image => image;

    public string Serial { get; }

    /// <summary>Ready to fetch commands: enabled and ready, no fatal status, not shut down.</summary>
    private bool Running => (status & (CstsReady | CstsFatal)) == CstsReady && !shutDown;

    // ---- controller registers (3.1) ----

    private bool RegisterRead(ulong offset, int size, out ulong value)
    {
        value = 0;
        if ((offset & (ulong)(size - 1)) != 0) return false;
        if (size == 8)
        {
            value = RegisterDword(offset) | (ulong)RegisterDword(offset + 4) << 32;
            return true;
        }
        // A narrower read takes its bytes from the dword, as the registers are defined in dwords.
        value = RegisterDword(offset & ~3UL) >> (int)(8 * (offset & 3));
        if (size < 4) value &= (1UL << (8 * size)) - 1;
        return true;
    }

    private uint RegisterDword(ulong offset) => offset switch
    {
        Cap => unchecked((uint)Capabilities),
        Cap + 4 => (uint)(Capabilities >> 32),
        Vs => NvmeRegisters.Version,
        Intms or Intmc => interruptMask,
        Cc => controllerConfiguration,
        Csts => status,
        Aqa => adminQueueAttributes,
        Asq => (uint)adminSubmissionBase,
        Asq + 4 => (uint)(adminSubmissionBase >> 32),
        Acq => (uint)adminCompletionBase,
        Acq + 4 => (uint)(adminCompletionBase >> 32),
        _ => 0, // NSSR reads 0 (3.1.7); reserved and optional registers (CMB, boot partitions, PMR) are absent
    };

    private bool RegisterWrite(ulong offset, int size, ulong value)
    {
        if ((offset & (ulong)(size - 1)) != 0) return false;
        switch (size)
        {
            case 8:
                WriteRegisterDword(offset, (uint)value);
                WriteRegisterDword(offset + 4, (uint)(value >> 32));
                break;
            case 4:
                WriteRegisterDword(offset, (uint)value);
                break;
            default:
                LogOnce("narrow-register-write", $"{size}-byte write of register 0x{offset:x} ignored; registers are written in dwords");
                break;
        }
        return true;
    }

    private void WriteRegisterDword(ulong offset, uint value)
    {
        switch (offset)
        {
            // 3.1.3, 3.1.4: pin-based and MSI vector masks; with MSI-X the host masks in the MSI-X table instead.
            case Intms:
                if (msix.Enabled) return;
                interruptMask |= value;
                UpdateIntx();
                break;
            case Intmc:
                if (msix.Enabled) return;
                interruptMask &= ~value;
                SendUnmaskedMsi();
                UpdateIntx();
                break;
            case Cc: WriteControllerConfiguration(value); break;
            case Aqa: adminQueueAttributes = value & AqaWritable; break;
            case Asq: adminSubmissionBase = (adminSubmissionBase & ~0xFFFF_FFFFUL) | (value & QueueBaseMask & 0xFFFF_FFFF); break;
            case Asq + 4: adminSubmissionBase = (adminSubmissionBase & 0xFFFF_FFFF) | (ulong)value << 32; break;
            case Acq: adminCompletionBase = (adminCompletionBase & ~0xFFFF_FFFFUL) | (value & QueueBaseMask & 0xFFFF_FFFF); break;
            case Acq + 4: adminCompletionBase = (adminCompletionBase & 0xFFFF_FFFF) | (ulong)value << 32; break;
            // CAP and VS are read-only; CSTS.NSSRO (RW1C) is never set; NSSR is not supported (CAP.NSSRS = 0).
            default: break;
        }
    }

    // ---- enable, reset and shutdown (7.6) ----

    private void WriteControllerConfiguration(uint value)
    {
        uint old = controllerConfiguration;
        value &= CcWritable;
        bool wasEnabled = (old & CcEnable) != 0, enabling = (value & CcEnable) != 0;
        // 3.1.5: CSS, MPS and AMS may change only while the controller is disabled.
        const uint fixedWhileEnabled = 7u << CcCssShift | 0xFu << CcMpsShift | 7u << CcAmsShift;
        if (wasEnabled && enabling) value = (value & ~fixedWhileEnabled) | (old & fixedWhileEnabled);
        controllerConfiguration = value;
        if (wasEnabled && !enabling) ControllerReset();
        else if (!wasEnabled && enabling) Enable();

        uint shutdown = value >> CcShnShift & 3, oldShutdown = old >> CcShnShift & 3;
        if (shutdown != 0 && oldShutdown == 0) Shutdown();
        else if (shutdown == 0) status &= ~CstsShutdownMask;
    }

    /// <summary>CC.EN 0 to 1: the admin queues from AQA, ASQ and ACQ, then CSTS.RDY; a configuration the controller cannot run is fatal.</summary>
    private void Enable()
    {
        int mps = (int)(controllerConfiguration >> CcMpsShift & 0xF);
        uint css = controllerConfiguration >> CcCssShift & 7;
        uint sqEntries = (adminQueueAttributes & 0xFFF) + 1, cqEntries = (adminQueueAttributes >> 16 & 0xFFF) + 1;
        if (mps > MaxPageShift - MinPageShift || css != 0 || sqEntries < 2 || cqEntries < 2)
        {
            // 3.1.8: the admin queues have at least two entries; CSS 0 is the only command set offered.
            Fatal("enable", $"cannot enable with CC 0x{controllerConfiguration:x8}, AQA 0x{adminQueueAttributes:x8}");
            return;
        }
        pageSize = 1 << (MinPageShift + mps);
        var adminCompletion = new CompletionQueue(0, adminCompletionBase, cqEntries, vector: 0, interruptsEnabled: true);
        completionQueues[0] = adminCompletion;
        submissionQueues[0] = new SubmissionQueue(0, adminSubmissionBase, sqEntries, adminCompletion);
        adminCompletion.SubmissionQueues = 1;
        shutDown = false;
        status = CstsReady;
    }

    /// <summary>
    /// 7.3.2, controller reset (CC.EN 1 to 0): every queue deleted, held commands dropped (their queues are gone, so
    /// no completion is posted), features back to their defaults, CSTS.RDY and CSTS.CFS cleared. AQA, ASQ and ACQ stay.
    /// </summary>
    private void ControllerReset()
    {
        Array.Clear(submissionQueues);
        Array.Clear(completionQueues);
        heldEventCount = 0;
        features.Reset();
        interruptMask = msiPending = 0;
        shutDown = false;
        status = 0;
        UpdateIntx();
    }

    /// <summary>CC.SHN: what the image holds is made durable, then the shutdown is complete; commands wait for a reset.</summary>
    private void Shutdown()
    {
        shutDown = true;
        if (image.Flush() != BlockStatus.Ok) LogOnce("shutdown-flush", $"flushing {image.Path} at shutdown failed");
        status = (status & ~CstsShutdownMask) | CstsShutdownComplete;
    }

    /// <summary>A conventional reset of the function also resets the controller and its registers.</summary>
    protected override void FunctionReset()
    {
        controllerConfiguration = adminQueueAttributes = 0;
        adminSubmissionBase = adminCompletionBase = 0;
        pageSize = 1 << MinPageShift;
        ControllerReset();
    }

    /// <summary>The host broke a rule the controller cannot report through a completion: CSTS.CFS, until a reset.</summary>
    private void Fatal(string kind, string detail)
    {
        LogOnce("fatal:" + kind, $"{detail}; controller fatal status set");
        status |= CstsFatal;
    }

    // ---- doorbells (3.1: SQyTDBL, CQyHDBL) ----

    private bool DoorbellWrite(ulong offset, int size, ulong value)
    {
        if ((offset & (ulong)(size - 1)) != 0) return false;
        switch (size)
        {
            case 8:
                Doorbell(offset, (uint)value);
                Doorbell(offset + 4, (uint)(value >> 32));
                break;
            case 4:
                Doorbell(offset, (uint)value);
                break;
            default:
                LogOnce("narrow-doorbell", $"{size}-byte doorbell write at 0x{DoorbellOffset + offset:x} ignored");
                break;
        }
        return true;
    }

    private void Doorbell(ulong offset, uint value)
    {
        if (!Running) return;
        ulong queue = offset >> 3;
        if ((offset & 4) == 0)
        {
            if (queue < (ulong)submissionQueues.Length && submissionQueues[queue] is { } sq) SubmissionTail(sq, value);
            else LogOnce("doorbell-no-sq", $"tail doorbell of submission queue {queue}, which does not exist, ignored");
        }
        else
        {
            if (queue < (ulong)completionQueues.Length && completionQueues[queue] is { } cq) CompletionHead(cq, value);
            else LogOnce("doorbell-no-cq", $"head doorbell of completion queue {queue}, which does not exist, ignored");
        }
    }

    private void SubmissionTail(SubmissionQueue sq, uint tail)
    {
        // 4.1: a tail past the queue's end is an invalid doorbell write value; there is nothing to fetch at it.
        if (tail >= sq.Size)
        {
            LogOnce("doorbell-sq-value", $"submission queue {sq.Id} tail {tail} is outside its {sq.Size} entries; ignored");
            return;
        }
        sq.Tail = tail;
        Process(sq);
        RaiseInterrupts();
    }

    private void CompletionHead(CompletionQueue cq, uint head)
    {
        // The new head may only free entries the controller posted.
        if (!cq.IsValidHead(head))
        {
            LogOnce("doorbell-cq-value", $"completion queue {cq.Id} head {head} frees entries not posted (head {cq.Head}, tail {cq.Tail}); ignored");
            return;
        }
        bool wasFull = cq.Full;
        cq.Head = head;
        if (wasFull)
            foreach (var sq in submissionQueues)
                if (sq != null && sq.Completion == cq && !sq.Empty) Process(sq);
        RaiseInterrupts();
    }

    // ---- fetching and completing commands ----

    private void Process(SubmissionQueue sq)
    {
        if (!BusMasterEnabled)
        {
            LogOnce("no-bus-master", "doorbell rung with bus mastering off; the commands wait");
            return;
        }
        var cq = sq.Completion;
        while (!sq.Empty && Running && !cq.Full)
        {
            ulong at = sq.EntryAddress(sq.Head);
            if (dma.Read(at, entry) != GuestMemoryStatus.Ok)
            {
                Fatal("sq-memory", $"submission queue {sq.Id} entry at 0x{at:x} is not guest memory");
                return;
            }
            sq.AdvanceHead();
            var command = new NvmeCommand(entry);
            NvmeStatus outcome;
            uint result;
            if (sq.Id == 0)
            {
                if (!ExecuteAdmin(sq, in command, out outcome, out result)) continue;
            }
            else outcome = ExecuteIo(in command, out result);
            Complete(sq, command.CommandId, outcome, result);
        }
    }

    /// <summary>4.6: posts a completion entry for a command of <paramref name="sq"/> on its completion queue.</summary>
    private void Complete(SubmissionQueue sq, ushort commandId, NvmeStatus outcome, uint result)
    {
        var cq = sq.Completion;
        if (cq.Full)
        {
            // Fetching stops while the queue is full, so only a command completed with another (Abort) can get here.
            LogOnce("cq-overflow", $"completion queue {cq.Id} is full; completion of command {commandId} dropped");
            return;
        }
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(head, result);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], sq.Head | (uint)sq.Id << 16);
        ulong at = cq.TailAddress;
        // The dword with the phase tag goes last, as one aligned 4-byte store (a release): a host that sees the
        // new phase sees the whole entry.
        if (dma.Write(at, head) != GuestMemoryStatus.Ok
            || dma.WriteUInt32(at + 12, outcome.CompletionDword3(commandId, cq.Phase)) != GuestMemoryStatus.Ok)
        {
            Fatal("cq-memory", $"completion queue {cq.Id} entry at 0x{at:x} is not guest memory the controller may write");
            return;
        }
        cq.AdvanceTail();
        cq.InterruptDue = true;
    }

    // ---- interrupts (7.5) ----

    /// <summary>Vectors a completion queue created now may name: the MSI-X table's, the MSI vectors enabled, or vector 0 alone for INTx.</summary>
    private int InterruptVectors => msix.Enabled ? msix.Vectors : msi.Enabled ? msi.EnabledVectors : 1;

    private void RaiseInterrupts()
    {
        foreach (var cq in completionQueues)
        {
            if (cq is not { InterruptDue: true }) continue;
            cq.InterruptDue = false;
            if (!cq.InterruptsEnabled) continue;
            if (msix.Enabled) msix.Signal(cq.Vector);
            else if (msi.Enabled && cq.Vector < MaxMsiVectors)
            {
                // 3.1.3: a vector masked by INTMS holds its message until INTMC unmasks it.
                uint bit = 1u << cq.Vector;
                if ((interruptMask & bit) != 0) msiPending |= bit;
                else msi.Signal(cq.Vector);
            }
        }
        UpdateIntx();
    }

    private void SendUnmaskedMsi()
    {
        uint send = msiPending & ~interruptMask;
        msiPending &= ~send;
        if (!msi.Enabled) return;
        while (send != 0)
        {
            int vector = BitOperations.TrailingZeroCount(send);
            send &= send - 1;
            msi.Signal(vector);
        }
    }

    /// <summary>7.5.1: the pin is asserted while a completion queue with interrupts enabled holds entries the host has not consumed, unless INTMS masks it.</summary>
    private void UpdateIntx()
    {
        bool level = false;
        if (!msix.Enabled && !msi.Enabled && (interruptMask & 1) == 0)
            foreach (var cq in completionQueues)
                if (cq is { InterruptsEnabled: true, HasUnconsumed: true })
                {
                    level = true;
                    break;
                }
        if (level == intxAsserted) return;
        intxAsserted = level;
        SetInterruptLevel(level);
    }

    // ---- BAR 0 blocks (accessed under the function's lock: PciFunction.BarRead/BarWrite take it) ----

    private sealed class RegisterBlock(NvmeController owner) : IMmioDevice
    {
        public string Name => "nvme-registers";
        public ulong WindowSize => DoorbellOffset;
        public bool Read(ulong offset, int size, out ulong value) => owner.RegisterRead(offset, size, out value);
        public bool Write(ulong offset, int size, ulong value) => owner.RegisterWrite(offset, size, value);
    }

    private sealed class DoorbellBlock(NvmeController owner) : IMmioDevice
    {
        public string Name => "nvme-doorbells";
        public ulong WindowSize => 0x1000;

        /// <summary>Doorbells are write-only; they read 0.</summary>
        public bool Read(ulong offset, int size, out ulong value)
        {
            value = 0;
            return (offset & (ulong)(size - 1)) == 0;
        }

        public bool Write(ulong offset, int size, ulong value) => owner.DoorbellWrite(offset, size, value);
    }
}
