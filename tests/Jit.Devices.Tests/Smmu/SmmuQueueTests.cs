using Jit.Devices.Smmu;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>The command queue's errors and completion signals; the event queue's interrupts, overflow and aborts.</summary>
public sealed class SmmuQueueTests : IDisposable
{
    private readonly SmmuTestBed bed = new();

    public void Dispose() => bed.Dispose();

    private uint ActiveErrors => bed.R32(SmmuRegs.Gerror) ^ bed.R32(SmmuRegs.Gerrorn);

    /// <summary>arm_smmu_cmdq_skip_err: replace the failed command with a CMD_SYNC, then acknowledge CMDQ_ERR.</summary>
    private void SkipError()
    {
        uint cons = bed.R32(SmmuRegs.CmdqCons);
        ulong slot = bed.CommandQueueBase + bed.CommandSlot(cons & 0xF_FFFF) * 16UL;
        bed.Ram.W64(slot, SmmuRegs.Sync);
        bed.Ram.W64(slot + 8, 0);
        bed.W32(SmmuRegs.Gerrorn, bed.R32(SmmuRegs.Gerror));
    }

    [Fact]
    public void IllegalCommandStopsTheQueueUntilAcknowledged()
    {
        bed.Init();
        int gerrorMsis = bed.Its.Count(0x8001);
        uint consBefore = bed.R32(SmmuRegs.CmdqCons);
        bed.Command(0x7F);                       // no such opcode
        bed.Command(SmmuRegs.TlbiNsnhAll);       // behind it: must wait
        uint cons = bed.R32(SmmuRegs.CmdqCons);
        Assert.Equal(consBefore, cons & 0xF_FFFF);
        Assert.Equal(1u, (cons >> 24) & 0x7F);   // CERROR_ILL
        Assert.Equal(SmmuRegs.GerrorCmdq, ActiveErrors);
        Assert.Equal(gerrorMsis + 1, bed.Its.Count(0x8001));
        // More commands change nothing while the error is active.
        bed.Command(SmmuRegs.TlbiNsnhAll);
        Assert.Equal(consBefore, bed.R32(SmmuRegs.CmdqCons) & 0xF_FFFF);
        SkipError();
        Assert.Equal(0u, ActiveErrors);
        Assert.Equal(consBefore + 3, bed.R32(SmmuRegs.CmdqCons) & 0xF_FFFF);
        bed.Sync();
    }

    [Theory]
    [InlineData(SmmuRegs.TlbiEl2All, 0UL)]                // no Hyp
    [InlineData((byte)0x18, 0UL)]                         // TLBI_EL3_ALL: Non-secure queue
    [InlineData((byte)0x40, 0UL)]                         // ATC_INV: no ATS
    [InlineData((byte)0x41, 0UL)]                         // PRI_RESP: no PRI
    [InlineData(SmmuRegs.CfgiSte, 1UL << 10)]             // SSec = 1
    [InlineData(SmmuRegs.Sync, 3UL << 12)]                // CS = 0b11
    public void CommandsThisSmmuCannotRunAreIllegal(byte opcode, ulong operands)
    {
        bed.Init();
        bed.Command(opcode, operands);
        Assert.Equal(1u, (bed.R32(SmmuRegs.CmdqCons) >> 24) & 0x7F);
        Assert.Equal(SmmuRegs.GerrorCmdq, ActiveErrors);
    }

    /// <summary>
    /// 4.4.1.1: a granule (TG) with NUM = SCALE = 0 and no level hint is Reserved and raises CERROR_ILL; without
    /// SMMU_IDR5.DS a 16 KiB TTL of 1 counts as no hint, so it is Reserved too with a one-granule range.
    /// </summary>
    [Theory]
    [InlineData(SmmuRegs.TlbiNhVa, 0b01, 0)]
    [InlineData(SmmuRegs.TlbiNhVaa, 0b11, 0)]
    [InlineData(SmmuRegs.TlbiS2Ipa, 0b10, 0)]
    [InlineData(SmmuRegs.TlbiNhVa, 0b10, 1)]
    public void ARangeOfOneGranuleWithoutALevelHintIsIllegal(byte opcode, int tg, int ttl)
    {
        bed.Init();
        var (d0, d1) = SmmuTestBed.Range(tg, num: 0, scale: 0, ttl);
        uint consBefore = bed.R32(SmmuRegs.CmdqCons) & 0xF_FFFF;
        bed.Command(opcode, d0, 0x20_0000 | d1);
        Assert.Equal(1u, (bed.R32(SmmuRegs.CmdqCons) >> 24) & 0x7F);
        Assert.Equal(consBefore, bed.R32(SmmuRegs.CmdqCons) & 0xF_FFFF);
        Assert.Equal(SmmuRegs.GerrorCmdq, ActiveErrors);
    }

    [Fact]
    public void PrefetchesAreAcceptedAndDoNothing()
    {
        bed.Init();
        bed.Command(SmmuRegs.PrefetchConfig, 0x10UL << 32);
        bed.Command(SmmuRegs.PrefetchAddr, 0x10UL << 32, 0x1000);
        bed.Sync();
        Assert.Equal(0u, ActiveErrors);
    }

    [Fact]
    public void UnreadableCommandIsAnAbort()
    {
        bed.Init();
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, 0);
        bed.W64(SmmuRegs.CmdqBase, 0x7_0000_0000 | 4);
        bed.W32(SmmuRegs.CmdqCons, 0);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, SmmuRegs.Cr0CmdqEn);
        bed.W32(SmmuRegs.CmdqProd, 1);
        Assert.Equal(2u, (bed.R32(SmmuRegs.CmdqCons) >> 24) & 0x7F); // CERROR_ABT
        Assert.Equal(SmmuRegs.GerrorCmdq, ActiveErrors);
    }

    [Fact]
    public void SyncWithoutMsiAddressPulsesTheWiredLine()
    {
        bed.Init(msi: false);
        bed.Command(SmmuRegs.Sync, 1UL << 12);
        Assert.Equal(1, bed.SyncLine.Raised);
        Assert.False(bed.SyncLine.Level);
        bed.Command(SmmuRegs.Sync, 2UL << 12); // SEV: nothing to see
        Assert.Equal(1, bed.SyncLine.Raised);
    }

    [Fact]
    public void SyncMsiGoesToTheItsWithTheSmmusDeviceId()
    {
        bed.Init();
        bed.Command(SmmuRegs.Sync, 1UL << 12 | 0x77UL << 32, RecordingMsiSink.Doorbell);
        Assert.Contains((RecordingMsiSink.Doorbell, 0x77u, SmmuTestBed.SmmuDeviceId), bed.Its.Messages);
    }

    [Fact]
    public void SyncMsiToNowhereIsAGlobalError()
    {
        bed.Init();
        bed.Command(SmmuRegs.Sync, 1UL << 12, 0x7_0000_0000);
        Assert.Equal(SmmuRegs.GerrorMsiCmdqAbort, ActiveErrors);
        Assert.Equal(0u, (bed.R32(SmmuRegs.CmdqCons) >> 24) & 0x7F);
    }

    [Fact]
    public void WiredEventInterruptFiresWhenTheQueueTurnsNonEmpty()
    {
        bed.Init(msi: false);
        var port = bed.Smmu.PortFor(0x99);
        port.Read(0, new byte[1]);
        port.Read(0, new byte[1]);
        Assert.Equal(2, bed.PendingEvents);
        Assert.Equal(1, bed.EventLine.Raised);
        Assert.Equal(2, bed.DrainEvents().Count);
        port.Read(0, new byte[1]);
        Assert.Equal(2, bed.EventLine.Raised);
        Assert.Empty(bed.Its.Messages);
    }

    [Fact]
    public void EventMsiCarriesTheConfiguredData()
    {
        bed.Init();
        bed.Smmu.PortFor(0x99).Read(0, new byte[1]);
        Assert.Contains((RecordingMsiSink.Doorbell, 0x8000u, SmmuTestBed.SmmuDeviceId), bed.Its.Messages);
        Assert.Equal(0, bed.EventLine.Raised);
    }

    [Fact]
    public void FullEventQueueDropsRecordsAndFlagsOverflowOnce()
    {
        bed.Init(eventLog2: 2); // four records
        var tables = new TableBuilder(bed.Ram, startLevel: 0); // empty: every access is an F_TRANSLATION
        bed.WriteSte(0x99, SmmuTestBed.SteDword0(0b101, bed.WriteCd(SmmuTestBed.CdDword0(1), tables.RootAddress)));
        var port = bed.Smmu.PortFor(0x99);
        for (uint i = 0; i < 10; i++) port.Read(i << 12, new byte[1]);
        uint prod = bed.R32(SmmuRegs.EventqProd);
        Assert.Equal(0x8000_0000u, prod & 0x8000_0000);   // OVFLG now differs from OVACKFLG
        Assert.Equal(4u, prod & 7);                        // index 0, wrap 1: full
        var events = bed.DrainEvents();                     // acknowledges the overflow
        Assert.Equal(4, events.Count);
        Assert.Equal([0UL, 0x1000, 0x2000, 0x3000], events.Select(e => e.InputAddress));
        Assert.Equal(0x8000_0000u, bed.R32(SmmuRegs.EventqCons) & 0x8000_0000);
        // Room again: the next fault is recorded, and a second overflow toggles OVFLG back.
        for (uint i = 0; i < 5; i++) port.Read(0x100_0000 + (i << 12), new byte[1]);
        Assert.Equal(0u, bed.R32(SmmuRegs.EventqProd) & 0x8000_0000);
        Assert.Equal(0x100_0000UL, bed.DrainEvents()[0].InputAddress);
    }

    [Fact]
    public void EventQueueOutsideMemoryIsAGlobalErrorAndLosesEvents()
    {
        bed.Init();
        uint cr0 = bed.R32(SmmuRegs.Cr0);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, cr0 & ~SmmuRegs.Cr0EventqEn);
        bed.W64(SmmuRegs.EventqBase, 0x7_0000_0000 | 4);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, cr0);
        bed.Smmu.PortFor(0x99).Read(0, new byte[1]);
        Assert.Equal(SmmuRegs.GerrorEventqAbort, ActiveErrors);
        Assert.Equal(0u, bed.R32(SmmuRegs.EventqProd));
    }

    [Fact]
    public void DisabledEventQueueRecordsNothing()
    {
        bed.Init();
        uint cr0 = bed.R32(SmmuRegs.Cr0);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, cr0 & ~SmmuRegs.Cr0EventqEn);
        bed.Smmu.PortFor(0x99).Read(0, new byte[1]);
        Assert.Equal(0, bed.PendingEvents);
        Assert.Single(bed.Observed);
    }

    [Fact]
    public void WiredGlobalErrorInterrupt()
    {
        bed.Init(msi: false);
        bed.Command(0x7F);
        Assert.Equal(1, bed.GerrorLine.Raised);
    }
}
