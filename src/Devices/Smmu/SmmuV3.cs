using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;
using Jit.Runtime.Startup;

namespace Jit.Devices.Smmu;

/// <summary>
/// An Arm SMMUv3 (IHI 0070): the I/O MMU in front of the PCIe host bridge. Devices reach memory through
/// <see cref="PortFor(uint)"/>, one <see cref="IDmaPort"/> per StreamID (the requester ID, through an identity
/// <c>iommu-map</c>), which translates every access by the stream's STE and CD — bypass, abort, stage 1, stage 2
/// or both nested — and refuses a faulting one without touching memory, recording the architected event. The
/// SMMU itself reads its stream table, CDs, translation tables and command queue, and writes its event queue and
/// MSIs, through the "physical" side given to the constructor.
/// </summary>
/// <remarks>
/// <para>What SMMU_IDR0–5 advertise: stage 1 and stage 2, AArch64 tables only, little-endian, 4, 16 and 64 KiB
/// granules, 48-bit input and output addresses, 16-bit ASIDs and VMIDs, coherent table walks (COHACC), MSIs,
/// SEV, 2-level stream tables (16-bit StreamIDs) and 2-level CD tables (8-bit SubstreamIDs), the terminate
/// model with every terminated access aborted (TERM_MODEL = 1) and no stalls (STALL_MODEL = 0b01), and range
/// invalidation with the TTL hint (SMMU_IDR3.RIL), so that Linux invalidates an unmapped range with one command
/// instead of one per page. No ATS, PRI, EL2 streams (Hyp), hardware access-flag updates (HTTU) or broadcast TLB
/// maintenance. SMMU_AIDR says SMMUv3.0 (RIL is SMMUv3.2's, a bit of IDR3 that drivers test on its own);
/// SMMU_IIDR is zero, so drivers apply no implementation's errata.</para>
/// <para>Everything is synchronous: a CR0 or IRQ_CTRL write is acknowledged before it returns, and a
/// SMMU_CMDQ_PROD write runs the commands it publishes before it returns, so CMD_SYNC has nothing to wait for
/// and its completion MSI is written at once. One lock orders registers, commands and translations; the memory
/// copies of DMA happen outside it. Interrupts and MSIs are raised under it, so the ITS and GIC locks are taken
/// after this one and never the other way round.</para>
/// <para>Event and global-error interrupts go as MSIs when SMMU_*_IRQ_CFG0 holds a non-zero address (to the
/// <see cref="IMsiSink"/> given, with this SMMU's own DeviceID, else as a 32-bit write to memory), otherwise as
/// a pulse on <see cref="EventQueueInterrupt"/> or <see cref="GlobalErrorInterrupt"/> (rising-edge SPIs in the
/// device tree, beside the msi-parent that makes Linux take MSIs). The event queue interrupt fires when the queue
/// turns non-empty.</para>
/// </remarks>
[CompiledEarly]
public sealed partial class SmmuV3 : IMmioDevice
{
    public const ulong Size = 0x20000;
    public const int StreamIdBits = 16, SubstreamIdBits = 8;
    public const int CommandQueueMaxLog2 = 10, EventQueueMaxLog2 = 10;
    /// <summary>SMMU_IDR5.OAS = 48 bits; the input address size is the same.</summary>
    public const int OutputAddressBits = 48;

    /// <summary>The SubstreamID of a transaction without one (PCIe without PASID).</summary>
    internal const uint NoSubstream = SmmuTlb.NoSubstream;

    private const int ContextCacheLimit = 4096;

    private readonly object gate = new();
    private readonly IGuestMemory memory;
    private readonly IMsiSink? msi;
    private readonly uint msiDeviceId;
    private readonly SmmuTlb tlb = new();
    private readonly Dictionary<ulong, StreamContext> contexts = [];

    /// <param name="memory">The physical side: where the tables and queues live and translated accesses land (the domain's memory for now).</param>
    /// <param name="baseAddress">Where the 128 KiB register window is mapped.</param>
    /// <param name="msi">Where this SMMU's own MSIs go first (the ITS); an address it refuses is written to <paramref name="memory"/>.</param>
    /// <param name="msiDeviceId">The DeviceID this SMMU's MSIs carry (its msi-parent specifier).</param>
    /// <param name="abortWhenDisabled">SMMU_GBPA.ABORT at reset: whether transactions abort, rather than bypass, while SMMUEN = 0.</param>
    public SmmuV3(IGuestMemory memory, ulong baseAddress, IMsiSink? msi = null, uint msiDeviceId = 0, bool abortWhenDisabled = false)
    {
        this.memory = memory;
        this.msi = msi;
        this.msiDeviceId = msiDeviceId;
        BaseAddress = baseAddress;
        resetGbpa = GbpaShcfgIncoming | (abortWhenDisabled ? GbpaAbort : 0);
        Reset();
    }

    public string Name => "smmuv3";
    public ulong WindowSize => Size;

    /// <summary>Where translated accesses land and the SMMU's own tables and queues live.</summary>
    internal IGuestMemory PhysicalSide => memory;

    /// <summary>The guest-physical address of the register window.</summary>
    public ulong BaseAddress { get; }

    /// <summary>The wired "eventq" interrupt, pulsed when the event queue turns non-empty and no MSI is configured.</summary>
    public IInterruptLine EventQueueInterrupt { get; set; } = UnconnectedLine.Instance;

    /// <summary>The wired "gerror" interrupt, pulsed when a global error becomes active and no MSI is configured.</summary>
    public IInterruptLine GlobalErrorInterrupt { get; set; } = UnconnectedLine.Instance;

    /// <summary>The wired "cmdq-sync" interrupt, pulsed by a CMD_SYNC that asks for an interrupt with no MSI address.</summary>
    public IInterruptLine CommandSyncInterrupt { get; set; } = UnconnectedLine.Instance;

    /// <summary>
    /// Hears every event this SMMU finds, recorded in the event queue or not (queue off, full, or the context's R
    /// bit clear), for the hypervisor's log. Called under the SMMU's lock: it must not call back into the SMMU.
    /// </summary>
    public Action<SmmuEvent>? EventObserver { get; set; }

    /// <summary>TLB hits and misses so far, for statistics.</summary>
    public (long Hits, long Misses) TlbStatistics { get { lock (gate) return (tlb.Hits, tlb.Misses); } }

    /// <summary>The DMA port of the device with <paramref name="streamId"/>, for transactions without a SubstreamID.</summary>
    public IDmaPort PortFor(uint streamId) => new SmmuStreamPort(this, streamId, NoSubstream);

    /// <summary>The DMA port of one substream (PASID) of the device with <paramref name="streamId"/>.</summary>
    public IDmaPort PortFor(uint streamId, uint substreamId) =>
        new SmmuStreamPort(this, streamId, substreamId < 1u << 20 ? substreamId : throw new ArgumentOutOfRangeException(nameof(substreamId)));

    /// <summary>
    /// An <see cref="IMsiSink"/> for a PCI host bridge: each MSI, a 32-bit write by the function whose requester ID
    /// is the DeviceID, is translated by the stream of that ID (the identity <c>iommu-map</c>) like any other DMA
    /// write, then offered to <paramref name="target"/> (the ITS) at the translated address, or written to memory
    /// if the target does not decode it. A faulting MSI is dropped and recorded.
    /// </summary>
    public IMsiSink MsiRemapper(IMsiSink target) => new SmmuMsiRemapper(this, target, memory);

    /// <summary>The device-tree node the domain builder writes for this SMMU; see <see cref="SmmuDeviceTreeNode"/>.</summary>
    public SmmuDeviceTreeNode DeviceTreeNode => DeviceTreeNodeAt(BaseAddress);

    /// <summary>The node of an SMMU placed at <paramref name="baseAddress"/>.</summary>
    public static SmmuDeviceTreeNode DeviceTreeNodeAt(ulong baseAddress) =>
        new($"iommu@{baseAddress:x}", "arm,smmu-v3", baseAddress, Size, IommuCells: 1, SmmuDeviceTreeNode.WiredInterruptNames, DmaCoherent: true);

    /// <summary>
    /// Translates one access that stays inside a 4 KiB page. False when it faults (the event is recorded), with
    /// the status the device sees: ReadOnly for a write refused by a permission, NotMapped for everything else.
    /// </summary>
    internal GuestMemoryStatus Translate(uint streamId, uint substreamId, ulong address, bool write, out ulong output)
    {
        lock (gate)
        {
            if ((cr0 & Cr0SmmuEn) == 0)
            {
                // 6.3.14: with the SMMU disabled, SMMU_GBPA decides: bypass, or abort without an event.
                output = address;
                return (gbpa & GbpaAbort) != 0 ? GuestMemoryStatus.NotMapped : GuestMemoryStatus.Ok;
            }
            if (tlb.TryTranslate(streamId, substreamId, address, write, out output)) return GuestMemoryStatus.Ok;
            output = 0;
            var context = ResolveContext(streamId, substreamId, address, write);
            if (context == null || context.Mode == StreamMode.Abort) return GuestMemoryStatus.NotMapped;
            if (context.Mode == StreamMode.Bypass)
            {
                output = address;
                return GuestMemoryStatus.Ok;
            }
            WalkFault fault = default;
            WalkResult s1 = default, s2 = default;
            ulong ipa = address;
            if (context.Stage1)
            {
                if (!Stage1Walker.Walk(context.S1, context.Stage2, context.S2, memory, address, write, context.Privileged, out s1, ref fault))
                    return Fault(streamId, substreamId, address, write, context.Privileged, fault);
                ipa = s1.Output;
            }
            ulong pa = ipa;
            if (context.Stage2)
            {
                if (!Stage2Walker.Walk(context.S2, memory, ipa, write, SmmuFaultClass.Input, out s2, ref fault))
                    return Fault(streamId, substreamId, address, write, context.Privileged, fault);
                pa = s2.Output;
            }
            tlb.Fill(streamId, substreamId, address, pa, ipa, context.Stage1, context.Stage2, context.S1.Asid, context.Vmid, s1, s2);
            output = pa;
            return GuestMemoryStatus.Ok;
        }
    }

    private GuestMemoryStatus Fault(uint streamId, uint substreamId, ulong address, bool write, bool privileged, in WalkFault fault)
    {
        var e = new SmmuEvent(fault.Type, streamId, Substream(substreamId), address, !write, privileged, fault.Stage2, fault.Class,
            fault.Ipa, fault.FetchAddress);
        Record(e, fault.Record);
        return write && fault.Type == SmmuEventType.FPermission ? GuestMemoryStatus.ReadOnly : GuestMemoryStatus.NotMapped;
    }

    /// <summary>
    /// The hypervisor's stage 2 behind this SMMU: whether the page at <paramref name="ipa"/>, where a transaction with
    /// input <paramref name="address"/> came out of this SMMU's translation (or bypass), is the domain's memory that
    /// the access may reach. When it is not — a hole, a device's registers, beyond the IPA size, a write to a
    /// read-only page — the transaction is refused before any byte moves and recorded as a stage 2 fault with the
    /// IPA (S2 = 1; F_ADDR_SIZE beyond the p2m's IPA size, F_PERMISSION for the write, F_TRANSLATION otherwise),
    /// whatever the guest's CD or STE says of its own faults, since these are not the guest's to hide.
    /// </summary>
    internal GuestMemoryStatus CheckOutput(uint streamId, uint substreamId, ulong address, ulong ipa, bool write)
    {
        var status = memory.Probe(ipa, write);
        if (status == GuestMemoryStatus.Ok) return status;
        var type = ipa >= P2m.IpaLimit ? SmmuEventType.FAddrSize
            : status == GuestMemoryStatus.ReadOnly ? SmmuEventType.FPermission : SmmuEventType.FTranslation;
        var e = new SmmuEvent(type, streamId, Substream(substreamId), address, !write, Privileged: false, Stage2: true,
            SmmuFaultClass.Input, ipa);
        lock (gate) Record(e, record: true);
        return status;
    }

    private static uint? Substream(uint substreamId) => substreamId == NoSubstream ? null : substreamId;

    /// <summary>This SMMU's own MSI (CMD_SYNC completion, event queue, global error): false if nothing took the write.</summary>
    private bool SendMsi(ulong address, uint data)
    {
        if (msi != null && msi.Deliver(address, data, msiDeviceId)) return true;
        return memory.WriteUInt32(address, data) == GuestMemoryStatus.Ok;
    }

    private static void Pulse(IInterruptLine line)
    {
        line.SetLevel(true);
        line.SetLevel(false);
    }

    private void DropCachedConfiguration()
    {
        tlb.InvalidateAll();
        contexts.Clear();
    }
}

/// <summary>
/// What the device tree says of an SMMUv3 (Linux's arm,smmu-v3 binding): <c>compatible = "arm,smmu-v3"</c>,
/// <c>reg = &lt;base size&gt;</c> (two cells each), <c>#iommu-cells = &lt;1&gt;</c> (the cell is the StreamID),
/// <c>dma-coherent</c> when <see cref="DmaCoherent"/> (SMMU_IDR0.COHACC), and either <c>interrupts</c> with
/// <c>interrupt-names</c> in <see cref="InterruptNames"/>' order (rising-edge SPIs; the builder picks them and
/// connects <see cref="SmmuV3.EventQueueInterrupt"/>, <see cref="SmmuV3.GlobalErrorInterrupt"/> and
/// <see cref="SmmuV3.CommandSyncInterrupt"/>), and, where there is an ITS, <c>msi-parent = &lt;&amp;its DEVICEID&gt;</c>
/// with the DeviceID given to the constructor, which a driver prefers (Linux does when SMMU_IDR0.MSI is set). The PCI host bridge's node gets <c>iommu-map = &lt;0 &amp;smmu 0 0x10000&gt;</c>
/// (requester ID = StreamID), and each function's DMA port is <see cref="SmmuV3.PortFor(uint)"/> of its
/// requester ID.
/// </summary>
public readonly record struct SmmuDeviceTreeNode(
    string Name, string Compatible, ulong RegBase, ulong RegSize, uint IommuCells, IReadOnlyList<string> InterruptNames, bool DmaCoherent)
{
    public static readonly IReadOnlyList<string> WiredInterruptNames = ["eventq", "gerror", "cmdq-sync"];
}
