using Jit.Devices.Pci;

namespace Jit.Devices.Tests.Pci;

public class PciHostBridgeTests
{
    private readonly RecordingMsiSink msi = new();
    private readonly RecordingLine[] intx = [new(), new(), new(), new()];
    private readonly PciHostBridge bridge;
    private readonly TestFunction function = new();
    private readonly ConfigPort config;

    public PciHostBridgeTests()
    {
        bridge = new PciHostBridge(TestLayout.Create(), msi, intx);
        bridge.Register(0, 1, 0, function);
        config = new ConfigPort(bridge, 0, 1, 0);
    }

    private PciMemoryWindow Mem => bridge.MemoryWindows[0];

    private void AssignAndEnable()
    {
        config.AssignBar(0, TestLayout.MemBase + 0x10_0000, false);
        config.AssignBar(2, TestLayout.MemBase + 0x20_0000, true);
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
    }

    [Fact]
    public void UnclaimedFunctionsReadAllOnesAtEverySizeAndIgnoreWrites()
    {
        var empty = new ConfigPort(bridge, 0, 2, 0);
        Assert.Equal(0xFFFF_FFFFu, empty.Read32(0));
        Assert.Equal(0xFFFF, empty.Read16(2));
        Assert.Equal(0xFF, empty.Read8(0x3C));
        Assert.True(bridge.Read(2UL << 15, 8, out ulong wide));
        Assert.Equal(ulong.MaxValue, wide);
        empty.Write32(0x04, 0);
        Assert.Equal(0xFFFF_FFFFu, empty.Read32(0x04));
        // A high bus number decodes from bits 27:20.
        Assert.True(bridge.Read(255UL << 20 | 31UL << 15 | 7UL << 12, 4, out ulong far));
        Assert.Equal(0xFFFF_FFFFUL, far);
    }

    [Fact]
    public void HeaderIdentifiesTheFunctionAndEightByteAccessesAreTwoDwords()
    {
        Assert.Equal(0x5678_1234u, config.Read32(0));
        Assert.Equal(0x0C03_3002u, config.Read32(0x08)); // class 0c0330, revision 2
        Assert.Equal(0, config.Read8(PciFunction.HeaderTypeRegister));
        Assert.Equal(0x1100_1AF4u, config.Read32(0x2C));
        Assert.Equal(1, config.Read8(PciFunction.InterruptPinRegister));
        Assert.True(bridge.Read(1UL << 15, 8, out ulong both));
        Assert.Equal(0x5678_1234UL, both & 0xFFFF_FFFF);
        Assert.Equal((ulong)config.Read32(4), both >> 32);
        Assert.False(bridge.Read(1UL << 15 | 2, 4, out _)); // misaligned: not carried by the bus
    }

    [Fact]
    public void ReadOnlyAndReservedRegistersKeepTheirValues()
    {
        config.Write32(0x00, 0xDEAD_BEEF);
        config.Write32(0x08, 0xFFFF_FFFF);
        config.Write8(PciFunction.InterruptPinRegister, 3);
        config.Write32(0x28, 0xFFFF_FFFF);          // CardBus CIS pointer: not implemented
        config.Write32(0x30, 0xFFFF_FFFF);          // expansion ROM BAR: none, reads 0
        config.Write32(0x100, 0xFFFF_FFFF);         // extended space: no extended capabilities
        Assert.Equal(0x5678_1234u, config.Read32(0));
        Assert.Equal(0x0C03_3002u, config.Read32(0x08));
        Assert.Equal(1, config.Read8(PciFunction.InterruptPinRegister));
        Assert.Equal(0u, config.Read32(0x28));
        Assert.Equal(0u, config.Read32(0x30));
        Assert.Equal(0u, config.Read32(0x100));
        // Interrupt line and cache line size are scratch registers for software.
        config.Write8(PciFunction.InterruptLineRegister, 0x2A);
        Assert.Equal(0x2A, config.Read8(PciFunction.InterruptLineRegister));
    }

    [Fact]
    public void CommandKeepsOnlyImplementedBitsAndStatusErrorsAreWriteOneToClear()
    {
        config.Write16(PciFunction.CommandRegister, 0xFFFF);
        Assert.Equal(0x0546, config.Read16(PciFunction.CommandRegister)); // no I/O space, no reserved bits
        ushort status = config.Read16(PciFunction.StatusRegister);
        Assert.NotEqual(0, status & PciFunction.StatusCapabilitiesList);
        config.Write16(PciFunction.StatusRegister, 0xFFFF);
        Assert.Equal(status, config.Read16(PciFunction.StatusRegister)); // capabilities bit is read-only
    }

    [Fact]
    public void BarsSizeLikeLinuxAndReadBackTheirType()
    {
        var (size0, wide0) = config.SizeBar(0);
        var (size2, wide2) = config.SizeBar(2);
        Assert.Equal((0x1000UL, false), (size0, wide0));
        Assert.Equal((0x4000UL, true), (size2, wide2));
        Assert.Equal(4u, config.Read32(0x18) & 0xF); // 64-bit, not prefetchable
        Assert.Equal(0u, config.Read32(0x14));       // BAR 1 unused: reads 0 even after all-ones
        config.Write32(0x14, 0xFFFF_FFFF);
        Assert.Equal(0u, config.Read32(0x14));
        config.AssignBar(2, 0x1_2345_4000, true);
        Assert.Equal(0x1_2345_4000UL, function.BarAddress(2));
    }

    [Fact]
    public void BarsClaimTheirRangeOnlyWhileMemoryDecodingIsOn()
    {
        config.AssignBar(0, TestLayout.MemBase + 0x10_0000, false);
        Assert.True(Mem.Write(0x10_0008, 4, 0x1234_5678));
        Assert.Equal(0UL, function.Scratch.Words[1]);
        Assert.True(Mem.Read(0x10_0008, 4, out ulong before));
        Assert.Equal(0xFFFF_FFFFUL, before);

        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace);
        Assert.True(Mem.Write(0x10_0008, 4, 0x1234_5678));
        Assert.True(Mem.Read(0x10_0008, 8, out ulong after));
        Assert.Equal(0x1234_5678UL, after);

        // Moving the BAR moves the decode; the old address reads as nothing there.
        config.AssignBar(0, TestLayout.MemBase + 0x30_0000, false);
        Assert.True(Mem.Read(0x10_0008, 4, out ulong old));
        Assert.Equal(0xFFFF_FFFFUL, old);
        Assert.True(Mem.Read(0x30_0008, 4, out ulong moved));
        Assert.Equal(0x1234_5678UL, moved);

        config.Write16(PciFunction.CommandRegister, 0);
        Assert.True(Mem.Read(0x30_0008, 4, out ulong off));
        Assert.Equal(0xFFFF_FFFFUL, off);
    }

    [Fact]
    public void A64BitBarAboveFourGigabytesIsReachedThroughThePrefetchableWindow()
    {
        config.AssignBar(2, TestLayout.PrefBase + 0x4000, true);
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace);
        // MSI-X table entry 1's data word.
        Assert.True(bridge.MemoryWindows[1].Write(0x4000 + 16 + 8, 4, 0x77));
        Assert.True(bridge.MemoryWindows[1].Read(0x4000 + 16 + 8, 4, out ulong data));
        Assert.Equal(0x77UL, data);
    }

    [Fact]
    public void CapabilityListHoldsExpressPowerManagementMsiAndMsix()
    {
        int express = config.FindCapability(0x10);
        Assert.NotEqual(0, express);
        Assert.Equal(0x92, config.Read16(express + 2)); // version 2, Root Complex Integrated Endpoint
        Assert.NotEqual(0, config.FindCapability(0x01));
        Assert.NotEqual(0, config.FindCapability(0x05));
        int msix = config.FindCapability(0x11);
        Assert.Equal(TestFunction.MsixVectors - 1, config.Read16(msix + 2) & 0x7FF);
        Assert.Equal(2u, config.Read32(msix + 4));        // table at BAR 2 offset 0
        Assert.Equal(0x802u, config.Read32(msix + 8));    // PBA at BAR 2 offset 0x800
        Assert.Equal(0, config.FindCapability(0x09));
    }

    [Fact]
    public void MsiIsDeliveredWithTheRequesterIdAndHeldWhileMasked()
    {
        int cap = config.FindCapability(0x05);
        ushort control = config.Read16(cap + 2);
        Assert.Equal(2 << 1, control & 0xE);      // 4 vectors capable
        Assert.NotEqual(0, control & 0x80);       // 64-bit
        Assert.NotEqual(0, control & 0x100);      // per-vector masking
        config.Write32(cap + 4, (uint)RecordingMsiSink.Doorbell);
        config.Write32(cap + 8, 0);
        config.Write16(cap + 0xC, 0x40);
        config.Write32(cap + 0x10, 0b10);         // vector 1 masked
        config.Write16(cap + 2, 1 | 2 << 4);      // enable 4 vectors
        Assert.False(function.SignalMsi(0));      // bus mastering off: nothing may be written

        config.Write16(PciFunction.CommandRegister, PciFunction.CommandBusMaster);
        Assert.True(function.SignalMsi(2));
        Assert.True(function.SignalMsi(1));
        Assert.Equal([(RecordingMsiSink.Doorbell, 0x42u, 1u << 3)], msi.Messages);
        Assert.Equal(0b10u, config.Read32(cap + 0x14)); // vector 1 pending

        config.Write32(cap + 0x10, 0);
        Assert.Equal(1, msi.Count(0x41));
        Assert.Equal(0u, config.Read32(cap + 0x14));
        Assert.False(function.SignalMsi(4));      // beyond what was enabled
    }

    [Fact]
    public void MsixHonoursFunctionMaskVectorMaskAndPendingBits()
    {
        AssignAndEnable();
        ulong table = 0x20_0000, pba = table + 0x800;
        for (int v = 0; v < TestFunction.MsixVectors; v++)
        {
            Assert.True(Mem.Read(table + (ulong)v * 16 + 12, 4, out ulong vc));
            Assert.Equal(1UL, vc); // every vector starts masked
            Assert.True(Mem.Write(table + (ulong)v * 16, 8, RecordingMsiSink.Doorbell));
            Assert.True(Mem.Write(table + (ulong)v * 16 + 8, 4, 0x100 + (ulong)v));
        }
        int cap = config.FindCapability(0x11);
        Assert.False(function.SignalMsix(0)); // MSI-X off: the caller falls back to INTx
        config.Write16(cap + 2, 0xC000);      // enable, function masked
        Assert.True(Mem.Write(table + 12, 4, 0));
        Assert.True(Mem.Write(table + 3 * 16 + 12, 4, 0));
        Assert.True(function.SignalMsix(0));
        Assert.True(function.SignalMsix(2));
        Assert.Empty(msi.Messages);
        Assert.True(Mem.Read(pba, 8, out ulong pending));
        Assert.Equal(0b101UL, pending);
        Assert.True(Mem.Write(pba, 8, 0));    // read-only
        Assert.True(Mem.Read(pba, 4, out pending));
        Assert.Equal(0b101UL, pending);

        config.Write16(cap + 2, 0x8000);      // function unmasked: vector 0 goes, vector 2 still has its own mask
        Assert.Equal([(RecordingMsiSink.Doorbell, 0x100u, 1u << 3)], msi.Messages);
        Assert.True(Mem.Write(table + 2 * 16 + 12, 4, 0));
        Assert.Equal(1, msi.Count(0x102));
        Assert.True(Mem.Read(pba, 8, out pending));
        Assert.Equal(0UL, pending);

        Assert.True(function.SignalMsix(3));
        Assert.Equal(1, msi.Count(0x103));
        Assert.False(Mem.Read(table + 2, 4, out _)); // misaligned table access is rejected
    }

    [Fact]
    public void IntxFollowsTheSwizzleAndInterruptDisable()
    {
        var slot2PinB = new TestFunction(pin: 2);
        bridge.Register(0, 2, 0, slot2PinB);
        function.RaiseIntx(true);
        Assert.True(intx[1].Level);               // device 1, INTA → (1 + 1 - 1) mod 4 = INTB line
        Assert.NotEqual(0, config.Read16(PciFunction.StatusRegister) & PciFunction.StatusInterrupt);
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandInterruptDisable);
        Assert.False(intx[1].Level);
        Assert.NotEqual(0, config.Read16(PciFunction.StatusRegister) & PciFunction.StatusInterrupt);
        config.Write16(PciFunction.CommandRegister, 0);
        Assert.True(intx[1].Level);
        function.RaiseIntx(false);
        Assert.False(intx[1].Level);

        slot2PinB.RaiseIntx(true);
        Assert.True(intx[3].Level);               // device 2, INTB → line 3
        var map = bridge.Layout.InterruptMap(gicPhandle: 1, gicAddressCells: 2);
        // Rows are 10 cells: child (3), pin, phandle, parent address (2), SPI specifier (3). Row for device 2, pin 2:
        int row = (2 * 4 + 1) * 10;
        Assert.Equal([2u << 11, 0, 0, 2, 1, 0, 0, 0, 38 - 32, 4], map[row..(row + 10)]);
    }

    [Fact]
    public void DeviceTreeDataDescribesTheWindows()
    {
        var layout = bridge.Layout;
        Assert.Equal([0u, 0x1000_0000, 0, 0x1000_0000], layout.Reg());
        Assert.Equal([0u, 255], layout.BusRange());
        Assert.Equal([0x0200_0000u, 0, 0x2300_0000, 0, 0x2300_0000, 0, 0x1000_0000,
                      0x4300_0000u, 1, 0, 1, 0, 1, 0], layout.Ranges());
        Assert.Equal([0u, 7, 0, 0x10000], layout.MsiMap(itsPhandle: 7));
        Assert.Equal([0x1800u, 0, 0, 7], layout.InterruptMapMask());
        Assert.Equal(16 * 10, layout.InterruptMap(1, 2).Length);
    }

    [Fact]
    public void FunctionZeroReportsMultiFunctionWhenItHasSiblings()
    {
        bridge.Register(0, 1, 3, new TestFunction());
        Assert.Equal(0x80, config.Read8(PciFunction.HeaderTypeRegister));
        Assert.Equal(0x5678_1234u, new ConfigPort(bridge, 0, 1, 3).Read32(0));
        Assert.NotNull(bridge.Unregister(0, 1, 3));
        Assert.Equal(0, config.Read8(PciFunction.HeaderTypeRegister));
        Assert.Throws<InvalidOperationException>(() => bridge.Register(0, 1, 0, new TestFunction()));
    }

    [Fact]
    public void D3HotStopsDecodingAndD0RestoresIt()
    {
        AssignAndEnable();
        int pm = config.FindCapability(0x01);
        Assert.Equal(3, config.Read16(pm + 2) & 7);           // PM 1.2
        Assert.NotEqual(0, config.Read16(pm + 4) & 8);        // No_Soft_Reset
        Assert.True(Mem.Write(0x10_0000, 4, 5));
        config.Write16(pm + 4, 3);
        Assert.True(Mem.Read(0x10_0000, 4, out ulong asleep));
        Assert.Equal(0xFFFF_FFFFUL, asleep);
        config.Write16(pm + 4, 1);                            // D1 is not supported: ignored
        Assert.Equal(3, config.Read16(pm + 4) & 3);
        config.Write16(pm + 4, 0);
        Assert.True(Mem.Read(0x10_0000, 4, out ulong awake));
        Assert.Equal(5UL, awake);
    }

    [Fact]
    public void UnregisteredFunctionLosesItsLinesAndWindow()
    {
        AssignAndEnable();
        function.RaiseIntx(true);
        Assert.True(intx[1].Level);
        Assert.Same(function, bridge.Unregister(0, 1, 0));
        Assert.False(intx[1].Level);
        Assert.Equal(0xFFFF_FFFFu, config.Read32(0));
        Assert.True(Mem.Read(0x10_0000, 4, out ulong gone));
        Assert.Equal(0xFFFF_FFFFUL, gone);
    }

    [Fact]
    public void AFunctionMovesBetweenBridgesOnlyAfterLeavingTheFirst()
    {
        var otherMsi = new RecordingMsiSink();
        var other = new PciHostBridge(TestLayout.Create(), otherMsi);
        Assert.Throws<InvalidOperationException>(() => other.Register(0, 4, 0, function));
        Assert.Same(function, bridge.Unregister(0, 1, 0));
        other.Register(0, 4, 0, function);
        var there = new ConfigPort(other, 0, 4, 0);
        Assert.Equal(0x5678_1234u, there.Read32(0));
        int cap = there.FindCapability(0x05);
        there.Write32(cap + 4, (uint)RecordingMsiSink.Doorbell);
        there.Write16(cap + 0xC, 0x33);
        there.Write16(cap + 2, 1);
        there.Write16(PciFunction.CommandRegister, PciFunction.CommandBusMaster);
        Assert.True(function.SignalMsi(0));
        Assert.Empty(msi.Messages);
        Assert.Equal([(RecordingMsiSink.Doorbell, 0x33u, 4u << 3)], otherMsi.Messages);
    }

    /// <summary>A guest writing anything anywhere in configuration space and the windows: no exception, identity intact.</summary>
    [Fact]
    public void RandomConfigurationAndWindowAccessesNeverThrow()
    {
        var random = new Random(99);
        int[] sizes = [1, 2, 4, 8];
        for (int i = 0; i < 100_000; i++)
        {
            int size = sizes[random.Next(4)];
            // Mostly our function's 4 KiB, sometimes anywhere in the ECAM window.
            ulong offset = random.Next(4) == 0 ? (ulong)random.NextInt64((long)bridge.WindowSize - 8) : (1UL << 15) + (ulong)random.Next(4096 - 8);
            offset &= ~(ulong)(size - 1);
            ulong value = (ulong)random.NextInt64() ^ (ulong)random.Next() << 40;
            if (random.Next(2) == 0) bridge.Write(offset, size, value);
            else bridge.Read(offset, size, out _);
            ulong mem = (ulong)random.Next((int)(TestLayout.MemSize - 8)) & ~(ulong)(size - 1);
            if (random.Next(2) == 0) Mem.Write(mem, size, value);
            else Mem.Read(mem, size, out _);
        }
        Assert.Equal(0x5678_1234u, config.Read32(0));
        Assert.Equal(0x0C03_3002u, config.Read32(8));
    }

    [Fact]
    public void FunctionResetForgetsWhatTheGuestProgrammed()
    {
        AssignAndEnable();
        int msi = config.FindCapability(0x05), msix = config.FindCapability(0x11), pm = config.FindCapability(0x01);
        config.Write32(msi + 4, (uint)RecordingMsiSink.Doorbell);
        config.Write16(msi + 2, 1);
        config.Write16(msix + 2, 0x8000);
        Assert.True(Mem.Write(0x20_0000 + 12, 4, 0));            // vector 0 unmasked
        config.Write8(PciFunction.InterruptLineRegister, 40);
        function.RaiseIntx(true);
        Assert.True(intx[1].Level);

        function.Reset();

        Assert.False(intx[1].Level);
        Assert.Equal(0, config.Read16(PciFunction.CommandRegister));
        Assert.Equal(0u, config.Read32(0x10));                     // address gone, 32-bit memory type
        Assert.Equal(4u, config.Read32(0x18));                     // address gone, 64-bit type stays
        Assert.Equal(0, config.Read8(PciFunction.InterruptLineRegister));
        Assert.Equal(0, config.Read16(msi + 2) & 1);
        Assert.Equal(0u, config.Read32(msi + 4));
        Assert.Equal(TestFunction.MsixVectors - 1, config.Read16(msix + 2));
        Assert.Equal(0, config.Read16(pm + 4) & 3);
        Assert.Equal(0x5678_1234u, config.Read32(0));
        Assert.NotEqual(0, config.FindCapability(0x10));           // the list is intact
        config.AssignBar(2, TestLayout.MemBase + 0x20_0000, true);
        config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace);
        Assert.True(Mem.Read(0x20_0000 + 12, 4, out ulong vectorControl));
        Assert.Equal(1UL, vectorControl);                          // masked again
    }
}
