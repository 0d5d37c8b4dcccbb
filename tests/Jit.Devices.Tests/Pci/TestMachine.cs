using Jit.Devices.Pci;

namespace Jit.Devices.Tests.Pci;

/// <summary>The guest layout of ARCHITECTURE.md: ECAM at 0x1000_0000, MEM at 0x2300_0000, prefetchable above 4 GiB, INTx on SPIs 35 to 38.</summary>
public static class TestLayout
{
    public const ulong MemBase = 0x2300_0000, MemSize = 0x1000_0000, PrefBase = 0x1_0000_0000, PrefSize = 0x1_0000_0000;

    public static PciHostBridgeLayout Create() => new(
        EcamBase: 0x1000_0000, FirstBus: 0, LastBus: 255,
        Windows: [new PciWindow(MemBase, MemBase, MemSize, Prefetchable: false, Is64Bit: false),
                  new PciWindow(PrefBase, PrefBase, PrefSize, Prefetchable: true, Is64Bit: true)],
        IntxSpis: [35, 36, 37, 38]);
}

/// <summary>
/// A function with every piece the bridge models: a 32-bit BAR of scratch registers, a 64-bit BAR holding the
/// MSI-X table and PBA, and the PCIe, power management, MSI and MSI-X capabilities.
/// </summary>
public sealed class TestFunction : PciFunction
{
    public const int MsixVectors = 4;
    public readonly ScratchRegisters Scratch = new();
    public readonly MsiCapability Msi;
    public readonly MsixCapability Msix;
    public readonly PowerManagementCapability PowerManagement;

    public TestFunction(byte pin = 1) : base(new PciIdentity(0x1234, 0x5678, 0x0C0330, 2, 0x1AF4, 0x1100), pin)
    {
        DefineBar(0, PciBarKind.Memory32, 0x1000, Scratch);
        AddCapability(new PciExpressCapability());
        PowerManagement = AddCapability(new PowerManagementCapability());
        Msi = AddCapability(new MsiCapability(vectors: 4));
        Msix = AddCapability(new MsixCapability(MsixVectors, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x800));
        DefineBar(2, PciBarKind.Memory64, 0x4000, new PciBarWindow("test-msix", 0x4000).Add(0, Msix.Table).Add(0x800, Msix.PendingBitArray));
    }

    public override string Name => "test";

    public void RaiseIntx(bool level) => SetInterruptLevel(level);

    public bool SignalMsi(int vector) { lock (Gate) return Msi.Signal(vector); }
    public bool SignalMsix(int vector) { lock (Gate) return Msix.Signal(vector); }
}

public sealed class ScratchRegisters : IMmioDevice
{
    public readonly ulong[] Words = new ulong[512];
    public string Name => "scratch";
    public ulong WindowSize => 0x1000;
    public bool Read(ulong offset, int size, out ulong value)
    {
        value = Words[offset / 8] >> (int)(8 * (offset % 8));
        if (size < 8) value &= (1UL << (8 * size)) - 1;
        return true;
    }
    public bool Write(ulong offset, int size, ulong value)
    {
        if (size == 8) Words[offset / 8] = value;
        else
        {
            int shift = (int)(8 * (offset % 8));
            ulong mask = ((1UL << (8 * size)) - 1) << shift;
            Words[offset / 8] = (Words[offset / 8] & ~mask) | (value << shift & mask);
        }
        return true;
    }
}
