using System.Buffers.Binary;
using Jit.Devices.Smmu;
using Jit.Devices.Tests.Virtio;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>SMMUv3 register offsets and fields as a driver knows them (IHI 0070, chapter 6).</summary>
public static class SmmuRegs
{
    public const ulong Idr0 = 0x00, Idr1 = 0x04, Idr3 = 0x0C, Idr5 = 0x14, Iidr = 0x18, Aidr = 0x1C, Cr0 = 0x20, Cr0Ack = 0x24, Cr1 = 0x28,
        Cr2 = 0x2C, Gbpa = 0x44, IrqCtrl = 0x50, IrqCtrlAck = 0x54, Gerror = 0x60, Gerrorn = 0x64,
        GerrorIrqCfg0 = 0x68, GerrorIrqCfg1 = 0x70, GerrorIrqCfg2 = 0x74, StrtabBase = 0x80, StrtabBaseCfg = 0x88,
        CmdqBase = 0x90, CmdqProd = 0x98, CmdqCons = 0x9C, EventqBase = 0xA0, EventqIrqCfg0 = 0xB0, EventqIrqCfg1 = 0xB8,
        EventqIrqCfg2 = 0xBC, EventqProd = 0x100A8, EventqCons = 0x100AC;

    public const uint Cr0SmmuEn = 1, Cr0EventqEn = 4, Cr0CmdqEn = 8;
    public const uint Cr2RecInvSid = 2, Cr2Ptm = 4;
    public const uint GbpaUpdate = 1u << 31, GbpaAbort = 1 << 20;
    public const uint IrqGerror = 1, IrqEventq = 4;
    public const uint GerrorCmdq = 1, GerrorEventqAbort = 4, GerrorMsiCmdqAbort = 16;
    public const ulong QueueRa = 1UL << 62;

    // Commands (4.1).
    public const byte CfgiSte = 0x03, CfgiSteRange = 0x04, CfgiCd = 0x05, CfgiCdAll = 0x06, TlbiNhAll = 0x10, TlbiNhAsid = 0x11,
        TlbiNhVa = 0x12, TlbiNhVaa = 0x13, TlbiEl2All = 0x20, TlbiS12Vmall = 0x28, TlbiS2Ipa = 0x2A, TlbiNsnhAll = 0x30,
        PrefetchConfig = 0x01, PrefetchAddr = 0x02, Sync = 0x46;

    // Page and block descriptor bits (Arm ARM D8.3).
    public const ulong Valid = 1, Table = 3, Page = 3, Block = 1, Af = 1UL << 10, ApUnprivileged = 1UL << 6,
        ApReadOnly = 1UL << 7, NotGlobal = 1UL << 11, S2Read = 1UL << 6, S2Write = 1UL << 7;
    public const ulong S1ReadWrite = Af | ApUnprivileged | NotGlobal, S2ReadWrite = Af | S2Read | S2Write;
}

/// <summary>A decoded event record as a driver reads it from the queue.</summary>
public readonly record struct EventRecord(ulong D0, ulong D1, ulong D2, ulong D3)
{
    public byte Type => (byte)D0;
    public uint StreamId => (uint)(D0 >> 32);
    public bool SubstreamValid => (D0 & (1UL << 11)) != 0;
    public uint SubstreamId => (uint)(D0 >> 12) & 0xF_FFFF;
    public bool Read => (D1 & (1UL << 35)) != 0;
    public bool Privileged => (D1 & (1UL << 33)) != 0;
    public bool Instruction => (D1 & (1UL << 34)) != 0;
    public bool Stage2 => (D1 & (1UL << 39)) != 0;
    public int Class => (int)((D1 >> 40) & 3);
    public ulong InputAddress => D2;
    public ulong Ipa => D3 & 0x000F_FFFF_FFFF_F000UL;
    public ulong FetchAddress => D3 & 0x000F_FFFF_FFFF_FFF8UL;
}

/// <summary>
/// An SMMUv3 in a 16 MiB guest, driven the way Linux's arm-smmu-v3 driver drives it: probe the ID registers,
/// reset, program the stream table, command queue and event queue, enable with CR0/CR0ACK handshakes, issue
/// commands with a CMD_SYNC whose MSI writes the sync command's own slot, and read event records.
/// </summary>
public sealed class SmmuTestBed : IDisposable
{
    public const ulong MmioBase = 0x0900_0000;
    public const uint SmmuDeviceId = 0x1_0000;

    public readonly GuestRam Ram;
    public readonly RecordingMsiSink Its;
    private readonly bool ownsRam;
    public readonly RecordingLine EventLine = new(), GerrorLine = new(), SyncLine = new();
    public readonly SmmuV3 Smmu;
    public readonly List<SmmuEvent> Observed = [];
    public ulong StreamTable, CommandQueueBase, EventQueueBase;
    public int CommandQueueLog2, EventQueueLog2, Split;
    public bool TwoLevel;
    private uint commandProducer, eventConsumer;
    private readonly Dictionary<uint, ulong> level2 = [];

    /// <param name="ram">Another bed's guest, to put the SMMU in front of its devices; a new one by default.</param>
    public SmmuTestBed(bool abortWhenDisabled = false, GuestRam? ram = null, RecordingMsiSink? its = null)
    {
        ownsRam = ram == null;
        Ram = ram ?? new GuestRam();
        Its = its ?? new RecordingMsiSink();
        Smmu = new SmmuV3(Ram.Memory, MmioBase, Its, SmmuDeviceId, abortWhenDisabled)
        {
            EventQueueInterrupt = EventLine,
            GlobalErrorInterrupt = GerrorLine,
            CommandSyncInterrupt = SyncLine,
            EventObserver = e => Observed.Add(e),
        };
    }

    public void Dispose()
    {
        if (ownsRam) Ram.Dispose();
    }

    // ---- registers ----

    public uint R32(ulong offset) { Assert.True(Smmu.Read(offset, 4, out ulong v)); return (uint)v; }
    public ulong R64(ulong offset) { Assert.True(Smmu.Read(offset, 8, out ulong v)); return v; }
    public void W32(ulong offset, uint value) => Assert.True(Smmu.Write(offset, 4, value));
    public void W64(ulong offset, ulong value) => Assert.True(Smmu.Write(offset, 8, value));

    /// <summary>arm_smmu_write_reg_sync: write, then the ACK register must follow at once.</summary>
    public void WriteSync(ulong offset, ulong ackOffset, uint value)
    {
        W32(offset, value);
        Assert.Equal(value, R32(ackOffset));
    }

    // ---- bring-up ----

    /// <summary>
    /// arm_smmu_device_reset as Linux does it, with a 2-level stream table (SPLIT 8) when <paramref name="twoLevel"/>,
    /// MSIs for the event and global-error interrupts to the ITS when <paramref name="msi"/>, else wired lines.
    /// </summary>
    public void Init(bool twoLevel = true, int streamBits = 16, int commandLog2 = 8, int eventLog2 = 6, bool msi = true, bool enable = true)
    {
        TwoLevel = twoLevel;
        Split = 8;
        CommandQueueLog2 = commandLog2;
        EventQueueLog2 = eventLog2;
        if (R32(SmmuRegs.Cr0) != 0) W32(SmmuRegs.Gbpa, SmmuRegs.GbpaUpdate | SmmuRegs.GbpaAbort);
        WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, 0);
        W32(SmmuRegs.Cr1, 0x0D75);  // table and queue accesses inner-shareable write-back
        W32(SmmuRegs.Cr2, SmmuRegs.Cr2Ptm | SmmuRegs.Cr2RecInvSid);
        if (twoLevel)
        {
            int l1 = 1 << Math.Max(streamBits - Split, 0);
            StreamTable = Ram.Alloc((ulong)l1 * 8, Math.Max(64, (ulong)l1 * 8));
            W64(SmmuRegs.StrtabBase, SmmuRegs.QueueRa | StreamTable);
            W32(SmmuRegs.StrtabBaseCfg, 1u << 16 | (uint)Split << 6 | (uint)streamBits);
        }
        else
        {
            StreamTable = Ram.Alloc(64UL << streamBits, 64UL << streamBits);
            W64(SmmuRegs.StrtabBase, SmmuRegs.QueueRa | StreamTable);
            W32(SmmuRegs.StrtabBaseCfg, (uint)streamBits);
        }
        CommandQueueBase = Ram.Alloc(16UL << commandLog2, Math.Max(32, 16UL << commandLog2));
        W64(SmmuRegs.CmdqBase, SmmuRegs.QueueRa | CommandQueueBase | (uint)commandLog2);
        W32(SmmuRegs.CmdqProd, 0);
        W32(SmmuRegs.CmdqCons, 0);
        commandProducer = 0;
        uint enables = SmmuRegs.Cr0CmdqEn;
        WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, enables);
        Command(SmmuRegs.CfgiSteRange, 0, 31);  // CFGI_ALL
        Sync();
        Command(SmmuRegs.TlbiNsnhAll);
        Sync();
        EventQueueBase = Ram.Alloc(32UL << eventLog2, Math.Max(32, 32UL << eventLog2));
        W64(SmmuRegs.EventqBase, SmmuRegs.QueueRa | EventQueueBase | (uint)eventLog2);
        W32(SmmuRegs.EventqProd, 0);
        W32(SmmuRegs.EventqCons, 0);
        eventConsumer = 0;
        enables |= SmmuRegs.Cr0EventqEn;
        WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, enables);
        WriteSync(SmmuRegs.IrqCtrl, SmmuRegs.IrqCtrlAck, 0);
        W64(SmmuRegs.GerrorIrqCfg0, 0);
        W64(SmmuRegs.EventqIrqCfg0, 0);
        if (msi)
        {
            W64(SmmuRegs.GerrorIrqCfg0, RecordingMsiSink.Doorbell);
            W32(SmmuRegs.GerrorIrqCfg1, 0x8001);
            W32(SmmuRegs.GerrorIrqCfg2, 0x3F);
            W64(SmmuRegs.EventqIrqCfg0, RecordingMsiSink.Doorbell);
            W32(SmmuRegs.EventqIrqCfg1, 0x8000);
            W32(SmmuRegs.EventqIrqCfg2, 0x3F);
        }
        WriteSync(SmmuRegs.IrqCtrl, SmmuRegs.IrqCtrlAck, SmmuRegs.IrqGerror | SmmuRegs.IrqEventq);
        if (enable)
        {
            enables |= SmmuRegs.Cr0SmmuEn;
            WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, enables);
        }
    }

    // ---- commands ----

    public uint CommandSlot(uint producer) => producer & ((1u << CommandQueueLog2) - 1);

    /// <summary>Queues one command and publishes it (SMMU_CMDQ_PROD), as arm_smmu_cmdq_issue_cmdlist does.</summary>
    public void Command(byte opcode, ulong operands0 = 0, ulong dword1 = 0) => CommandRaw(opcode | operands0, dword1);

    public void CommandRaw(ulong dword0, ulong dword1)
    {
        ulong at = CommandQueueBase + CommandSlot(commandProducer) * 16UL;
        Ram.W64(at, dword0);
        Ram.W64(at + 8, dword1);
        commandProducer = (commandProducer + 1) & ((2u << CommandQueueLog2) - 1);
        W32(SmmuRegs.CmdqProd, commandProducer);
    }

    /// <summary>
    /// CMD_SYNC with CS = IRQ, MSIData = 0 and MSIAddress = the command's own slot (Linux's MSI polling): completion
    /// is the slot's first word turning zero.
    /// </summary>
    public void Sync()
    {
        ulong slot = CommandQueueBase + CommandSlot(commandProducer) * 16UL;
        CommandRaw(SmmuRegs.Sync | 1UL << 12 | 3UL << 22 | 0xFUL << 24, slot);
        Assert.Equal(0u, Ram.R32(slot));
        Assert.Equal(commandProducer, R32(SmmuRegs.CmdqCons) & 0xF_FFFF);
    }

    public void CfgiSte(uint streamId)
    {
        Command(SmmuRegs.CfgiSte, (ulong)streamId << 32, 1);
        Sync();
    }

    public void TlbiVa(ushort asid, ulong va, ushort vmid = 0)
    {
        Command(SmmuRegs.TlbiNhVa, (ulong)asid << 48 | (ulong)vmid << 32, va & ~0xFFFUL | 1);
        Sync();
    }

    /// <summary>
    /// The range operands of a TLBI by address (4.4.1.1), as dword 0 and dword 1 bits to OR in: NUM [16:12],
    /// SCALE [24:20]; TTL [9:8] and TG [11:10] of dword 1 (0b01 4 KiB, 0b10 16 KiB, 0b11 64 KiB).
    /// </summary>
    public static (ulong Dword0, ulong Dword1) Range(int tg, int num, int scale, int ttl) =>
        ((ulong)(uint)num << 12 | (ulong)(uint)scale << 20, (ulong)(uint)ttl << 8 | (ulong)(uint)tg << 10);

    // ---- tables ----

    /// <summary>Where stream <paramref name="streamId"/>'s STE lives, allocating its level 2 table (Span = SPLIT + 1) as Linux does.</summary>
    public ulong SteAddress(uint streamId)
    {
        if (!TwoLevel) return StreamTable + streamId * 64UL;
        uint l1 = streamId >> Split;
        if (!level2.TryGetValue(l1, out ulong table))
        {
            table = Ram.Alloc(64UL << Split, 64UL << Split);
            level2[l1] = table;
            Ram.W64(StreamTable + l1 * 8UL, table | (uint)(Split + 1));
        }
        return table + (streamId & ((1u << Split) - 1)) * 64UL;
    }

    public void WriteSte(uint streamId, ulong d0, ulong d1 = 0, ulong d2 = 0, ulong d3 = 0, bool invalidate = true)
    {
        ulong at = SteAddress(streamId);
        Ram.W64(at, d0);
        Ram.W64(at + 8, d1);
        Ram.W64(at + 16, d2);
        Ram.W64(at + 24, d3);
        if (invalidate) CfgiSte(streamId);
    }

    public static ulong SteDword0(int config, ulong contextPointer = 0, int cdMax = 0, int s1Fmt = 0) =>
        1UL | (ulong)(uint)config << 1 | (ulong)(uint)s1Fmt << 4 | contextPointer | (ulong)(uint)cdMax << 59;

    /// <summary>STE dword 2 for a 4 KiB stage 2 over <paramref name="ipaBits"/> bits starting at level 1, 48-bit output, S2R set.</summary>
    public static ulong SteDword2(ushort vmid, int ipaBits = 39, int sl0 = 1, int tg = 0, int ps = 5, bool aa64 = true, bool record = true) =>
        vmid | (ulong)(uint)(64 - ipaBits) << 32 | (ulong)(uint)sl0 << 38 | (ulong)(uint)tg << 46 | (ulong)(uint)ps << 48
        | (aa64 ? 1UL << 51 : 0) | (record ? 1UL << 58 : 0);

    /// <summary>A CD as arm_smmu_write_ctx_desc builds one: 48-bit VA, 4 KiB granule, EPD1, valid, IPS 48, AA64, R, A, the ASID.</summary>
    public static ulong CdDword0(ushort asid, int t0sz = 16, bool record = true, int tg0 = 0, int ips = 5) =>
        (ulong)(uint)t0sz | (ulong)(uint)tg0 << 6 | 1UL << 8 | 1UL << 10 | 3UL << 12 | 1UL << 30 | 1UL << 31 | (ulong)(uint)ips << 32
        | 1UL << 41 | (record ? 1UL << 45 : 0) | 1UL << 46 | (ulong)asid << 48;

    public ulong WriteCd(ulong d0, ulong ttb0, ulong at = 0)
    {
        if (at == 0) at = Ram.Alloc(64, 64);
        Ram.W64(at, d0);
        Ram.W64(at + 8, ttb0);
        Ram.W64(at + 16, 0);
        Ram.W64(at + 24, 0xFF_04_00);  // MAIR: device, normal non-cacheable, normal write-back
        return at;
    }

    // ---- events ----

    public int PendingEvents
    {
        get
        {
            uint prod = R32(SmmuRegs.EventqProd), mask = (2u << EventQueueLog2) - 1;
            uint p = prod & mask, c = eventConsumer & mask;
            return (int)((p - c) & mask);
        }
    }

    /// <summary>Reads every record between CONS and PROD and moves CONS past them, as arm_smmu_evtq_thread does.</summary>
    public List<EventRecord> DrainEvents()
    {
        var list = new List<EventRecord>();
        uint prod = R32(SmmuRegs.EventqProd);
        uint mask = (2u << EventQueueLog2) - 1, index = (1u << EventQueueLog2) - 1;
        while ((eventConsumer & mask) != (prod & mask))
        {
            ulong at = EventQueueBase + (eventConsumer & index) * 32UL;
            var b = Ram.Read(at, 32);
            list.Add(new EventRecord(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)),
                BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(16)), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24))));
            eventConsumer = (eventConsumer + 1) & mask;
        }
        // Acknowledge any overflow with the consumer index, as Linux does.
        W32(SmmuRegs.EventqCons, eventConsumer | (prod & 0x8000_0000));
        return list;
    }

    public EventRecord SingleEvent()
    {
        var events = DrainEvents();
        Assert.Single(events);
        return events[0];
    }
}

/// <summary>
/// Builds VMSAv8-64 tables with a 4 KiB granule in the test guest's RAM. Descriptors hold the addresses the
/// walker sees (<paramref name="visible"/> of the physical address: the IPA for stage 1 tables under a stage 2).
/// </summary>
public sealed class TableBuilder(GuestRam ram, int startLevel, Func<ulong, ulong>? visible = null)
{
    private readonly Func<ulong, ulong> visible = visible ?? (a => a);
    private readonly Dictionary<ulong, ulong> physicalOf = [];
    public readonly ulong Root = ram.Alloc(4096);

    public ulong RootAddress => visible(Root);

    /// <summary>Maps <paramref name="input"/> to <paramref name="output"/> with a page (level 3) or a block (level 1 or 2) descriptor.</summary>
    public ulong Map(ulong input, ulong output, ulong attributes, int level = 3)
    {
        ulong table = Root;
        for (int l = startLevel; l < level; l++)
        {
            ulong at = table + ((input >> (12 + 9 * (3 - l))) & 511) * 8;
            Assert.Equal(GuestMemoryStatus.Ok, ram.Memory.ReadUInt64(at, out ulong d));
            if ((d & 3) != 3)
            {
                ulong next = ram.Alloc(4096);
                physicalOf[visible(next)] = next;
                d = visible(next) | SmmuRegs.Table;
                ram.W64(at, d);
            }
            table = physicalOf[d & 0x0000_FFFF_FFFF_F000UL];
        }
        ulong leafAt = table + ((input >> (12 + 9 * (3 - level))) & 511) * 8;
        ram.W64(leafAt, output | attributes | (level == 3 ? SmmuRegs.Page : SmmuRegs.Block));
        return leafAt;
    }

    /// <summary>The physical address of the leaf descriptor that maps <paramref name="input"/> at <paramref name="level"/>.</summary>
    public ulong LeafAddress(ulong input, int level = 3)
    {
        ulong table = Root;
        for (int l = startLevel; l < level; l++)
        {
            Assert.Equal(GuestMemoryStatus.Ok, ram.Memory.ReadUInt64(table + ((input >> (12 + 9 * (3 - l))) & 511) * 8, out ulong d));
            table = physicalOf[d & 0x0000_FFFF_FFFF_F000UL];
        }
        return table + ((input >> (12 + 9 * (3 - level))) & 511) * 8;
    }
}
