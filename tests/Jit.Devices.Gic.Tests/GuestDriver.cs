using Jit.Devices.Gic;
using Jit.Devices.Gic.Its;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Memory;
using Jit.Runtime.SystemRegisters;

namespace Jit.Devices.Gic.Tests;

/// <summary>
/// A GICv3 with an ITS in a small domain, programmed the way Linux's irq-gic-v3 and irq-gic-v3-its drivers do
/// it: LPI configuration and pending tables in RAM, the device and collection tables and the command queue
/// through GITS_BASER/GITS_CBASER, commands written to the queue and published with GITS_CWRITER.
/// </summary>
internal sealed class GuestDriver : IDisposable
{
    public sealed class Output : IInterruptLine
    {
        public volatile bool Level;
        public void SetLevel(bool asserted) => Level = asserted;
    }

    public const ulong RamBase = 0x4000_0000, RamSize = 0x100_0000;
    public const ulong ItsBase = 0x0808_0000;
    public const ulong PropTable = RamBase + 0x10_0000, PendTables = RamBase + 0x20_0000; // 64 KiB per CPU
    public const ulong DeviceTable = RamBase + 0x40_0000, CollectionTable = RamBase + 0x50_0000;
    public const ulong CommandQueue = RamBase + 0x60_0000, Itts = RamBase + 0x70_0000;
    public const ulong QueueBytes = 0x10000;
    public const byte DefaultPriority = 0xA0;
    private const byte Group1 = 2, Enable = 1;

    // GITS_* and GICR_* offsets, as the driver names them.
    public const ulong GitsCtlr = 0x0, GitsTyper = 0x8, GitsCbaser = 0x80, GitsCwriter = 0x88, GitsCreadr = 0x90, GitsBaser = 0x100;
    public const ulong GicrCtlr = 0x0, GicrTyper = 0x8, GicrPropbaser = 0x70, GicrPendbaser = 0x78, GicrInvlpir = 0xA0;

    private static int Icc(int crm, int op2, int crn = 12) => SystemRegisterFile.Key(3, 0, crn, crm, op2);
    public static readonly int Pmr = Icc(6, 0, 4), Iar1 = Icc(12, 0), Eoir1 = Icc(12, 1), Rpr = Icc(11, 3), Igrpen1 = Icc(12, 7);

    private readonly PhysicalMemory ram = new();
    public readonly GuestMemory Memory;
    public readonly GicV3 Gic;
    public readonly GicIts Its;
    public readonly Output[] Outputs;
    private ulong cwriter;

    public GuestDriver(int cpus = 2, bool enableLpis = true, bool indirectDevices = false)
    {
        ram.AddRam(RamBase, RamSize);
        Memory = new GuestMemory(ram);
        Gic = new GicV3(cpus, Memory);
        Outputs = new Output[cpus];
        for (int i = 0; i < cpus; i++)
        {
            Outputs[i] = new Output();
            Gic.ConnectCpu(i, Outputs[i]);
            Assert.True(Gic.Redistributors.Write(Rd(i) + 0x14, 4, 0)); // GICR_WAKER: awake
            Assert.True(Cpu(i).Write(Pmr, 0xF0));
            Assert.True(Cpu(i).Write(Igrpen1, 1));
        }
        Assert.True(Gic.Distributor.Write(0x0, 4, 0x12)); // EnableGrp1 | ARE
        // Every LPI starts disabled at the default priority, as its_setup_lpi_prop_table leaves them.
        Memory.Write(PropTable, Enumerable.Repeat((byte)(DefaultPriority | Group1), 0x10000 - 8192).ToArray());
        if (enableLpis)
            for (int i = 0; i < cpus; i++) EnableLpis(i);

        Its = new GicIts(Gic, Memory, ItsBase);
        SetUpIts(indirectDevices);
    }

    /// <summary>A driver past probe with a collection per CPU and one device mapped as <see cref="MapDevice"/> maps it.</summary>
    public static GuestDriver WithDevice(uint device, int eventBits, int events, int firstLpi, ushort icid)
    {
        var g = new GuestDriver();
        g.MapCollectionPerCpu();
        g.MapDevice(device, eventBits, events, firstLpi, icid);
        return g;
    }

    public static ulong Rd(int cpu) => (ulong)cpu * Redistributors.FrameSize;
    public IGicCpuInterface Cpu(int i) => Gic.CpuInterface(i);

    /// <summary>its_cpu_init_lpis: PROPBASER (IDbits = 15: 16-bit INTIDs), PENDBASER with PTZ, EnableLPIs.</summary>
    public void EnableLpis(int cpu, bool pendingTableIsZero = true)
    {
        const ulong innerShareable = 1UL << 10, rawawb = 7UL << 7;
        Assert.True(Gic.Redistributors.Write(Rd(cpu) + GicrPropbaser, 8, PropTable | innerShareable | rawawb | 15));
        ulong pend = PendTables + (ulong)cpu * 0x10000;
        Assert.True(Gic.Redistributors.Write(Rd(cpu) + GicrPendbaser, 8, pend | innerShareable | rawawb | (pendingTableIsZero ? 1UL << 62 : 0)));
        Assert.True(Gic.Redistributors.Write(Rd(cpu) + GicrCtlr, 4, 1));
    }

    private void SetUpIts(bool indirectDevices)
    {
        const ulong valid = 1UL << 63, indirect = 1UL << 62, pages64K = 2UL << 8, innerShareable = 1UL << 10;
        if (indirectDevices)
        {
            // Two levels: one 64 KiB level-1 page; level-2 pages are allocated per device as Linux does.
            ItsWrite(GitsBaser, valid | indirect | DeviceTable | pages64K | innerShareable | 0);
        }
        else
            ItsWrite(GitsBaser, valid | DeviceTable | pages64K | innerShareable | 7); // 8 × 64 KiB: 65,536 devices
        ItsWrite(GitsBaser + 8, valid | CollectionTable | pages64K | innerShareable | 0);
        ItsWrite(GitsCbaser, valid | CommandQueue | innerShareable | (QueueBytes / 0x1000 - 1));
        ItsWrite(GitsCwriter, 0);
        ItsWrite(GitsCtlr, 1, size: 4);
    }

    public void ItsWrite(ulong offset, ulong value, int size = 8) => Assert.True(Its.Write(offset, size, value));

    public ulong ItsRead(ulong offset, int size = 8)
    {
        Assert.True(Its.Read(offset, size, out ulong value));
        return value;
    }

    public ulong Read64(ulong ipa)
    {
        Assert.Equal(GuestMemoryStatus.Ok, Memory.ReadUInt64(ipa, out ulong value));
        return value;
    }

    /// <summary>Writes one command at GITS_CWRITER and publishes it, as its_send_single_command does.</summary>
    public void Send(ulong dw0, ulong dw1 = 0, ulong dw2 = 0, ulong dw3 = 0)
    {
        ulong at = CommandQueue + cwriter;
        Memory.WriteUInt64(at, dw0);
        Memory.WriteUInt64(at + 8, dw1);
        Memory.WriteUInt64(at + 16, dw2);
        Memory.WriteUInt64(at + 24, dw3);
        cwriter = (cwriter + 32) % QueueBytes;
        ItsWrite(GitsCwriter, cwriter);
    }

    public void Mapd(uint device, int eventBits, ulong itt, bool valid = true) =>
        Send(0x08 | (ulong)device << 32, (ulong)(eventBits - 1), (valid ? 1UL << 63 : 0) | itt);

    public void Mapc(ushort icid, int cpu, bool valid = true) => Send(0x09, 0, (valid ? 1UL << 63 : 0) | (ulong)cpu << 16 | icid);
    public void Mapti(uint device, uint eventId, uint intid, ushort icid) => Send(0x0A | (ulong)device << 32, eventId | (ulong)intid << 32, icid);
    public void Mapi(uint device, uint eventId, ushort icid) => Send(0x0B | (ulong)device << 32, eventId, icid);
    public void Movi(uint device, uint eventId, ushort icid) => Send(0x01 | (ulong)device << 32, eventId, icid);
    public void Int(uint device, uint eventId) => Send(0x03 | (ulong)device << 32, eventId);
    public void Clear(uint device, uint eventId) => Send(0x04 | (ulong)device << 32, eventId);
    public void Discard(uint device, uint eventId) => Send(0x0F | (ulong)device << 32, eventId);
    public void Inv(uint device, uint eventId) => Send(0x0C | (ulong)device << 32, eventId);
    public void Invall(ushort icid) => Send(0x0D, 0, icid);
    public void Movall(int from, int to) => Send(0x0E, 0, (ulong)from << 16, (ulong)to << 16);
    public void Sync(int cpu) => Send(0x05, 0, (ulong)cpu << 16);

    /// <summary>What Linux does once per CPU: a collection per CPU (ICID = CPU number), mapped and synced.</summary>
    public void MapCollectionPerCpu()
    {
        for (int i = 0; i < Outputs.Length; i++)
        {
            Mapc((ushort)i, i);
            Sync(i);
        }
    }

    /// <summary>lpi_update_config: set or clear the enable bit in the configuration table, then INV.</summary>
    public void ConfigureLpi(uint device, uint eventId, int intid, bool enable, byte priority = DefaultPriority)
    {
        Memory.Write(PropTable + (ulong)(intid - 8192), [(byte)(priority | Group1 | (enable ? Enable : 0))]);
        Inv(device, eventId);
    }

    /// <summary>A device with <paramref name="events"/> MSIs starting at <paramref name="firstLpi"/>, all enabled, on collection <paramref name="icid"/>.</summary>
    public ulong MapDevice(uint device, int eventBits, int events, int firstLpi, ushort icid)
    {
        ulong itt = Itts + (ulong)device * 0x1000 % 0x10_0000;
        Mapd(device, eventBits, itt);
        for (uint e = 0; e < events; e++)
        {
            Mapti(device, e, (uint)firstLpi + e, icid);
            ConfigureLpi(device, e, firstLpi + (int)e, enable: true);
        }
        Sync(0);
        return itt;
    }

    /// <summary>Maps a fresh device as Linux would and takes its MSI at <paramref name="cpu"/>: the ITS still works.</summary>
    public void AssertAnMsiGoesThrough(uint device, int lpi, int cpu)
    {
        MapCollectionPerCpu();
        MapDevice(device, eventBits: 1, events: 1, lpi, (ushort)cpu);
        Msi(device, 0);
        Assert.Equal(lpi, Acknowledge(cpu));
    }

    public int Acknowledge(int cpu)
    {
        Assert.True(Cpu(cpu).Read(Iar1, out ulong intid));
        return (int)intid;
    }

    public void EndOfInterrupt(int cpu, int intid) => Assert.True(Cpu(cpu).Write(Eoir1, (ulong)intid));

    public bool Msi(uint device, uint eventId) => Its.Deliver(ItsBase + GicIts.TranslaterOffset, eventId, device);

    public void Dispose() => ram.Dispose();
}
