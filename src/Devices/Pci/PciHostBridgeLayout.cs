namespace Jit.Devices.Pci;

/// <summary>A memory window of the host bridge: CPU addresses [CpuBase, CpuBase + Size) are PCI addresses from PciBase.</summary>
/// <param name="Is64Bit">Whether BARs placed here may be 64-bit only (the window lies above 4 GiB or may).</param>
public sealed record PciWindow(ulong CpuBase, ulong PciBase, ulong Size, bool Prefetchable, bool Is64Bit);

/// <summary>
/// Where a host bridge sits and what it decodes, and the properties its device-tree node needs, as cells. The
/// domain builder writes the node (compatible <see cref="Compatible"/>, device_type <see cref="DeviceType"/>,
/// #address-cells 3, #size-cells 2, #interrupt-cells 1, dma-coherent) from these; the bridge uses the same
/// record, so an address exists in one place.
/// </summary>
/// <param name="IntxSpis">The SPI numbers (32 and up, as the GIC counts them) of INTA, INTB, INTC, INTD.</param>
public sealed record PciHostBridgeLayout(ulong EcamBase, int FirstBus, int LastBus, IReadOnlyList<PciWindow> Windows, IReadOnlyList<uint> IntxSpis)
{
    public const string Compatible = "pci-host-ecam-generic";
    public const string DeviceType = "pci";
    public const uint AddressCells = 3, SizeCells = 2, InterruptCells = 1;

    // IEEE 1275 PCI bus binding, phys.hi: space code in bits 25:24 (2 = 32-bit memory, 3 = 64-bit), bit 30 prefetchable.
    private const uint Memory32Space = 0x0200_0000, Memory64Space = 0x0300_0000, PrefetchableBit = 0x4000_0000;
    // The GIC binding's interrupt specifier: type (0 = SPI), number from 32, flags (4 = level, active high).
    private const uint GicSpi = 0, LevelHigh = 4;

    public int BusCount => LastBus - FirstBus + 1;

    /// <summary>1 MiB of configuration space per bus.</summary>
    public ulong EcamSize => (ulong)BusCount << 20;

    /// <summary><c>reg</c>: the ECAM window, with the parent's 2 address and 2 size cells.</summary>
    public uint[] Reg() => [.. Cells64(EcamBase), .. Cells64(EcamSize)];

    /// <summary><c>bus-range</c>.</summary>
    public uint[] BusRange() => [(uint)FirstBus, (uint)LastBus];

    /// <summary><c>linux,pci-domain</c> is the builder's choice (one per bridge); <c>ranges</c>: one row per window, PCI address (3 cells), CPU address (2), size (2).</summary>
    public uint[] Ranges()
    {
        var cells = new List<uint>();
        foreach (var w in Windows)
        {
            uint hi = (w.Is64Bit ? Memory64Space : Memory32Space) | (w.Prefetchable ? PrefetchableBit : 0);
            cells.Add(hi);
            cells.AddRange(Cells64(w.PciBase));
            cells.AddRange(Cells64(w.CpuBase));
            cells.AddRange(Cells64(w.Size));
        }
        return [.. cells];
    }

    /// <summary><c>msi-map</c>: requester IDs of the bus range map one to one onto ITS DeviceIDs.</summary>
    public uint[] MsiMap(uint itsPhandle)
    {
        uint ridBase = (uint)FirstBus << 8;
        return [ridBase, itsPhandle, ridBase, (uint)BusCount << 8];
    }

    /// <summary><c>interrupt-map-mask</c>: the low two bits of the device number and the pin select an entry.</summary>
    public uint[] InterruptMapMask() => [0x1800, 0, 0, 7];

    /// <summary>
    /// <c>interrupt-map</c>: for device numbers 0 to 3 (the mask repeats them) and pins INTA to INTD, the SPI
    /// <see cref="PciHostBridge"/> drives: (device + pin - 1) mod 4.
    /// </summary>
    /// <param name="gicAddressCells">The GIC node's #address-cells (2 where it has an ITS child): a parent unit address of that many zero cells.</param>
    public uint[] InterruptMap(uint gicPhandle, int gicAddressCells)
    {
        if (IntxSpis.Count != 4) throw new InvalidOperationException("a host bridge has four INTx SPIs");
        var cells = new List<uint>();
        for (uint device = 0; device < 4; device++)
            for (uint pin = 1; pin <= 4; pin++)
            {
                cells.AddRange([device << 11, 0, 0, pin, gicPhandle]);
                for (int i = 0; i < gicAddressCells; i++) cells.Add(0);
                cells.AddRange([GicSpi, IntxSpis[(int)((device + pin - 1) % 4)] - 32, LevelHigh]);
            }
        return [.. cells];
    }

    private static uint[] Cells64(ulong value) => [(uint)(value >> 32), (uint)value];
}
