using Jit.Devices;
using Jit.Devices.Pci;
using Jit.Runtime.Interrupts;

namespace Jit.Devices.Tests;

/// <summary>An ITS doorbell that records every message.</summary>
public sealed class RecordingMsiSink : IMsiSink
{
    public const ulong Doorbell = 0x0804_0040;
    // Room for every test's messages up front: the allocation tests count what the device allocates, not this list.
    public readonly List<(ulong Address, uint Data, uint DeviceId)> Messages = new(4096);

    public bool Deliver(ulong address, uint data, uint deviceId)
    {
        if (address != Doorbell) return false;
        lock (Messages) Messages.Add((address, data, deviceId));
        return true;
    }

    public int Count(uint data) { lock (Messages) return Messages.Count(m => m.Data == data); }
}

public sealed class RecordingLine : IInterruptLine
{
    public bool Level;
    public int Raised;
    public void SetLevel(bool asserted)
    {
        if (asserted && !Level) Raised++;
        Level = asserted;
    }
}

/// <summary>The guest's view of one BDF through the bridge's ECAM window.</summary>
public readonly struct ConfigPort(PciHostBridge bridge, int bus, int device, int function)
{
    private ulong At(int register) => (ulong)(bus - bridge.Layout.FirstBus) << 20 | (ulong)device << 15 | (ulong)function << 12 | (uint)register;

    public uint Read32(int register) { Assert.True(bridge.Read(At(register), 4, out ulong v)); return (uint)v; }
    public ushort Read16(int register) { Assert.True(bridge.Read(At(register), 2, out ulong v)); return (ushort)v; }
    public byte Read8(int register) { Assert.True(bridge.Read(At(register), 1, out ulong v)); return (byte)v; }
    public void Write32(int register, uint value) => Assert.True(bridge.Write(At(register), 4, value));
    public void Write16(int register, ushort value) => Assert.True(bridge.Write(At(register), 2, value));
    public void Write8(int register, byte value) => Assert.True(bridge.Write(At(register), 1, value));

    /// <summary>Walks the capability list as Linux's pci_find_capability does; 0 when absent.</summary>
    public int FindCapability(byte id)
    {
        if ((Read16(PciFunction.StatusRegister) & PciFunction.StatusCapabilitiesList) == 0) return 0;
        int at = Read8(PciFunction.CapabilitiesPointerRegister) & 0xFC;
        for (int ttl = 48; at >= 0x40 && ttl > 0; ttl--)
        {
            if (Read8(at) == id) return at;
            at = Read8(at + 1) & 0xFC;
        }
        return 0;
    }

    /// <summary>Sizes a BAR as Linux does (decoding off, all-ones, read back, restore); returns its size and whether it is 64-bit.</summary>
    public (ulong Size, bool Is64) SizeBar(int index)
    {
        int reg = PciFunction.BarRegister0 + 4 * index;
        ushort command = Read16(PciFunction.CommandRegister);
        Write16(PciFunction.CommandRegister, (ushort)(command & ~PciFunction.CommandMemorySpace));
        uint original = Read32(reg);
        bool is64 = (original & 6) == 4;
        Write32(reg, 0xFFFF_FFFF);
        ulong mask = Read32(reg) & 0xFFFF_FFF0u;
        Write32(reg, original);
        if (is64)
        {
            uint originalHigh = Read32(reg + 4);
            Write32(reg + 4, 0xFFFF_FFFF);
            mask |= (ulong)Read32(reg + 4) << 32;
            Write32(reg + 4, originalHigh);
        }
        else mask |= 0xFFFF_FFFF_0000_0000;
        Write16(PciFunction.CommandRegister, command);
        return (mask == 0 ? 0 : ~mask + 1, is64);
    }

    public void AssignBar(int index, ulong address, bool is64)
    {
        int reg = PciFunction.BarRegister0 + 4 * index;
        Write32(reg, (uint)address);
        if (is64) Write32(reg + 4, (uint)(address >> 32));
    }
}
