using Jit.Devices.Gic.Its;
using Jit.Runtime.Memory;

namespace Jit.Devices.Gic.Tests;

/// <summary>LPIs at the redistributors and the CPU interface: what Linux's irq-gic-v3 reads and programs.</summary>
public class LpiTests
{
    private const int Lpi = 8192;

    private static ulong Gicr(GuestDriver g, int cpu, ulong reg, int size = 8)
    {
        Assert.True(g.Gic.Redistributors.Read(GuestDriver.Rd(cpu) + reg, size, out ulong value));
        return value;
    }

    [Fact]
    public void GicAdvertisesLpisOnlyWhenItHasGuestMemory()
    {
        using var g = new GuestDriver();
        Assert.True(g.Gic.Distributor.Read(0x4, 4, out ulong typer));
        Assert.Equal(1UL, typer >> 17 & 1);     // LPIS
        Assert.Equal(15UL, typer >> 19 & 0x1F); // 16-bit INTIDs
        Assert.Equal(1UL, Gicr(g, 0, GuestDriver.GicrTyper) & 1); // PLPIS
        Assert.Equal(1UL, Gicr(g, 1, GuestDriver.GicrTyper) >> 3 & 1); // DirectLPI

        var plain = new GicV3(1);
        Assert.False(plain.LpisSupported);
        Assert.True(plain.Distributor.Read(0x4, 4, out typer));
        Assert.Equal(0UL, typer >> 17 & 1);
        Assert.True(plain.Redistributors.Read(GuestDriver.GicrTyper, 8, out ulong rtyper));
        Assert.Equal(0UL, rtyper & 1);
        Assert.Throws<ArgumentException>(() => new GicIts(plain, g.Memory, GuestDriver.ItsBase));
    }

    [Fact]
    public void EnableLpisStaysSetAndFreezesTheTableAddresses()
    {
        using var g = new GuestDriver();
        Assert.Equal(1UL, Gicr(g, 0, GuestDriver.GicrCtlr, 4));
        ulong prop = Gicr(g, 0, GuestDriver.GicrPropbaser);
        Assert.Equal(GuestDriver.PropTable | 1UL << 10 | 7UL << 7 | 15, prop); // Linux checks shareability sticks

        Assert.True(g.Gic.Redistributors.Write(GuestDriver.GicrCtlr, 4, 0));
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.GicrPropbaser, 8, 0));
        Assert.Equal(1UL, Gicr(g, 0, GuestDriver.GicrCtlr, 4));
        Assert.Equal(prop, Gicr(g, 0, GuestDriver.GicrPropbaser));
    }

    [Fact]
    public void LpisAreNotDeliveredToARedistributorWithLpisDisabled()
    {
        using var g = new GuestDriver(enableLpis: false);
        g.MapCollectionPerCpu();
        g.MapDevice(3, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        g.Msi(3, 0);
        Assert.False(g.Outputs[0].Level);

        g.EnableLpis(0);
        g.Msi(3, 0);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void LpisBeyondTheRedistributorsIdBitsAreDropped()
    {
        using var g = new GuestDriver(enableLpis: false);
        for (int cpu = 0; cpu < 2; cpu++)
        {
            // 14 ID bits: LPIs 8192 to 16383 only.
            Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(cpu) + GuestDriver.GicrPropbaser, 8, GuestDriver.PropTable | 13));
            Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(cpu) + GuestDriver.GicrCtlr, 4, 1));
        }
        g.MapCollectionPerCpu();
        g.MapDevice(2, eventBits: 1, events: 2, firstLpi: 16383, icid: 0); // 16383 and 16384

        g.Msi(2, 1);
        Assert.Equal(1023, g.Acknowledge(0));
        g.Msi(2, 0);
        Assert.Equal(16383, g.Acknowledge(0));
    }

    [Fact]
    public void PendingTableIsReadWhenLpisAreEnabledWithoutPtz()
    {
        using var g = new GuestDriver(enableLpis: false);
        ulong pend = GuestDriver.PendTables + 0x10000;        // CPU 1's
        g.Memory.Write(pend + (Lpi + 10) / 8, [1 << (Lpi + 10) % 8]);
        g.Memory.Write(GuestDriver.PropTable + 10, [GuestDriver.DefaultPriority | 3]);

        g.EnableLpis(1, pendingTableIsZero: false);

        Assert.True(g.Outputs[1].Level);
        Assert.Equal(Lpi + 10, g.Acknowledge(1));
    }

    [Fact]
    public void DirectLpiRegistersSetAndClearPendingState()
    {
        using var g = new GuestDriver();
        g.Memory.Write(GuestDriver.PropTable + 5, [0x40 | 3]);
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(1) + 0xA0, 8, Lpi + 5)); // INVLPIR
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(1) + 0x40, 8, Lpi + 5)); // SETLPIR
        Assert.True(g.Outputs[1].Level);
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(1) + 0x48, 4, Lpi + 5)); // CLRLPIR, low half
        Assert.False(g.Outputs[1].Level);
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(1) + 0x40, 8, 40));      // not an LPI
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(1) + 0x40, 8, 0x1_0000)); // beyond IDbits
        Assert.False(g.Outputs[1].Level);
        Assert.Equal(0UL, Gicr(g, 1, 0xC0, 4)); // GICR_SYNCR.Busy
    }

    [Fact]
    public void LpiAndSpiCompeteByPriority()
    {
        using var g = GuestDriver.WithDevice(1, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        // SPI 40, Group 1, priority 0xC0, routed to CPU 0, enabled, made pending.
        Assert.True(g.Gic.Distributor.Write(0x84, 4, 1 << 8));
        Assert.True(g.Gic.Distributor.Write(0x400 + 40, 1, 0xC0));
        Assert.True(g.Gic.Distributor.Write(0x6000 + 8 * 40, 8, 0));
        Assert.True(g.Gic.Distributor.Write(0x104, 4, 1 << 8));
        Assert.True(g.Gic.Distributor.Write(0x204, 4, 1 << 8));
        g.Msi(1, 0);

        Assert.Equal(Lpi, g.Acknowledge(0));   // 0xA0 beats 0xC0
        Assert.Equal(1023, g.Acknowledge(0));  // and 0xC0 cannot preempt 0xA0
        g.EndOfInterrupt(0, Lpi);
        Assert.Equal(40, g.Acknowledge(0));
    }

    [Fact]
    public void UnreadableConfigurationTableLeavesLpisDisabledWithoutThrowing()
    {
        using var g = new GuestDriver(enableLpis: false);
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.GicrPropbaser, 8, 0x7FF0_0000_0000 | 15));
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.GicrPendbaser, 8, 0x7FF0_0000_0000));
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.GicrCtlr, 4, 1));
        Assert.True(g.Gic.Redistributors.Write(0x40, 8, Lpi)); // SETLPIR
        Assert.Equal(1023, g.Acknowledge(0));
        Assert.Equal(GuestMemoryStatus.NotMapped, g.Memory.ReadUInt64(0x7FF0_0000_0000, out _));
    }

    private static void WriteGicr(GuestDriver g, int cpu, ulong reg, ulong value) =>
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(cpu) + reg, 8, value));

    private const ulong SetLpir = 0x40, ClrLpir = 0x48, InvLpir = 0xA0, InvAllr = 0xB0;

    private static void Configure(GuestDriver g, int intid, byte value) => g.Memory.Write(GuestDriver.PropTable + (ulong)(intid - Lpi), [value]);

    private static int TakeOne(GuestDriver g, int cpu)
    {
        int intid = g.Acknowledge(cpu);
        if (intid != 1023) g.EndOfInterrupt(cpu, intid);
        return intid;
    }

    [Fact]
    public void ManyPendingLpisAreTakenByPriorityThenIntidAsTheirConfigurationAndPendingStateChange()
    {
        using var g = new GuestDriver();
        const byte enabled = GuestDriver.DefaultPriority | 3;
        for (int i = 0; i < 300; i++) Configure(g, Lpi + i, enabled);
        WriteGicr(g, 0, InvAllr, 0);
        for (int i = 299; i >= 0; i--) WriteGicr(g, 0, SetLpir, (ulong)(Lpi + i));

        Assert.Equal(Lpi, TakeOne(g, 0));                 // equal priorities: the lowest INTID
        Configure(g, Lpi + 200, 0x40 | 3);
        Assert.Equal(Lpi + 1, TakeOne(g, 0));             // the redistributor's cached configuration holds
        WriteGicr(g, 0, InvLpir, Lpi + 200);
        Assert.Equal(Lpi + 200, TakeOne(g, 0));           // until an INV
        WriteGicr(g, 0, ClrLpir, Lpi + 2);
        Assert.Equal(Lpi + 3, TakeOne(g, 0));             // a cleared LPI is not taken
        Configure(g, Lpi + 4, GuestDriver.DefaultPriority | 2);
        WriteGicr(g, 0, InvAllr, 0);
        Assert.Equal(Lpi + 5, TakeOne(g, 0));             // nor a disabled one
        Configure(g, Lpi + 299, 0x20 | 3);
        WriteGicr(g, 0, InvLpir, Lpi + 299);
        WriteGicr(g, 0, SetLpir, Lpi + 5);                     // pending again, but 8491 now outranks it
        Assert.Equal(Lpi + 299, TakeOne(g, 0));
        Assert.Equal(Lpi + 5, TakeOne(g, 0));
        Configure(g, Lpi + 4, enabled);
        WriteGicr(g, 0, InvLpir, Lpi + 4);
        Assert.Equal(Lpi + 4, TakeOne(g, 0));             // still pending while it was disabled
        var rest = new List<int>();
        for (int intid; (intid = TakeOne(g, 0)) != 1023;) rest.Add(intid);
        Assert.Equal(Enumerable.Range(Lpi + 6, 294).Where(i => i is not (Lpi + 200) and not (Lpi + 299)), rest);
    }

    [Fact]
    public void EveryLpiPendingAndAFullQueueOfInvallsStayCheap()
    {
        // A guest can make all 57,344 LPIs pending and fill the command queue with INVALLs. Each used to scan
        // every pending LPI: 57,344 GICR_SETLPIR writes took 4 to 7 s and one GITS_CWRITER write of a 1 MiB
        // queue of INVALLs 7 s in a guest on Jit. Now the highest pending LPI is kept until it can have changed.
        using var g = new GuestDriver();
        g.MapCollectionPerCpu();
        g.Memory.Write(GuestDriver.PropTable, Enumerable.Repeat((byte)(GuestDriver.DefaultPriority | 3), 0x10000 - Lpi).ToArray());
        WriteGicr(g, 0, InvAllr, 0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int intid = Lpi; intid < 0x10000; intid++) WriteGicr(g, 0, SetLpir, (ulong)intid);
        ulong at = g.ItsRead(GuestDriver.GitsCwriter);
        for (ulong i = 0; i < GuestDriver.QueueBytes / 32 - 1; i++, at = (at + 32) % GuestDriver.QueueBytes)
        {
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at, 0x0D); // INVALL, collection 0
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 8, 0);
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 16, 0);
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 24, 0);
        }
        g.ItsWrite(GuestDriver.GitsCwriter, at);
        while (g.ItsRead(GuestDriver.GitsCreadr) != at) { }
        Assert.Equal(Lpi, TakeOne(g, 0));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalSeconds:F2} s");
    }
}
