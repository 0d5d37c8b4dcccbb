using Jit.Runtime.Interrupts;
using Jit.Runtime.Startup;

namespace Jit.Devices.Pci;

/// <summary>
/// A <c>pci-host-ecam-generic</c> host bridge: its ECAM window (this device, 1 MiB of configuration space per bus,
/// PCIe 7.2.2) reaches the functions registered on it, and its memory windows (<see cref="MemoryWindows"/>, each
/// an <see cref="IMmioDevice"/> to map at the window's CPU address) route an access to the function and BAR that
/// decode it. The host bridge itself has no header: Linux's generic driver needs none.
/// </summary>
/// <remarks>
/// <para>ECAM accesses are 1, 2, 4 or 8 bytes, naturally aligned; an 8-byte access is two 4-byte ones, low half
/// first. A misaligned access is rejected (the guest gets an abort), as the bus would not carry it. A BDF with
/// no function reads all-ones, the master-abort value Linux probes for, and ignores writes.</para>
/// <para>Memory windows: an address no BAR decodes reads all-ones and ignores writes (a master abort, not an
/// abort: PCI drivers expect it when a device is gone). Where a guest made BARs overlap, the function
/// registered first wins. The windows' PCI addresses are their CPU addresses plus nothing, unless the layout
/// says otherwise (<see cref="PciWindow.PciBase"/>).</para>
/// <para>INTx: a function at device d with pin p (1 = INTA) drives line (d + p - 1) mod 4 of the four given,
/// the swizzle the device tree's interrupt-map describes. MSIs go to the given sink tagged with the requester
/// ID, which the msi-map passes through unchanged as the ITS DeviceID.</para>
/// </remarks>
[CompiledEarly]
public sealed class PciHostBridge : IMmioDevice
{
    private const int DevicesPerBus = 32, FunctionsPerDevice = 8;

    private readonly object gate = new();
    // A leaf lock: functions rebuild the routes under their own lock, so this one never waits for theirs.
    private readonly object routeGate = new();
    private readonly PciFunction?[]?[] buses;
    private readonly IMsiSink msi;
    private readonly IInterruptLine[] intx;
    private PciFunction[] functions = [];
    private Route[] routes = [];

    private readonly record struct Route(ulong Start, ulong Size, PciFunction Function, int Bar);

    /// <param name="intx">The lines of INTA to INTD in order (SPIs <see cref="PciHostBridgeLayout.IntxSpis"/>); null leaves INTx unconnected.</param>
    public PciHostBridge(PciHostBridgeLayout layout, IMsiSink msi, IReadOnlyList<IInterruptLine>? intx = null)
    {
        if (intx != null && intx.Count != 4) throw new ArgumentException("a host bridge has four INTx lines");
        Layout = layout;
        this.msi = msi;
        this.intx = intx?.ToArray() ?? [.. Enumerable.Repeat<IInterruptLine>(UnconnectedLine.Instance, 4)];
        buses = new PciFunction?[]?[layout.BusCount];
        MemoryWindows = [.. layout.Windows.Select(w => new PciMemoryWindow(this, w))];
    }

    public PciHostBridgeLayout Layout { get; }

    /// <summary>One device per window of <see cref="PciHostBridgeLayout.Windows"/>, in that order, to map at its CPU base.</summary>
    public IReadOnlyList<PciMemoryWindow> MemoryWindows { get; }

    public string Name => "pci-ecam";
    public ulong WindowSize => Layout.EcamSize;

    /// <summary>
    /// The requester ID of bus:device.function (PCIe's bus number, device and function in 16 bits): the ITS
    /// DeviceID through the msi-map and the SMMU StreamID through the iommu-map, both identities.
    /// </summary>
    public static ushort RequesterId(int bus, int device, int function) => (ushort)(bus << 8 | device << 3 | function);

    /// <summary>
    /// Puts <paramref name="function"/> at bus:device.function; the bus is absolute (within the bus range).
    /// A function can be on one bridge at a time; <see cref="Unregister"/> takes it off (device assignment).
    /// </summary>
    public void Register(int bus, int device, int function, PciFunction pciFunction)
    {
        if (bus < Layout.FirstBus || bus > Layout.LastBus || (uint)device >= DevicesPerBus || (uint)function >= FunctionsPerDevice)
            throw new ArgumentOutOfRangeException(nameof(bus), $"{bus:x2}:{device:x2}.{function} is outside this bridge");
        lock (gate)
        {
            var slots = buses[bus - Layout.FirstBus];
            if (slots == null) Volatile.Write(ref buses[bus - Layout.FirstBus], slots = new PciFunction?[DevicesPerBus * FunctionsPerDevice]);
            int slot = device * FunctionsPerDevice + function;
            if (slots[slot] != null) throw new InvalidOperationException($"{bus:x2}:{device:x2}.{function} is taken");
            int pin = pciFunction.ReadConfig(PciFunction.InterruptPinRegister, 1) is var p and >= 1 and <= 4 ? (int)p : 1;
            pciFunction.Attach(RequesterId(bus, device, function), msi, intx[(device + pin - 1) % 4], RebuildRoutes);
            slots[slot] = pciFunction;
            Volatile.Write(ref functions, [.. functions, pciFunction]);
            UpdateMultiFunction(slots, device);
            RebuildRoutes();
        }
    }

    /// <summary>Takes the function at bus:device.function off the bridge and returns it (null if there was none).</summary>
    public PciFunction? Unregister(int bus, int device, int function)
    {
        lock (gate)
        {
            if (FunctionAt(bus, device, function) is not { } f) return null;
            var slots = buses[bus - Layout.FirstBus]!;
            slots[device * FunctionsPerDevice + function] = null;
            Volatile.Write(ref functions, [.. functions.Where(x => x != f)]);
            f.Detach();
            UpdateMultiFunction(slots, device);
            RebuildRoutes();
            return f;
        }
    }

    public PciFunction? FunctionAt(int bus, int device, int function)
    {
        if (bus < Layout.FirstBus || bus > Layout.LastBus || (uint)device >= DevicesPerBus || (uint)function >= FunctionsPerDevice) return null;
        return Volatile.Read(ref buses[bus - Layout.FirstBus])?[device * FunctionsPerDevice + function];
    }

    private static void UpdateMultiFunction(PciFunction?[] slots, int device)
    {
        bool others = false;
        for (int f = 1; f < FunctionsPerDevice; f++) others |= slots[device * FunctionsPerDevice + f] != null;
        slots[device * FunctionsPerDevice]?.SetMultiFunction(others);
    }

    // ---- ECAM ----

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if ((offset & (ulong)(size - 1)) != 0) return false;
        if (size == 8)
        {
            ulong low = ReadConfig(offset, 4), high = ReadConfig(offset + 4, 4);
            value = high << 32 | low;
        }
        else value = ReadConfig(offset, size);
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        if ((offset & (ulong)(size - 1)) != 0) return false;
        if (size == 8)
        {
            WriteConfig(offset, 4, (uint)value);
            WriteConfig(offset + 4, 4, (uint)(value >> 32));
        }
        else WriteConfig(offset, size, (uint)value);
        return true;
    }

    private PciFunction? Decode(ulong offset, out int register)
    {
        register = (int)(offset & 0xFFF);
        return FunctionAt(Layout.FirstBus + (int)(offset >> 20), (int)(offset >> 15) & 31, (int)(offset >> 12) & 7);
    }

    private ulong ReadConfig(ulong offset, int size) =>
        Decode(offset, out int register) is { } f ? f.ReadConfig(register, size) : size == 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;

    private void WriteConfig(ulong offset, int size, uint value) => Decode(offset, out int register)?.WriteConfig(register, size, value);

    // ---- memory windows ----

    private void RebuildRoutes()
    {
        lock (routeGate)
        {
            var list = new List<Route>();
            foreach (var f in Volatile.Read(ref functions))
                foreach (var bar in f.DecodedBars)
                    list.Add(new Route(bar.Address, bar.Size, f, bar.Bar));
            Volatile.Write(ref routes, list.ToArray());
        }
    }

    /// <summary>Finds the BAR that decodes [pciAddress, pciAddress + size): the whole access must fall inside it.</summary>
    internal bool TryRoute(ulong pciAddress, int size, out PciFunction? function, out int bar, out ulong offset)
    {
        foreach (var r in Volatile.Read(ref routes))
        {
            ulong o = pciAddress - r.Start;
            if (o < r.Size && (ulong)size <= r.Size - o)
            {
                function = r.Function;
                bar = r.Bar;
                offset = o;
                return true;
            }
        }
        function = null;
        bar = 0;
        offset = 0;
        return false;
    }
}

/// <summary>One of the bridge's memory windows as the domain's MMIO map sees it.</summary>
public sealed class PciMemoryWindow : IMmioDevice
{
    private readonly PciHostBridge bridge;

    internal PciMemoryWindow(PciHostBridge bridge, PciWindow window)
    {
        this.bridge = bridge;
        Window = window;
    }

    public PciWindow Window { get; }
    public string Name => Window.Prefetchable ? "pci-mem-pref" : "pci-mem";
    public ulong WindowSize => Window.Size;

    public bool Read(ulong offset, int size, out ulong value)
    {
        if (bridge.TryRoute(Window.PciBase + offset, size, out var f, out int bar, out ulong at))
            return f!.BarRead(bar, at, size, out value);
        value = size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
        return true;
    }

    public bool Write(ulong offset, int size, ulong value) =>
        !bridge.TryRoute(Window.PciBase + offset, size, out var f, out int bar, out ulong at) || f!.BarWrite(bar, at, size, value);
}
