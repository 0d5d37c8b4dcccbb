using System.Buffers.Binary;
using Jit.Devices.Pci;
using Jit.Devices.Tests.Pci;
using Jit.Devices.Virtio;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Virtio;

/// <summary>16 MiB of guest RAM at 0x4000_0000 with a bump allocator, reached as devices reach it.</summary>
public sealed class GuestRam : IDisposable
{
    public const ulong Base = 0x4000_0000, Size = 16 << 20;
    public readonly PhysicalMemory Physical = new();
    public readonly GuestMemory Memory;
    private ulong next = Base;

    public GuestRam()
    {
        Physical.AddRam(Base, Size);
        Memory = new GuestMemory(Physical);
    }

    public ulong Alloc(ulong size, ulong align = 4096)
    {
        next = (next + align - 1) & ~(align - 1);
        ulong at = next;
        next += size;
        Assert.True(next <= Base + Size);
        return at;
    }

    public void Write(ulong at, ReadOnlySpan<byte> data) => Assert.Equal(GuestMemoryStatus.Ok, Memory.Write(at, data));
    public byte[] Read(ulong at, int length)
    {
        var b = new byte[length];
        Assert.Equal(GuestMemoryStatus.Ok, Memory.Read(at, b));
        return b;
    }
    public void W16(ulong at, ushort v) => Assert.Equal(GuestMemoryStatus.Ok, Memory.WriteUInt16(at, v));
    public void W32(ulong at, uint v) => Assert.Equal(GuestMemoryStatus.Ok, Memory.WriteUInt32(at, v));
    public void W64(ulong at, ulong v) => Assert.Equal(GuestMemoryStatus.Ok, Memory.WriteUInt64(at, v));
    public ushort R16(ulong at) { Assert.Equal(GuestMemoryStatus.Ok, Memory.ReadUInt16(at, out ushort v)); return v; }
    public uint R32(ulong at) { Assert.Equal(GuestMemoryStatus.Ok, Memory.ReadUInt32(at, out uint v)); return v; }

    /// <summary>A digest of all of RAM, to show that something touched nothing.</summary>
    public byte[] Snapshot() => Read(Base, (int)Size);

    public void Dispose() => Physical.Dispose();
}

public readonly record struct Buffer(ulong Address, uint Length, bool Writable);

/// <summary>
/// One virtio-pci function on a host bridge in a small guest, and a driver that does what Linux's virtio_pci
/// does: probe configuration space, size and place the BARs, find the virtio structures, enable MSI-X,
/// negotiate, set up queues, post chains, notify, read the used ring.
/// </summary>
public sealed class VirtioTestBed : IDisposable
{
    public const ulong Bar0 = TestLayout.MemBase + 0x1_0000, Bar2 = TestLayout.MemBase + 0x2_0000;
    public const ushort NoVector = 0xFFFF;

    public readonly GuestRam Ram = new();
    public readonly RecordingMsiSink Msi = new();
    public readonly RecordingLine[] Intx = [new(), new(), new(), new()];
    public readonly PciHostBridge Bridge;
    public readonly VirtioPciFunction Function;
    public readonly ConfigPort Config;
    public ulong Common, Notify, Isr, DeviceConfig;
    public uint NotifyMultiplier;
    public int PciCfgCap;

    /// <param name="wire">The function's DMA port and the bridge's MSI sink, given the guest's RAM and doorbell (an SMMU's stream and remapper, and the function then offers VIRTIO_F_ACCESS_PLATFORM); RAM and the doorbell themselves by default.</param>
    public VirtioTestBed(Func<VirtioDevice> device, Func<VirtioTestBed, (IDmaPort Dma, IMsiSink Msi)>? wire = null)
    {
        var (dma, msi) = wire?.Invoke(this) ?? (Ram.Memory, Msi);
        Bridge = new PciHostBridge(TestLayout.Create(), msi, Intx);
        Function = new VirtioPciFunction(device(), dma, accessPlatform: wire is not null);
        Bridge.Register(0, 1, 0, Function);
        Config = new ConfigPort(Bridge, 0, 1, 0);
    }

    /// <summary>The INTx line of 00:01.0, pin A.</summary>
    public RecordingLine Line => Intx[1];

    private PciMemoryWindow Mem => Bridge.MemoryWindows[0];
    public ulong R(ulong address, int size) { Assert.True(Mem.Read(address - TestLayout.MemBase, size, out ulong v)); return v; }
    public void W(ulong address, int size, ulong value) => Assert.True(Mem.Write(address - TestLayout.MemBase, size, value));

    /// <summary>Sizes and places the BARs, turns on memory decoding and bus mastering, and finds the virtio capabilities.</summary>
    public void Probe()
    {
        Assert.Equal(VirtioPciFunction.VendorId, Config.Read16(0));
        var (size0, _) = Config.SizeBar(0);
        var (size2, wide2) = Config.SizeBar(2);
        Assert.True(size0 <= 0x1_0000 && size2 <= 0x1_0000 && wide2);
        Config.AssignBar(0, Bar0, false);
        Config.AssignBar(2, Bar2, true);
        Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        int at = Config.Read8(PciFunction.CapabilitiesPointerRegister);
        while (at != 0)
        {
            if (Config.Read8(at) == 0x09)
            {
                byte type = Config.Read8(at + 3);
                int bar = Config.Read8(at + 4);
                ulong address = (bar == 2 ? Bar2 : bar == 0 ? Bar0 : throw new InvalidOperationException()) + Config.Read32(at + 8);
                switch (type)
                {
                    case VirtioPciFunction.CommonCfg: Common = address; break;
                    case VirtioPciFunction.NotifyCfg: Notify = address; NotifyMultiplier = Config.Read32(at + 16); break;
                    case VirtioPciFunction.IsrCfg: Isr = address; break;
                    case VirtioPciFunction.DeviceCfg: DeviceConfig = address; break;
                    case VirtioPciFunction.PciCfg: PciCfgCap = at; break;
                }
            }
            at = Config.Read8(at + 1);
        }
        Assert.True(Common != 0 && Notify != 0 && Isr != 0 && PciCfgCap != 0);
    }

    /// <summary>Programs vectors 0..n-1 to the doorbell with data 0x100 + vector, unmasked, and enables MSI-X.</summary>
    public void EnableMsix()
    {
        int cap = Config.FindCapability(0x11);
        int vectors = (Config.Read16(cap + 2) & 0x7FF) + 1;
        uint tableBir = Config.Read32(cap + 4);
        ulong table = ((tableBir & 7) == 0 ? Bar0 : Bar2) + (tableBir & ~7u);
        for (int v = 0; v < vectors; v++)
        {
            ulong entry = table + 16 * (ulong)v;
            W(entry, 4, (uint)RecordingMsiSink.Doorbell);
            W(entry + 4, 4, RecordingMsiSink.Doorbell >> 32);
            W(entry + 8, 4, 0x100 + (uint)v);
            W(entry + 12, 4, 0);
        }
        Config.Write16(cap + 2, 0x8000);
    }

    public byte Status => (byte)R(Common + 0x14, 1);
    public void SetStatus(byte status) => W(Common + 0x14, 1, status);

    public ulong OfferedFeatures()
    {
        W(Common + 0x00, 4, 0);
        ulong low = R(Common + 0x04, 4);
        W(Common + 0x00, 4, 1);
        return low | R(Common + 0x04, 4) << 32;
    }

    /// <summary>Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether the device kept FEATURES_OK.</summary>
    public bool Negotiate(ulong features)
    {
        SetStatus(0);
        Assert.Equal(0, Status);
        SetStatus(VirtioDeviceStatus.Acknowledge);
        SetStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver);
        W(Common + 0x08, 4, 0);
        W(Common + 0x0C, 4, (uint)features);
        W(Common + 0x08, 4, 1);
        W(Common + 0x0C, 4, (uint)(features >> 32));
        SetStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk);
        return (Status & VirtioDeviceStatus.FeaturesOk) != 0;
    }

    /// <summary>MSI-X on, <paramref name="features"/> accepted, configuration changes on vector 0, queue i on vector i + 1, DRIVER_OK.</summary>
    public DriverQueue[] Start(ulong features, int queues)
    {
        EnableMsix();
        Assert.True(Negotiate(features));
        ConfigVector = 0;
        var started = new DriverQueue[queues];
        for (int i = 0; i < queues; i++) started[i] = SetupQueue(i, vector: (ushort)(i + 1));
        DriverOk();
        return started;
    }

    public void DriverOk() => SetStatus((byte)(Status | VirtioDeviceStatus.DriverOk));

    public ushort ConfigVector
    {
        get => (ushort)R(Common + 0x10, 2);
        set => W(Common + 0x10, 2, value);
    }

    /// <param name="reuse">A queue of the same size whose ring memory to clear and use again (as a driver does after a reset).</param>
    public DriverQueue SetupQueue(int index, ushort vector = NoVector, ushort? size = null, DriverQueue? reuse = null)
    {
        W(Common + 0x16, 2, (ulong)index);
        ushort max = (ushort)R(Common + 0x18, 2);
        Assert.NotEqual(0, max);
        ushort n = size ?? max;
        W(Common + 0x18, 2, n);
        ulong desc, avail, used;
        if (reuse != null)
        {
            (desc, avail, used) = (reuse.DescriptorTable, reuse.AvailRing, reuse.UsedRing);
            Ram.Write(avail, new byte[6 + 2 * n]);
            Ram.Write(used, new byte[6 + 8 * n]);
        }
        else (desc, avail, used) = (Ram.Alloc(16UL * n, 16), Ram.Alloc(6 + 2UL * n, 2), Ram.Alloc(6 + 8UL * n, 4));
        foreach (var (field, address) in new[] { (0x20UL, desc), (0x28UL, avail), (0x30UL, used) })
        {
            W(Common + field, 4, (uint)address);
            W(Common + field + 4, 4, address >> 32);
        }
        W(Common + 0x1A, 2, vector);
        ushort notifyOff = (ushort)R(Common + 0x1E, 2);
        W(Common + 0x1C, 2, 1);
        return new DriverQueue(this, index, n, desc, avail, used, Notify + notifyOff * (ulong)NotifyMultiplier);
    }

    public ushort QueueVector(int index)
    {
        W(Common + 0x16, 2, (ulong)index);
        return (ushort)R(Common + 0x1A, 2);
    }

    public byte ReadIsr() => (byte)R(Isr, 1);

    public void Dispose() => Ram.Dispose();
}

/// <summary>The driver's side of a split virtqueue.</summary>
public sealed class DriverQueue(VirtioTestBed bed, int index, ushort size, ulong desc, ulong avail, ulong used, ulong notifyAddress)
{
    public const ushort Next = 1, Write = 2, Indirect = 4;
    private ushort availIndex, lastUsed;
    private int nextDescriptor;

    public ushort Size => size;
    public ulong DescriptorTable => desc;
    public ulong AvailRing => avail;
    public ulong UsedRing => used;
    private GuestRam Ram => bed.Ram;

    public void WriteDescriptor(ulong table, int i, ulong address, uint length, ushort flags, ushort next)
    {
        ulong at = table + 16 * (ulong)i;
        Ram.W64(at, address);
        Ram.W32(at + 8, length);
        Ram.W16(at + 12, flags);
        Ram.W16(at + 14, next);
    }

    /// <summary>Puts <paramref name="head"/> in the available ring and publishes it.</summary>
    public void MakeAvailable(ushort head)
    {
        Ram.W16(avail + 4 + 2 * (ulong)(availIndex % size), head);
        availIndex++;
        Ram.W16(avail + 2, availIndex);
    }

    /// <summary>Sets avail->idx directly (for hostile tests).</summary>
    public void SetAvailIndex(ushort value)
    {
        availIndex = value;
        Ram.W16(avail + 2, value);
    }

    public ushort Post(params Buffer[] buffers)
    {
        ushort head = (ushort)nextDescriptor;
        for (int i = 0; i < buffers.Length; i++)
        {
            int d = (nextDescriptor + i) % size;
            bool last = i == buffers.Length - 1;
            WriteDescriptor(desc, d, buffers[i].Address, buffers[i].Length,
                (ushort)((buffers[i].Writable ? Write : 0) | (last ? 0 : Next)), (ushort)((d + 1) % size));
        }
        nextDescriptor = (nextDescriptor + buffers.Length) % size;
        MakeAvailable(head);
        return head;
    }

    /// <summary>One descriptor in the ring pointing at an indirect table that holds <paramref name="buffers"/>.</summary>
    public ushort PostIndirect(params Buffer[] buffers)
    {
        ulong table = Ram.Alloc(16 * (ulong)buffers.Length, 16);
        for (int i = 0; i < buffers.Length; i++)
            WriteDescriptor(table, i, buffers[i].Address, buffers[i].Length,
                (ushort)((buffers[i].Writable ? Write : 0) | (i == buffers.Length - 1 ? 0 : Next)), (ushort)(i + 1));
        ushort head = (ushort)nextDescriptor;
        WriteDescriptor(desc, head, table, 16 * (uint)buffers.Length, Indirect, 0);
        nextDescriptor = (nextDescriptor + 1) % size;
        MakeAvailable(head);
        return head;
    }

    public void Kick() => bed.W(notifyAddress, 2, (ulong)index);

    public ushort UsedIndex => Ram.R16(used + 2);

    public bool TryTakeUsed(out uint id, out uint length)
    {
        id = length = 0;
        if (UsedIndex == lastUsed) return false;
        ulong at = used + 4 + 8 * (ulong)(lastUsed % size);
        id = Ram.R32(at);
        length = Ram.R32(at + 4);
        lastUsed++;
        return true;
    }

    public (uint Id, uint Length) TakeUsed()
    {
        Assert.True(TryTakeUsed(out uint id, out uint length), "the device returned no buffer");
        return (id, length);
    }

    /// <summary>The avail_event the device published (EVENT_IDX).</summary>
    public ushort AvailEvent => Ram.R16(used + 4 + 8 * (ulong)size);

    /// <summary>used_event: interrupt me when the used index passes this (EVENT_IDX).</summary>
    public void SetUsedEvent(ushort value) => Ram.W16(avail + 4 + 2 * (ulong)size, value);

    public void SetNoInterrupt(bool suppress) => Ram.W16(avail, suppress ? (ushort)1 : (ushort)0);
}
