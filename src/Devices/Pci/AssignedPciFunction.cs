using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;

namespace Jit.Devices.Pci;

/// <summary>
/// A device assigned to a domain, as that domain's bridge shows it (Xen's vPCI for a domU): configuration space
/// trapped and sanitised, BARs and interrupts reaching the device itself. The device (a function owned by the
/// host, on no bridge of its own) keeps its state across moves; each domain it is given to gets a new view.
/// </summary>
/// <remarks>
/// <para>What the domain sees: vendor, device, revision, class and subsystem IDs and the interrupt pin are the
/// device's (read-only); the status register is the device's (its error bits write-1-to-clear). BARs are the
/// view's own, sized and typed as the device's, placed by the domain in its own windows; while memory decoding
/// is on and the device is in D0 they reach the device's registers. The command register is the view's and goes on to the device:
/// memory space, bus master (without it the device neither DMAs nor sends MSIs), interrupt disable, parity and
/// SERR. Cache line size and interrupt line are the view's. Capabilities are filtered: PCI Express, power
/// management, MSI and MSI-X (whose table and PBA must be in a BAR) pass through, address and data kept as the
/// domain wrote them, since the domain's SMMU and ITS decide where a message lands; vendor-specific ones (virtio
/// finds its structures through them) read through and ignore writes; every other one is skipped in the list.
/// Everything else — hidden capabilities, CardBus and reserved registers, extended configuration space — reads
/// 0 and ignores writes, logged once per function naming the domain.</para>
/// <para>What the device sees: the requester ID of the view on the domain's bridge (its MSIs' DeviceID and its
/// SMMU StreamID), the bridge's MSI sink and INTx line, and its DMA re-pointed to the domain's port for that
/// requester ID (<see cref="AssignableDmaPort"/>): set when the view joins the bridge, cleared when it leaves,
/// each under the device's lock.</para>
/// </remarks>
public sealed class AssignedPciFunction : PciFunction
{
    public const byte PowerManagementId = 0x01, MsiId = 0x05, VendorSpecificId = 0x09, PciExpressId = 0x10, MsixId = 0x11;

    private enum Source
    {
        /// <summary>The view's own register, with its masks (BARs, cache line size, interrupt line, reserved).</summary>
        View,
        /// <summary>The command register: the view's, and written on to the device.</summary>
        Command,
        /// <summary>The device's register: read and written through.</summary>
        Device,
        /// <summary>The device's register, read-only here.</summary>
        ReadOnly,
        /// <summary>The first capability the view shows.</summary>
        CapabilityPointer,
        /// <summary>Not shown: reads 0, writes ignored and logged.</summary>
        Hidden,
    }

    /// <param name="NextAt">The offset of a capability's next pointer, rewritten to skip hidden ones; -1 when none.</param>
    private readonly record struct Segment(int Start, int End, Source Source, bool LogWrites = false, int NextAt = -1, byte Next = 0);

    private readonly PciFunction device;
    private readonly AssignableDmaPort dma;
    private readonly Func<ushort, IDmaPort> dmaFor;
    private readonly Segment[] segments;
    private readonly byte firstCapability;

    /// <param name="device">The assigned device: on no bridge, its DMA through <paramref name="dma"/>.</param>
    /// <param name="owner">The domain, for logs ("d1 (guest)").</param>
    /// <param name="dmaFor">The domain's DMA port for a requester ID on its bridge: its SMMU stream, or its memory.</param>
    public AssignedPciFunction(PciFunction device, AssignableDmaPort dma, string owner, Func<ushort, IDmaPort> dmaFor)
        : base(device.Identity, (byte)device.ReadConfig(InterruptPinRegister, 1))
    {
        this.device = device;
        this.dma = dma;
        this.dmaFor = dmaFor;
        Owner = owner;
        foreach (var (index, kind, size) in device.DefinedBars())
            DefineBar(index, kind, size, new DeviceBar(device, index, size));
        var shown = device.CapabilityList.Where(Shown).ToList();
        firstCapability = shown.Count > 0 ? (byte)shown[0].Offset : (byte)0;
        var list = new List<Segment>
        {
            new(VendorIdRegister, CommandRegister, Source.ReadOnly),
            new(CommandRegister, StatusRegister, Source.Command),
            new(StatusRegister, RevisionIdRegister, Source.Device),
            new(RevisionIdRegister, CacheLineSizeRegister, Source.ReadOnly),
            new(CacheLineSizeRegister, 0x28, Source.View),                 // cache line, latency, header type, BIST, BARs
            new(0x28, SubsystemVendorIdRegister, Source.Hidden, LogWrites: true), // CardBus CIS pointer
            new(SubsystemVendorIdRegister, 0x30, Source.ReadOnly),
            new(0x30, CapabilitiesPointerRegister, Source.View),           // expansion ROM: none, reads 0
            new(CapabilitiesPointerRegister, CapabilitiesPointerRegister + 1, Source.CapabilityPointer),
            new(CapabilitiesPointerRegister + 1, 0x40, Source.View),       // reserved, interrupt line and pin
        };
        int at = 0x40;
        for (int i = 0; i < shown.Count; i++)
        {
            var cap = shown[i];
            if (cap.Offset > at) list.Add(new Segment(at, cap.Offset, Source.Hidden, LogWrites: true));
            byte next = i + 1 < shown.Count ? (byte)shown[i + 1].Offset : (byte)0;
            bool readOnly = cap.Id == VendorSpecificId;
            list.Add(new Segment(cap.Offset, cap.Offset + cap.Length, readOnly ? Source.ReadOnly : Source.Device, LogWrites: readOnly,
                NextAt: cap.Offset + 1, Next: next));
            at = cap.Offset + cap.Length;
        }
        list.Add(new Segment(at, ConfigSpaceSize, Source.Hidden, LogWrites: true));
        segments = [.. list];
    }

    public override string Name => device.Name;

    /// <summary>The domain this view belongs to, as logs name it.</summary>
    public string Owner { get; }

    /// <summary>The device behind the view.</summary>
    public PciFunction Device => device;

    /// <summary>Whether the view passes capability <paramref name="cap"/> on; MSI-X only when its table and PBA are in BARs the device has.</summary>
    private bool Shown(PciCapability cap) => cap.Id switch
    {
        PowerManagementId or MsiId or PciExpressId or VendorSpecificId => true,
        MsixId => InDefinedBar(device.ReadConfig(cap.Offset + 4, 4)) && InDefinedBar(device.ReadConfig(cap.Offset + 8, 4)),
        _ => false,
    };

    private bool InDefinedBar(uint offsetAndBir) => device.DefinedBars().Any(b => b.Index == (int)(offsetAndBir & 7));

    // ---- configuration space ----

    public override uint ReadConfig(int offset, int size)
    {
        CheckAccess(offset, size);
        uint value = 0;
        foreach (var (at, length, segment) in Pieces(offset, size))
            value |= ReadPiece(at, length, segment) << (8 * (at - offset));
        return value;
    }

    public override void WriteConfig(int offset, int size, uint value)
    {
        CheckAccess(offset, size);
        foreach (var (at, length, segment) in Pieces(offset, size))
            WritePiece(at, length, segment, (uint)((ulong)value >> (8 * (at - offset))) & Mask(length));
    }

    private static uint Mask(int length) => length == 4 ? uint.MaxValue : (1u << (8 * length)) - 1;

    /// <summary>The parts of an access by segment, each a naturally aligned 1, 2 or 4-byte access (bytes where a part is not).</summary>
    private IEnumerable<(int At, int Length, Segment Segment)> Pieces(int offset, int size)
    {
        int end = offset + size;
        foreach (var s in segments)
        {
            if (s.End <= offset || s.Start >= end) continue;
            int from = Math.Max(offset, s.Start), to = Math.Min(end, s.End), length = to - from;
            if (length is 1 or 2 or 4 && (from & (length - 1)) == 0) yield return (from, length, s);
            else
                for (int b = from; b < to; b++) yield return (b, 1, s);
        }
    }

    private uint ReadPiece(int at, int length, Segment s)
    {
        switch (s.Source)
        {
            case Source.View:
            case Source.Command:
                return base.ReadConfig(at, length);
            case Source.Device:
            case Source.ReadOnly:
                uint value = device.ReadConfig(at, length);
                if (s.NextAt >= at && s.NextAt < at + length)
                {
                    int shift = 8 * (s.NextAt - at);
                    value = (value & ~(0xFFu << shift)) | (uint)s.Next << shift;
                }
                return value;
            case Source.CapabilityPointer:
                return firstCapability;
            default:
                return 0;
        }
    }

    private void WritePiece(int at, int length, Segment s, uint value)
    {
        switch (s.Source)
        {
            case Source.View:
                base.WriteConfig(at, length, value);
                return;
            case Source.Command:
                base.WriteConfig(at, length, value);
                device.WriteConfig(at, length, value);
                return;
            case Source.Device:
                device.WriteConfig(at, length, value);
                return;
        }
        if (s.LogWrites)
            LogOnce("hidden-config-write", $"{Owner}: configuration writes outside what assignment passes through are ignored (first: 0x{value:x} at 0x{at:x})");
    }

    // ---- the device behind the bridge ----

    private protected override void Attached(IInterruptLine intxLine)
    {
        ushort requesterId = RequesterId;
        var msi = MsiSink;
        var port = dmaFor(requesterId);
        device.Quiesced(() =>
        {
            device.Attach(requesterId, msi, intxLine, static () => { });
            dma.Retarget(port);
        });
    }

    private protected override void Detached() =>
        device.Quiesced(() =>
        {
            dma.Retarget(null);
            device.Detach();
        });

    /// <summary>
    /// One of the view's BARs: the device's BAR of the same index, while the device decodes (memory space on, in
    /// D0: the domain's power management capability is the device's); otherwise a master abort.
    /// </summary>
    private sealed class DeviceBar(PciFunction device, int index, ulong size) : IMmioDevice
    {
        public string Name => $"assigned-bar{index}";
        public ulong WindowSize => size;

        public bool Read(ulong offset, int size, out ulong value)
        {
            if (device.DecodedBars.Length > 0) return device.BarRead(index, offset, size, out value);
            value = size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
            return true;
        }

        public bool Write(ulong offset, int size, ulong value) => device.DecodedBars.Length == 0 || device.BarWrite(index, offset, size, value);
    }
}
