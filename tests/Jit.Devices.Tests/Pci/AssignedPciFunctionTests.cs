using Jit.Devices.Pci;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Pci;

/// <summary>
/// A host device seen by a domain through <see cref="AssignedPciFunction"/>: configuration space sanitised, BARs
/// placed by the domain, and its DMA and MSIs going to whichever domain's bridge holds the view now.
/// </summary>
public class AssignedPciFunctionTests
{
    /// <summary>A capability a domain must not see: writable bytes the view must keep it from.</summary>
    private sealed class OpaqueCapability(byte id) : PciCapability
    {
        public override byte Id => id;
        public override int Length => 8;
        protected internal override void Initialise()
        {
            Set32(4, 0x1234_5678);
            SetWritable(4, 4, 0xFFFF_FFFF);
        }
    }

    /// <summary>
    /// A device that DMAs: a write of an address to BAR 0 makes it write "DMA!" there through its bus-master port;
    /// MSI-X in BAR 2, and beside the capabilities a domain may see, a vendor-specific one and a debug port one.
    /// </summary>
    private sealed class DmaDevice : PciFunction
    {
        public readonly MsixCapability Msix;
        public GuestMemoryStatus LastDma;

        public DmaDevice(IDmaPort dma) : base(new PciIdentity(0x1AF4, 0x1042, 0x018000, 1, 0x1AF4, 0x40), interruptPin: 1)
        {
            DefineBar(0, PciBarKind.Memory32, 0x1000, new Doorbell(this, dma));
            Msix = new MsixCapability(2, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x800);
            DefineBar(2, PciBarKind.Memory64, 0x4000, new PciBarWindow("msix", 0x4000).Add(0, Msix.Table).Add(0x800, Msix.PendingBitArray));
            AddCapability(new PciExpressCapability());
            AddCapability(new OpaqueCapability(0x0A));
            AddCapability(new PowerManagementCapability());
            AddCapability(Msix);
            AddCapability(new OpaqueCapability(AssignedPciFunction.VendorSpecificId));
        }

        public override string Name => "dma-test";
        public bool Signal(int vector) { lock (Gate) return Msix.Signal(vector); }

        /// <summary>DMA the device starts on its own, as a queue it serves does: under its lock, whoever owns it.</summary>
        public GuestMemoryStatus Work(IDmaPort port, ulong address) { lock (Gate) return port.Write(address, "work"u8); }

        private sealed class Doorbell(DmaDevice owner, IDmaPort dma) : IMmioDevice
        {
            public string Name => "doorbell";
            public ulong WindowSize => 0x1000;
            public bool Read(ulong offset, int size, out ulong value) { value = 0; return true; }
            public bool Write(ulong offset, int size, ulong value)
            {
                owner.LastDma = owner.BusMasterEnabled ? dma.Write(value, "DMA!"u8) : GuestMemoryStatus.NotMapped;
                return true;
            }
        }
    }

    /// <summary>A domain's side: its bridge, its doorbell sink and its memory as the device's DMA port.</summary>
    private sealed class Side
    {
        public readonly RecordingMsiSink Msi = new();
        public readonly RecordingDma Memory = new();
        public readonly PciHostBridge Bridge;
        public Side() => Bridge = new PciHostBridge(TestLayout.Create(), Msi);
    }

    private sealed class RecordingDma : IDmaPort
    {
        public readonly List<(ulong Address, byte[] Data)> Writes = [];
        public GuestMemoryStatus Read(ulong address, Span<byte> destination) => GuestMemoryStatus.Ok;
        public GuestMemoryStatus Write(ulong address, ReadOnlySpan<byte> source)
        {
            lock (Writes) Writes.Add((address, source.ToArray()));
            return GuestMemoryStatus.Ok;
        }

        public int Count { get { lock (Writes) return Writes.Count; } }
    }

    private readonly AssignableDmaPort dma = new();
    private readonly DmaDevice device;

    public AssignedPciFunctionTests() => device = new DmaDevice(dma);

    private AssignedPciFunction Plug(Side side, int slot, string owner = "d1 (test)")
    {
        var view = new AssignedPciFunction(device, dma, owner, _ => side.Memory);
        side.Bridge.Register(0, slot, 0, view);
        return view;
    }

    /// <summary>Plugs the device into <paramref name="side"/> at <paramref name="slot"/> and enables it there as a driver would.</summary>
    private ConfigPort PlugAndEnable(Side side, int slot)
    {
        Plug(side, slot);
        var config = new ConfigPort(side.Bridge, 0, slot, 0);
        Enable(config);
        return config;
    }

    /// <summary>Vector 0 of the MSI-X table (in BAR 2, placed at the prefetchable window's base) to the doorbell with <paramref name="data"/>; MSI-X on.</summary>
    private static void ProgramMsix(Side side, ConfigPort config, uint data)
    {
        var pref = side.Bridge.MemoryWindows[1];
        Assert.True(pref.Write(0, 8, RecordingMsiSink.Doorbell));
        Assert.True(pref.Write(8, 4, data));
        Assert.True(pref.Write(12, 4, 0));
        config.Write16(config.FindCapability(AssignedPciFunction.MsixId) + 2, 0x8000);
    }

    private static void Enable(ConfigPort config)
    {
        config.AssignBar(0, TestLayout.MemBase, false);
        config.AssignBar(2, TestLayout.PrefBase, true);
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
    }

    [Fact]
    public void TheDomainSeesTheDevicesIdentityAndBarsAndOnlyTheCapabilitiesAssignmentPasses()
    {
        var side = new Side();
        Plug(side, 3);
        var config = new ConfigPort(side.Bridge, 0, 3, 0);
        Assert.Equal(0x1042_1AF4u, config.Read32(PciFunction.VendorIdRegister));
        Assert.Equal(0x0180_0001u, config.Read32(PciFunction.RevisionIdRegister));
        Assert.Equal(0x0040_1AF4u, config.Read32(PciFunction.SubsystemVendorIdRegister));
        Assert.Equal(1, config.Read8(PciFunction.InterruptPinRegister));
        Assert.Equal((0x1000UL, false), config.SizeBar(0));
        Assert.Equal((0x4000UL, true), config.SizeBar(2));
        Assert.NotEqual(0, config.FindCapability(AssignedPciFunction.PciExpressId));
        Assert.NotEqual(0, config.FindCapability(AssignedPciFunction.PowerManagementId));
        Assert.NotEqual(0, config.FindCapability(AssignedPciFunction.MsixId));
        int vendor = config.FindCapability(AssignedPciFunction.VendorSpecificId);
        Assert.NotEqual(0, vendor);
        Assert.Equal(0, config.FindCapability(0x0A));

        // The hidden capability's bytes read 0 and keep the device's value; the vendor one reads through and is read-only.
        int hidden = device.CapabilityList.Single(c => c.Id == 0x0A).Offset;
        Assert.Equal(0u, config.Read32(hidden + 4));
        config.Write32(hidden + 4, 0xDEAD_BEEF);
        Assert.Equal(0x1234_5678u, device.ReadConfig(hidden + 4, 4));
        Assert.Equal(0x1234_5678u, config.Read32(vendor + 4));
        config.Write32(vendor + 4, 0xDEAD_BEEF);
        Assert.Equal(0x1234_5678u, device.ReadConfig(vendor + 4, 4));
        // Extended configuration space: nothing there.
        Assert.Equal(0u, config.Read32(0x100));
        config.Write32(0x100, 0xFFFF_FFFF);
        Assert.Equal(0u, config.Read32(0x100));
    }

    [Fact]
    public void BarsPlacedByTheDomainReachTheDeviceAndTheCommandRegisterGoesOnToIt()
    {
        var side = new Side();
        var config = PlugAndEnable(side, 3);
        Assert.True(device.BusMasterEnabled);
        Assert.True(device.MemorySpaceEnabled);
        // The device's own BAR registers are untouched: the domain's addresses are the view's.
        Assert.Equal(0UL, device.BarAddress(0));

        Assert.True(side.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_1000));
        Assert.Equal(GuestMemoryStatus.Ok, device.LastDma);
        Assert.Equal([(0x4000_1000UL, "DMA!"u8.ToArray())], side.Memory.Writes.Select(w => (w.Address, w.Data)));

        // In D3hot (the device's power management capability, as the domain wrote it) the BARs decode nothing.
        int pm = config.FindCapability(AssignedPciFunction.PowerManagementId);
        config.Write16(pm + 4, 3);
        Assert.True(side.Bridge.MemoryWindows[1].Read(0, 4, out ulong aborted));
        Assert.Equal(0xFFFF_FFFFUL, aborted);
        Assert.True(side.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_3000));
        Assert.Single(side.Memory.Writes);
        config.Write16(pm + 4, 0);

        // Bus mastering off in the domain is off in the device: no DMA.
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace);
        Assert.False(device.BusMasterEnabled);
        Assert.True(side.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_2000));
        Assert.Single(side.Memory.Writes);
    }

    [Fact]
    public void MsixMessagesKeepTheDomainsAddressAndDataAndCarryTheRequesterIdOnItsBridge()
    {
        var side = new Side();
        ProgramMsix(side, PlugAndEnable(side, 3), 42);
        Assert.True(device.Signal(0));
        Assert.Equal([(RecordingMsiSink.Doorbell, 42u, (uint)PciHostBridge.RequesterId(0, 3, 0))], side.Msi.Messages);
    }

    /// <summary>A hostile domain writes every register at every size with random values: no exception, and nothing it may not reach changes.</summary>
    [Fact]
    public void RandomWritesAllOverConfigurationSpaceChangeOnlyWhatTheDomainMayWrite()
    {
        var side = new Side();
        Plug(side, 3);
        var random = new Random(16);
        int hidden = device.CapabilityList.Single(c => c.Id == 0x0A).Offset;
        int vendor = device.CapabilityList.Single(c => c.Id == AssignedPciFunction.VendorSpecificId).Offset;
        for (int round = 0; round < 4; round++)
            for (int offset = 0; offset < PciFunction.ConfigSpaceSize; offset++)
                foreach (int size in new[] { 1, 2, 4 })
                {
                    if ((offset & (size - 1)) != 0) continue;
                    ulong at = 3UL << 15 | (uint)offset;
                    Assert.True(side.Bridge.Write(at, size, (ulong)random.NextInt64()));
                    Assert.True(side.Bridge.Read(at, size, out _));
                }
        Assert.Equal(device.Identity, new PciIdentity(0x1AF4, 0x1042, 0x018000, 1, 0x1AF4, 0x40));
        Assert.Equal(0x1042_1AF4u, device.ReadConfig(0, 4));
        Assert.Equal(0x1234_5678u, device.ReadConfig(hidden + 4, 4));
        Assert.Equal(0x1234_5678u, device.ReadConfig(vendor + 4, 4));
        Assert.Equal(0u, device.ReadConfig(0x100, 4));
        // The device's own BARs stay where nobody put them: only the view's move.
        Assert.Equal(0UL, device.BarAddress(0));
    }

    /// <summary>
    /// The device DMAs without pause on a thread of its own while it is moved back and forth between two domains:
    /// once a move returns, the domain it left gets not one more write.
    /// </summary>
    [Fact]
    public void DmaRacingMovesNeverReachesTheDomainTheDeviceLeft()
    {
        var a = new Side();
        var b = new Side();
        using var stop = new CancellationTokenSource();
        var worker = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) device.Work(dma, 0x4000_0000);
        });
        worker.Start();
        try
        {
            for (int move = 0; move < 20; move++)
            {
                var (from, slot) = move % 2 == 0 ? (a, 3) : (b, 5);
                Plug(from, slot);
                var deadline = DateTime.UtcNow.AddSeconds(5);
                int before = from.Memory.Count;
                while (from.Memory.Count == before && DateTime.UtcNow < deadline) Thread.Yield();
                Assert.True(from.Memory.Count > before, "the device made no DMA while plugged");
                from.Bridge.Unregister(0, slot, 0);
                int left = from.Memory.Count;
                Thread.Sleep(2);
                Assert.Equal(left, from.Memory.Count);
            }
        }
        finally
        {
            stop.Cancel();
            worker.Join();
        }
    }

    [Fact]
    public void AfterAMoveTheDevicesDmaAndMsisReachOnlyTheNewOwner()
    {
        var a = new Side();
        var b = new Side();
        var viewA = Plug(a, 3, "d1 (a)");
        var configA = new ConfigPort(a.Bridge, 0, 3, 0);
        Enable(configA);
        Assert.True(a.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_0000));
        Assert.Single(a.Memory.Writes);

        // Off A's bridge: A sees nothing there, and the device's DMA goes nowhere until it has an owner again.
        Assert.Same(viewA, a.Bridge.Unregister(0, 3, 0));
        device.Reset();
        Assert.Equal(0xFFFF_FFFFu, configA.Read32(0));
        Assert.False(dma.Connected);
        Assert.Equal(GuestMemoryStatus.NotMapped, dma.Write(0x4000_0000, "late"u8));

        Plug(b, 5, "d2 (b)");
        var configB = new ConfigPort(b.Bridge, 0, 5, 0);
        Assert.False(device.BusMasterEnabled); // reset, and B has not enabled it yet
        Enable(configB);
        Assert.True(b.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_0000));
        ProgramMsix(b, configB, 7);
        Assert.True(device.Signal(0));

        Assert.Single(a.Memory.Writes);
        Assert.Empty(a.Msi.Messages);
        Assert.Single(b.Memory.Writes);
        Assert.Equal([(RecordingMsiSink.Doorbell, 7u, (uint)PciHostBridge.RequesterId(0, 5, 0))], b.Msi.Messages);
        // A's window where the device was is a master abort now: nothing reaches the device from A.
        Assert.True(a.Bridge.MemoryWindows[0].Write(0, 8, 0x4000_0000));
        Assert.Single(a.Memory.Writes);
        Assert.Single(b.Memory.Writes);
    }
}
