using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic.Its;

/// <summary>
/// A GICv3 Interrupt Translation Service (GICv3 chapter 6, registers 12.19): a 64 KiB control frame and a
/// 64 KiB translation frame whose GITS_TRANSLATER is the MSI doorbell. A write of EventID there, tagged with
/// the writer's DeviceID, is translated through the device table, the device's interrupt translation table
/// (ITT) and the collection table to a physical LPI made pending at the collection's redistributor.
/// </summary>
/// <remarks>
/// <para>Configuration (GITS_TYPER): physical LPIs only, 17-bit DeviceIDs (PCI requester IDs take the 16 bits
/// below <see cref="PlatformDeviceIds"/>, where platform devices' own MSIs start), 16-bit EventIDs and ICIDs,
/// PTA = 0 (targets are processor numbers, GICR_TYPER.Processor_Number), HCC = 0 (collections live in the
/// collection table), SEIS = 0 (no SError is ever reported). GITS_BASER0 is the device table, GITS_BASER1 the collection table, both
/// flat or two-level in 4, 16 or 64 KiB pages; BASER2–7 are unimplemented (RAZ/WI).</para>
/// <para>Memory formats, 8 bytes each, little-endian, bit 63 = Valid (the architecture leaves them
/// IMPLEMENTATION DEFINED): a device table entry holds ITT_addr in [51:8] and the number of EventID bits minus
/// one in [4:0]; a collection table entry holds the target processor number in [15:0]; an ITT entry
/// (GITS_TYPER.ITT_entry_size = 8) holds the ICID in [47:32] and the pINTID in [31:0].</para>
/// <para>Command errors, handled the SError-free way the architecture allows (GITS_TYPER.SEIS = 0): a command
/// whose parameters are wrong — unmapped or out-of-range DeviceID, EventID or ICID, a pINTID outside the LPI
/// range, a target that is no processor, a table that is not guest RAM, an unknown or virtual-LPI command
/// number — is ignored, reported once per kind, and the queue goes on, as Linux expects. When the queue itself
/// cannot be read (GITS_CBASER points outside RAM) or GITS_CWRITER lies beyond it, processing stalls:
/// GITS_CREADR.Stalled = 1 and CREADR stays at the command that could not be read, until GITS_CWRITER is
/// written with Retry = 1 or GITS_CBASER is rewritten. A translation that finds no mapping is dropped.</para>
/// <para>Commands run on the vCPU that accesses the ITS, as if the ITS consumed them in the background between
/// its accesses: up to <see cref="CommandsPerAccess"/> on the GITS_CWRITER write that publishes them and as many
/// more on each later CWRITER write, GITS_CTLR write or GITS_CREADR read, which is how software waits for them
/// (it polls GITS_CREADR until it reaches GITS_CWRITER). A SYNC therefore has nothing to wait for, and
/// GITS_CTLR.Quiescent is simply !Enabled. The bound keeps any one access short: a command's cost can grow
/// with the LPIs pending at its redistributors (a CLEAR of the one about to be delivered makes them look for
/// the next), and a 1 MiB queue holds 32,767 commands. One lock orders commands and translations; it is taken before the GIC's own.</para>
/// <para>A write to GITS_TRANSLATER through MMIO (a vCPU's store) carries DeviceID 0; devices reach the
/// doorbell through <see cref="IMsiSink.Deliver"/> with their own DeviceID.</para>
/// </remarks>
[CompiledEarly]
public sealed partial class GicIts : IMmioDevice, IMsiSink
{
    public const ulong Size = 0x20000;
    public const ulong TranslaterOffset = 0x10040;
    public const int DeviceIdBits = 17, EventIdBits = 16, CollectionIdBits = 16;

    /// <summary>
    /// The first DeviceID above every PCI requester ID the bridge's identity msi-map can produce: a platform
    /// device that sends MSIs of its own (the SMMU) is given one from here in its msi-parent.
    /// </summary>
    public const uint PlatformDeviceIds = 0x1_0000;

    /// <summary>
    /// The most commands one register access runs. Linux's driver publishes a command or two and a SYNC at a
    /// time, so it never notices; a guest that publishes a full queue sees GITS_CREADR advance as it polls.
    /// </summary>
    public const int CommandsPerAccess = 64;

    private const ulong Ctlr = 0x0, Iidr = 0x4, Typer = 0x8, Cbaser = 0x80, Cwriter = 0x88, Creadr = 0x90;
    private const ulong BaserFirst = 0x100, BaserEnd = 0x140;
    private const ulong TranslationFrame = 0x10000;
    private const ulong CtlrEnabled = 1, CtlrQuiescent = 1UL << 31;
    // Valid, InnerCache, OuterCache, Physical_Address [51:12], Shareability, Size.
    private const ulong CbaserWritable = 0xB8EF_FFFF_FFFF_FCFFUL;
    private const ulong QueueOffsetMask = 0xF_FFE0;

    private readonly object gate = new();
    private readonly GicV3 gic;
    private readonly IGuestMemory memory;
    private readonly ItsTable devices, collections;

    private bool enabled, stalled;
    private ulong cbaser, cwriter, creadr;

    /// <summary>The guest-physical address this ITS's frames are mapped at: its doorbell is there + 0x10040.</summary>
    public ulong BaseAddress { get; }

    /// <param name="gic">The GIC whose redistributors receive the LPIs; it must have been given guest memory.</param>
    /// <param name="memory">Where the ITS reads its command queue and keeps its tables: the domain's memory.</param>
    /// <param name="baseAddress">Where the domain maps the 128 KiB window (<see cref="Size"/>).</param>
    public GicIts(GicV3 gic, IGuestMemory memory, ulong baseAddress)
    {
        if (!gic.LpisSupported) throw new ArgumentException("an ITS needs a GICv3 with LPIs (constructed with guest memory)", nameof(gic));
        this.gic = gic;
        this.memory = memory;
        BaseAddress = baseAddress;
        devices = new ItsTable(memory, ItsTable.Kind.Devices, DeviceIdBits);
        collections = new ItsTable(memory, ItsTable.Kind.Collections, CollectionIdBits);
    }

    public string Name => "gicv3-its";
    public ulong WindowSize => Size;

    /// <summary>
    /// The device-tree node the domain builder writes for this ITS, as a child of the "arm,gic-v3" node (which
    /// has #address-cells = 2, #size-cells = 2 and an empty ranges): <c>compatible = "arm,gic-v3-its"</c>, an
    /// empty <c>msi-controller</c> property, <c>#msi-cells = &lt;1&gt;</c> (the cell is the DeviceID),
    /// <c>reg = &lt;base size&gt;</c> in two cells each, and a phandle that the PCI host bridge names in
    /// <c>msi-map = &lt;0 &amp;its 0 0x10000&gt;</c> (requester ID = DeviceID).
    /// </summary>
    public ItsDeviceTreeNode DeviceTreeNode => DeviceTreeNodeAt(BaseAddress);

    /// <summary>The node of an ITS placed at <paramref name="baseAddress"/>, for a device tree written before the domain's devices exist.</summary>
    public static ItsDeviceTreeNode DeviceTreeNodeAt(ulong baseAddress) => new($"msi-controller@{baseAddress:x}", "arm,gic-v3-its", baseAddress, Size, 1);

    private static ulong TyperValue => 1                                   // Physical
        | (ulong)(ItsTable.EntrySize - 1) << 4                 // ITT_entry_size
        | (ulong)(EventIdBits - 1) << 8                        // IDbits
        | (ulong)(DeviceIdBits - 1) << 13;                     // Devbits; SEIS, PTA, HCC, CIL = 0: 16-bit ICIDs

    private ulong QueueBase => cbaser & 0x000F_FFFF_FFFF_F000UL;
    private ulong QueueBytes => ((cbaser & 0xFF) + 1) * 0x1000;

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (offset >= TranslationFrame) return size is 2 or 4 or 8; // GITS_TRANSLATER is write-only: RAZ
        lock (gate)
        {
            ulong reg = offset & ~7UL;
            if (reg == Creadr) ProcessQueue();
            if (reg is Typer or Cbaser or Cwriter or Creadr || reg is >= BaserFirst and < BaserEnd)
                return Register64.Read(Read64(reg), offset & 7, size, out value);
            if (size != 4) return false;
            value = offset switch
            {
                Ctlr => enabled ? CtlrEnabled : CtlrQuiescent,
                Iidr => 0x43B,
                _ => offset >= 0xFFD0 ? Distributor.IdRegister(offset) : 0,
            };
            return true;
        }
    }

    private ulong Read64(ulong reg) => reg switch
    {
        Typer => TyperValue,
        Cbaser => cbaser,
        Cwriter => cwriter,
        Creadr => creadr | (stalled ? 1UL : 0),
        BaserFirst => devices.Baser,
        BaserFirst + 8 => collections.Baser,
        _ => 0,
    };

    public bool Write(ulong offset, int size, ulong value)
    {
        if (offset >= TranslationFrame)
        {
            if (offset == TranslaterOffset && size is 2 or 4) Translate(deviceId: 0, eventId: (uint)value);
            return size is 2 or 4 or 8;
        }
        lock (gate)
        {
            ulong reg = offset & ~7UL;
            if (reg is Typer or Cbaser or Cwriter or Creadr || reg is >= BaserFirst and < BaserEnd)
            {
                if (!Register64.Merge(Read64(reg), offset & 7, size, value, out ulong merged)) return false;
                Write64(reg, merged);
                return true;
            }
            if (size != 4) return false;
            if (offset == Ctlr)
            {
                enabled = (value & CtlrEnabled) != 0;
                ProcessQueue();
            }
            return true;
        }
    }

    private void Write64(ulong reg, ulong value)
    {
        switch (reg)
        {
            case Cwriter:
                cwriter = value & QueueOffsetMask;
                if ((value & 1) != 0) stalled = false; // Retry
                ProcessQueue();
                return;
            case Cbaser or BaserFirst or BaserFirst + 8 when enabled:
                // Writes to GITS_CBASER and GITS_BASER<n> are UNPREDICTABLE while the ITS is enabled; ignoring
                // them keeps the queue and the translations coherent.
                Log.Once("its-table-while-enabled", "ITS: GITS_CBASER/GITS_BASER write while enabled ignored");
                return;
            case Cbaser:
                cbaser = value & CbaserWritable;
                creadr = 0;
                stalled = false;
                return;
            case BaserFirst: devices.Write(value); return;
            case BaserFirst + 8: collections.Write(value); return;
        }
    }

    /// <summary>Runs the commands from GITS_CREADR towards GITS_CWRITER, at most <see cref="CommandsPerAccess"/> of them.</summary>
    private void ProcessQueue()
    {
        if (!enabled || stalled || (cbaser & ItsTable.ValidBit) == 0) return;
        ulong bytes = QueueBytes;
        if (cwriter >= bytes)
        {
            Stall("cwriter", $"GITS_CWRITER 0x{cwriter:x} lies beyond the {bytes / 1024} KiB command queue");
            return;
        }
        Span<byte> raw = stackalloc byte[ItsCommand.Size];
        for (int run = 0; creadr != cwriter && run < CommandsPerAccess; run++)
        {
            if (memory.Read(QueueBase + creadr, raw) != GuestMemoryStatus.Ok)
            {
                Stall("queue", $"command queue at 0x{QueueBase + creadr:x} is not guest RAM");
                return;
            }
            var command = ItsCommand.From(raw);
            var error = Execute(command);
            if (error != ItsError.None)
                Log.Once($"its-cmd-{command.Number:x2}-{error}", $"ITS: {command.Name} ignored: {Describe(error)}");
            creadr = (creadr + ItsCommand.Size) % bytes;
        }
    }

    private void Stall(string kind, string why)
    {
        stalled = true;
        Log.Once($"its-stall-{kind}", $"ITS: command queue stalled (GITS_CREADR.Stalled): {why}");
    }

    private long messages;

    /// <summary>MSIs written to GITS_TRANSLATER so far, translated or dropped: whether anything reached this ITS at all.</summary>
    public long MessagesReceived => Interlocked.Read(ref messages);

    /// <summary>An MSI: a write of <paramref name="data"/> (the EventID) to GITS_TRANSLATER by device <paramref name="deviceId"/>.</summary>
    public bool Deliver(ulong address, uint data, uint deviceId)
    {
        if (address != BaseAddress + TranslaterOffset) return false;
        Interlocked.Increment(ref messages);
        Translate(deviceId, data);
        return true;
    }

    private void Translate(uint deviceId, uint eventId)
    {
        lock (gate)
        {
            if (!enabled)
            {
                Log.Once("its-translate-disabled", "ITS: MSI while GITS_CTLR.Enabled = 0 dropped");
                return;
            }
            var error = LookUp(deviceId, eventId, out int cpu, out uint intid);
            if (error == ItsError.None && !gic.SetLpiPending(cpu, (int)intid)) error = ItsError.RedistributorRefused;
            if (error != ItsError.None)
                Log.Once($"its-translate-{error}", $"ITS: MSI from device {deviceId} event {eventId} dropped: {Describe(error)}");
        }
    }

    private static string Describe(ItsError error) => error switch
    {
        ItsError.UnknownCommand => "unknown or unsupported command (this ITS has no virtual LPIs)",
        ItsError.DeviceIdOutOfRange => "DeviceID beyond the device table (or GITS_BASER0 not valid)",
        ItsError.UnmappedDevice => "device not mapped (MAPD)",
        ItsError.EventIdOutOfRange => "EventID beyond the device's ITT size",
        ItsError.UnmappedEvent => "event not mapped (MAPTI/MAPI)",
        ItsError.CollectionIdOutOfRange => "ICID beyond the collection table (or GITS_BASER1 not valid)",
        ItsError.UnmappedCollection => "collection not mapped (MAPC)",
        ItsError.LpiOutOfRange => $"pINTID outside the LPI range {RedistributorLpis.FirstLpi}..{RedistributorLpis.LpiLimit - 1}",
        ItsError.TargetOutOfRange => "target redistributor is no processor of this domain",
        ItsError.ItsTableUnwritable => "the table entry is not in guest RAM",
        ItsError.RedistributorRefused => "the target redistributor has LPIs disabled or too few LPI ID bits",
        _ => error.ToString(),
    };
}

/// <summary>What the device tree says of an ITS; see <see cref="GicIts.DeviceTreeNode"/>.</summary>
public readonly record struct ItsDeviceTreeNode(string Name, string Compatible, ulong RegBase, ulong RegSize, uint MsiCells);
