using System.Buffers.Binary;
using Jit.Devices.Pci;
using Jit.Devices.Smmu;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Pci;
using Jit.Hypervisor.Platform;
using Jit.Hypervisor.Toolstack;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// An assigned device's DMA aimed outside its owner's RAM, in one process: the owner's SMMU (programmed here as
/// its driver would, a linear stream table with a bypass STE and an event queue) passes the address on, the
/// hypervisor's stage 2 refuses it before any byte moves, and the owner finds a stage 2 record with the IPA in
/// its event queue; a second domain's RAM, filled with a pattern, is untouched.
/// </summary>
public sealed class AssignedDmaIsolationTests : IDisposable
{
    private const ushort StreamId = 0x0008;                            // 00:01.0 on the owner's bridge
    private const ulong StreamTable = 0x4300_0000, EventQueue = 0x4301_0000, EventQueueLog2 = 6;
    private const ulong PatternBase = 0x4200_0000, PatternSize = 1 << 20;
    private const ulong RamEnd = GuestMemoryMap.Ram0Base + (64UL << 20);

    private readonly string folder = Directory.CreateTempSubdirectory("jit-dma-").FullName;
    private readonly Host host;

    public AssignedDmaIsolationTests()
    {
        host = new Host(Path.Combine(folder, "console"));
        Directory.CreateDirectory(host.ConsoleFolder);
        string path = Path.Combine(folder, "a.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        host.PciDevices.Add(new LinuxDisk(path, ReadOnly: false, Interface: DiskInterface.Virtio));
    }

    public void Dispose()
    {
        host.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private static DomainConfig Config(string name) => new()
    {
        Source = "test", Name = name, Kernel = TestProcess.Guest("isolation", "sys-isolation-probe.elf"),
        MemoryMiB = 64, MaxMemoryMiB = 64, Vcpus = 1,
    };

    private static byte PatternAt(ulong offset) => (byte)(offset * 131 + (offset >> 12));

    [Fact]
    public void HostileDmaIsRefusedWithAStage2RecordAndTheNeighbourIsUntouched()
    {
        var owner = host.Create(Config("owner"));
        var neighbour = host.Create(Config("neighbour"));
        var pattern = new byte[PatternSize];
        for (ulong i = 0; i < PatternSize; i++) pattern[i] = PatternAt(i);
        Assert.Equal(GuestMemoryStatus.Ok, neighbour.Domain.GuestMemory.Write(PatternBase, pattern));

        var device = host.PciDevices.Find(new PciAddress(0, 1, 0, 0))!;
        Assert.Null(host.PciDevices.Assign(owner, device.Address, slot: 1));
        var machine = (LinuxMachine)owner.Machine;
        Assert.True(machine.Pci.Write(1UL << 15 | PciFunction.CommandRegister, 2, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster));
        var smmu = machine.Smmu!;
        EnableWithBypassSte(owner, smmu);

        // Every device window, the owner's SMMU itself, the hole below RAM, beyond RAM, beyond the IPA size.
        ulong[] targets =
        [
            Pl011Placement.XenBase, GicV3Placement.XenDistributorBase, GicV3Placement.DefaultItsBase, machine.Pci.Layout.EcamBase,
            smmu.BaseAddress, GuestMemoryMap.Ram0Base - 0x1000, RamEnd, RamEnd + 0x1234, 0x8_0000_0000, P2m.IpaLimit,
        ];
        foreach (ulong ipa in targets)
        {
            Assert.NotEqual(GuestMemoryStatus.Ok, device.Dma.Write(ipa, "hostile!"u8));
            Assert.NotEqual(GuestMemoryStatus.Ok, device.Dma.Read(ipa, new byte[8]));
        }
        // A write that starts in the owner's RAM and runs past its end touches nothing.
        var tail = Read(owner, RamEnd - 0x100, 0x100);
        Assert.Equal(GuestMemoryStatus.NotMapped, device.Dma.Write(RamEnd - 0x100, new byte[0x200]));
        Assert.Equal(tail, Read(owner, RamEnd - 0x100, 0x100));

        var records = DrainEvents(owner, smmu);
        Assert.Equal(2 * targets.Length + 1, records.Count);
        for (int i = 0; i < targets.Length; i++)
        {
            AssertStage2(records[2 * i], targets[i], read: false);
            AssertStage2(records[2 * i + 1], targets[i], read: true);
        }
        AssertStage2(records[^1], RamEnd, read: false);

        // A DMA into its own RAM still works; the neighbour's pattern is whole.
        Assert.Equal(GuestMemoryStatus.Ok, device.Dma.Write(PatternBase, "mine"u8));
        Assert.Equal("mine"u8.ToArray(), Read(owner, PatternBase, 4));
        Assert.Equal(pattern, Read(neighbour, PatternBase, (int)PatternSize));
        host.Destroy(owner);
        host.Destroy(neighbour);
    }

    private static void AssertStage2(SmmuRecord r, ulong ipa, bool read)
    {
        Assert.Equal(ipa >= P2m.IpaLimit ? (byte)SmmuEventType.FAddrSize : (byte)SmmuEventType.FTranslation, r.Type);
        Assert.Equal(StreamId, r.StreamId);
        Assert.True(r.Stage2);
        Assert.Equal(read, r.Read);
        Assert.Equal(ipa, r.InputAddress);
        Assert.Equal(ipa & ~0xFFFUL, r.Ipa);
    }

    /// <summary>A linear stream table of 32 STEs, stream 8 valid in bypass, an event queue of 64 records, then SMMUEN and EVENTQEN.</summary>
    private static void EnableWithBypassSte(HostedDomain d, SmmuV3 smmu)
    {
        var memory = d.Domain.GuestMemory;
        Assert.Equal(GuestMemoryStatus.Ok, memory.Write(StreamTable, new byte[32 * 64]));
        Assert.Equal(GuestMemoryStatus.Ok, memory.WriteUInt64(StreamTable + StreamId * 64UL, 1UL | 0b100UL << 1)); // V, Config = bypass
        Assert.True(smmu.Write(0x80, 8, StreamTable));                      // SMMU_STRTAB_BASE
        Assert.True(smmu.Write(0x88, 4, 5));                                // SMMU_STRTAB_BASE_CFG: linear, LOG2SIZE 5
        Assert.True(smmu.Write(0xA0, 8, EventQueue | EventQueueLog2));       // SMMU_EVENTQ_BASE
        Assert.True(smmu.Write(0x100A8, 4, 0));
        Assert.True(smmu.Write(0x100AC, 4, 0));
        Assert.True(smmu.Write(0x20, 4, 1 | 4));                            // SMMU_CR0: SMMUEN, EVENTQEN
        Assert.True(smmu.Read(0x24, 4, out ulong ack));
        Assert.Equal(5UL, ack);
    }

    private readonly record struct SmmuRecord(ulong D0, ulong D1, ulong D2, ulong D3)
    {
        public byte Type => (byte)D0;
        public uint StreamId => (uint)(D0 >> 32);
        public bool Read => (D1 & 1UL << 35) != 0;
        public bool Stage2 => (D1 & 1UL << 39) != 0;
        public ulong InputAddress => D2;
        public ulong Ipa => D3 & 0x000F_FFFF_FFFF_F000UL;
    }

    private static List<SmmuRecord> DrainEvents(HostedDomain d, SmmuV3 smmu)
    {
        Assert.True(smmu.Read(0x100A8, 4, out ulong prod));
        Assert.Equal(0UL, prod & 0x8000_0000);                             // no overflow
        var records = new List<SmmuRecord>();
        uint mask = (1u << (int)EventQueueLog2) - 1;
        for (uint c = 0; c != ((uint)prod & ((2u << (int)EventQueueLog2) - 1)); c++)
        {
            var b = Read(d, EventQueue + (c & mask) * 32UL, 32);
            records.Add(new SmmuRecord(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)),
                BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(16)), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24))));
        }
        return records;
    }

    private static byte[] Read(HostedDomain d, ulong ipa, int length)
    {
        var bytes = new byte[length];
        Assert.Equal(GuestMemoryStatus.Ok, d.Domain.GuestMemory.Read(ipa, bytes));
        return bytes;
    }
}
