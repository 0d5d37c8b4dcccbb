using Jit.Devices.Gic.Its;
using Jit.Runtime.Memory;

namespace Jit.Devices.Gic.Tests;

/// <summary>The ITS driven through its registers and command queue as Linux's irq-gic-v3-its driver drives it.</summary>
public class ItsTests
{
    private const uint Device = 0x0008; // 00:01.0 as a PCI requester ID
    private const int Lpi = 8192;

    [Fact]
    public void MsiBecomesThePendingLpiOfTheTargetCpuWithItsPriorityAndEoiEndsIt()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 5, events: 4, firstLpi: Lpi, icid: 1);

        Assert.True(g.Msi(Device, 2));

        Assert.False(g.Outputs[0].Level);
        Assert.True(g.Outputs[1].Level);
        Assert.Equal(Lpi + 2, g.Acknowledge(1));
        Assert.False(g.Outputs[1].Level);
        Assert.True(g.Cpu(1).Read(GuestDriver.Rpr, out ulong running));
        Assert.Equal(GuestDriver.DefaultPriority, running);
        g.EndOfInterrupt(1, Lpi + 2);
        Assert.True(g.Cpu(1).Read(GuestDriver.Rpr, out running));
        Assert.Equal(0xFFUL, running);
        Assert.Equal(1023, g.Acknowledge(1)); // delivered once: no active state, nothing left pending
    }

    [Fact]
    public void MsiCanArriveAgainWhileItsPreviousOneIsBeingHandled()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        g.Msi(Device, 0);
        Assert.Equal(Lpi, g.Acknowledge(0));
        g.Msi(Device, 0);                     // LPIs have no active state: pending again at once
        Assert.Equal(1023, g.Acknowledge(0)); // but it cannot preempt its own priority
        g.EndOfInterrupt(0, Lpi);
        Assert.True(g.Outputs[0].Level);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void WriteToGitsTranslaterIsAnMsiFromDeviceZero()
    {
        using var g = GuestDriver.WithDevice(0, eventBits: 2, events: 2, firstLpi: Lpi + 100, icid: 0);

        g.ItsWrite(GicIts.TranslaterOffset, 1, size: 4);

        Assert.True(g.Outputs[0].Level);
        Assert.Equal(Lpi + 101, g.Acknowledge(0));
        Assert.Equal(0UL, g.ItsRead(GicIts.TranslaterOffset, 4)); // write-only
    }

    [Fact]
    public void HigherPriorityLpiIsAcknowledgedFirst()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 2, events: 2, firstLpi: Lpi, icid: 0);
        g.ConfigureLpi(Device, 1, Lpi + 1, enable: true, priority: 0x60);
        g.Msi(Device, 0);
        g.Msi(Device, 1);
        Assert.Equal(Lpi + 1, g.Acknowledge(0));
        Assert.Equal(1023, g.Acknowledge(0)); // Lpi at 0xA0 cannot preempt 0x60
        g.EndOfInterrupt(0, Lpi + 1);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void DisabledLpiWaitsUntilItIsEnabledAndInvalidated()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        g.ConfigureLpi(Device, 0, Lpi, enable: false);

        g.Msi(Device, 0);
        Assert.False(g.Outputs[0].Level);
        Assert.Equal(1023, g.Acknowledge(0));

        // The enable bit alone is not seen: the redistributor caches configuration until an INV.
        g.Memory.Write(GuestDriver.PropTable, [GuestDriver.DefaultPriority | 3]);
        Assert.False(g.Outputs[0].Level);
        g.Inv(Device, 0);
        Assert.True(g.Outputs[0].Level); // it stayed pending while disabled
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void InvallAndDirectInvalidationAlsoPickUpConfiguration()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 2, events: 2, firstLpi: Lpi, icid: 0);
        g.ConfigureLpi(Device, 0, Lpi, enable: false);
        g.ConfigureLpi(Device, 1, Lpi + 1, enable: false);
        g.Msi(Device, 0);
        g.Msi(Device, 1);

        g.Memory.Write(GuestDriver.PropTable, [GuestDriver.DefaultPriority | 3, GuestDriver.DefaultPriority | 3]);
        Assert.True(g.Gic.Redistributors.Write(GuestDriver.Rd(0) + GuestDriver.GicrInvlpir, 8, Lpi + 1));
        Assert.Equal(Lpi + 1, g.Acknowledge(0));
        g.EndOfInterrupt(0, Lpi + 1);
        Assert.Equal(1023, g.Acknowledge(0));
        g.Invall(0);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void MoviTakesThePendingLpiAndLaterMsisToTheNewCpu()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        Assert.True(g.Cpu(0).Write(GuestDriver.Pmr, 0)); // CPU 0 masks everything: the LPI stays pending there
        g.Msi(Device, 0);

        g.Movi(Device, 0, icid: 1);
        g.Sync(1);

        Assert.True(g.Outputs[1].Level);
        Assert.Equal(Lpi, g.Acknowledge(1));
        g.EndOfInterrupt(1, Lpi);
        Assert.True(g.Cpu(0).Write(GuestDriver.Pmr, 0xF0));
        Assert.Equal(1023, g.Acknowledge(0)); // nothing left behind
        g.Msi(Device, 0);
        Assert.False(g.Outputs[0].Level);
        Assert.Equal(Lpi, g.Acknowledge(1));
    }

    [Fact]
    public void MovallMovesEveryPendingLpiOfACpu()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 2, events: 3, firstLpi: Lpi, icid: 0);
        Assert.True(g.Cpu(0).Write(GuestDriver.Pmr, 0));
        g.Msi(Device, 0);
        g.Msi(Device, 2);

        // CPU 0 goes offline: its collection moves to CPU 1, then its pending LPIs follow.
        g.Mapc(0, 1);
        g.Movall(0, 1);
        g.Sync(1);

        Assert.Equal(Lpi, g.Acknowledge(1));
        Assert.Equal(1023, g.Acknowledge(1)); // same priority: Lpi + 2 waits for the EOI
        g.EndOfInterrupt(1, Lpi);
        Assert.Equal(Lpi + 2, g.Acknowledge(1));
        g.Msi(Device, 1);
        g.EndOfInterrupt(1, Lpi + 2);
        Assert.Equal(Lpi + 1, g.Acknowledge(1));
    }

    [Fact]
    public void IntMakesAnLpiPendingAndClearTakesItBack()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 2, firstLpi: Lpi, icid: 1);
        g.Int(Device, 1);
        Assert.True(g.Outputs[1].Level);
        g.Clear(Device, 1);
        Assert.False(g.Outputs[1].Level);
        Assert.Equal(1023, g.Acknowledge(1));
    }

    [Fact]
    public void DiscardRemovesTheMappingAndThePendingState()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 2, firstLpi: Lpi, icid: 0);
        Assert.True(g.Cpu(0).Write(GuestDriver.Pmr, 0));
        g.Msi(Device, 1);

        g.Discard(Device, 1);
        Assert.True(g.Cpu(0).Write(GuestDriver.Pmr, 0xF0));

        Assert.False(g.Outputs[0].Level);
        Assert.True(g.Msi(Device, 1)); // accepted at the doorbell, translated to nothing
        Assert.Equal(1023, g.Acknowledge(0));
        g.Msi(Device, 0);              // the other event is untouched
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void MapiUsesTheEventIdAsTheLpi()
    {
        using var g = new GuestDriver();
        g.MapCollectionPerCpu();
        ulong itt = GuestDriver.Itts;
        g.Mapd(Device, 16, itt);
        g.Mapi(Device, Lpi + 7, icid: 0);
        g.ConfigureLpi(Device, Lpi + 7, Lpi + 7, enable: true);
        g.Msi(Device, Lpi + 7);
        Assert.Equal(Lpi + 7, g.Acknowledge(0));
    }

    [Fact]
    public void TablesLiveInGuestMemoryInTheDocumentedFormat()
    {
        using var g = new GuestDriver();
        g.Mapc(3, 1);
        ulong itt = g.MapDevice(Device, eventBits: 5, events: 3, firstLpi: Lpi + 40, icid: 3);

        Assert.Equal(1UL << 63 | 1, g.Read64(GuestDriver.CollectionTable + 3 * 8));           // V, processor 1
        Assert.Equal(1UL << 63 | itt | 4, g.Read64(GuestDriver.DeviceTable + Device * 8));     // V, ITT_addr, bits − 1
        Assert.Equal(1UL << 63 | 3UL << 32 | (Lpi + 42), g.Read64(itt + 2 * 8));             // V, ICID, pINTID

        g.Mapd(Device, 5, itt, valid: false);
        Assert.Equal(0UL, g.Read64(GuestDriver.DeviceTable + Device * 8));
        g.Msi(Device, 2);
        Assert.False(g.Outputs[1].Level);
    }

    /// <summary>
    /// A platform device's DeviceID above the 16 bits of PCI requester IDs (the SMMU's, from its msi-parent) maps
    /// and takes MSIs like a function's, in the level-2 page Linux allocates for it; one beyond GITS_TYPER.Devbits
    /// is a command error, ignored.
    /// </summary>
    [Fact]
    public void APlatformDeviceAboveThePciRequesterIdsGetsItsLpis()
    {
        using var g = new GuestDriver(indirectDevices: true);
        g.MapCollectionPerCpu();
        const uint smmu = GicIts.PlatformDeviceIds;             // level-1 index 0x10000 / 8192 = 8
        const ulong level2 = GuestDriver.RamBase + 0x80_0000;
        g.Memory.WriteUInt64(GuestDriver.DeviceTable + 8 * 8, 1UL << 63 | level2);
        g.MapDevice(smmu, eventBits: 1, events: 2, firstLpi: Lpi + 1, icid: 1);
        Assert.Equal(1UL << 63, g.Read64(level2) & 1UL << 63);

        g.Msi(smmu, 1);
        Assert.Equal(Lpi + 2, g.Acknowledge(1));
        g.Msi(smmu & 0xFFFF, 0);                                 // the requester ID it would alias without bit 16
        Assert.Equal(1023, g.Acknowledge(0));

        const uint beyond = 1u << GicIts.DeviceIdBits;
        g.Mapd(beyond, 1, GuestDriver.Itts);
        Assert.Equal(g.ItsRead(GuestDriver.GitsCwriter), g.ItsRead(GuestDriver.GitsCreadr));
        Assert.True(g.Msi(beyond, 0));
        Assert.Equal(1023, g.Acknowledge(0));
    }

    [Fact]
    public void TwoLevelDeviceTableAsLinuxAllocatesIt()
    {
        using var g = new GuestDriver(indirectDevices: true);
        g.MapCollectionPerCpu();
        const uint bigDevice = 0x1234;                           // level-1 index 0x1234 / 8192 = 0
        const ulong level2 = GuestDriver.RamBase + 0x80_0000;
        g.Memory.WriteUInt64(GuestDriver.DeviceTable, 1UL << 63 | level2);

        g.MapDevice(bigDevice, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        Assert.Equal(1UL << 63, g.Read64(level2 + bigDevice * 8) & 1UL << 63);
        g.Msi(bigDevice, 0);
        Assert.Equal(Lpi, g.Acknowledge(0));

        // Level-1 entry 1 is not valid: MAPD of a device behind it is a command error, ignored.
        g.Mapd(8192 + 5, 1, GuestDriver.Itts);
        Assert.Equal(g.ItsRead(GuestDriver.GitsCwriter), g.ItsRead(GuestDriver.GitsCreadr));
        Assert.True(g.Msi(8192 + 5, 0));
        Assert.Equal(0UL, g.Read64(GuestDriver.DeviceTable + 8));
    }

    [Fact]
    public void RegistersReadBackWhatLinuxProgramsAndAdvertiseWhatItNeeds()
    {
        using var g = new GuestDriver();
        ulong typer = g.ItsRead(GuestDriver.GitsTyper);
        Assert.Equal(1UL, typer & 1);                 // Physical
        Assert.Equal(7UL, typer >> 4 & 0xF);          // ITT_entry_size: 8 bytes
        Assert.Equal(15UL, typer >> 8 & 0x1F);        // 16 EventID bits
        Assert.Equal(16UL, typer >> 13 & 0x1F);       // 17 DeviceID bits: PCI requester IDs, then platform devices
        Assert.Equal(0UL, typer >> 19 & 1);           // PTA = 0: targets are processor numbers
        Assert.Equal(0UL, typer >> 24 & 0xFF);        // HCC = 0: collections live in the collection table

        // Linux's its_setup_baser fails the ITS if a value "doesn't stick".
        ulong baser0 = g.ItsRead(GuestDriver.GitsBaser);
        Assert.Equal(1UL, baser0 >> 56 & 7);          // Type: devices
        Assert.Equal(7UL, baser0 >> 48 & 0x1F);       // Entry_Size − 1
        Assert.Equal(1UL << 63 | 1UL << 56 | 7UL << 48 | GuestDriver.DeviceTable | 2UL << 8 | 1UL << 10 | 7, baser0);
        Assert.Equal(4UL, g.ItsRead(GuestDriver.GitsBaser + 8) >> 56 & 7); // Type: collections
        g.ItsWrite(GuestDriver.GitsBaser + 16, ulong.MaxValue);
        Assert.Equal(0UL, g.ItsRead(GuestDriver.GitsBaser + 16)); // BASER2: unimplemented

        Assert.Equal(1UL << 63 | GuestDriver.CommandQueue | 1UL << 10 | 15, g.ItsRead(GuestDriver.GitsCbaser));
        g.ItsWrite(GuestDriver.GitsBaser, 0);          // while enabled: ignored, translations keep working
        Assert.Equal(baser0, g.ItsRead(GuestDriver.GitsBaser));

        Assert.Equal(1UL, g.ItsRead(GuestDriver.GitsCtlr, 4));  // Enabled, not quiescent
        g.ItsWrite(GuestDriver.GitsCtlr, 0, size: 4);
        Assert.Equal(1UL << 31, g.ItsRead(GuestDriver.GitsCtlr, 4));
        Assert.Equal(0x30UL, g.ItsRead(0xFFE8, 4) & 0xF0); // GITS_PIDR2.ArchRev = GICv3

        // Page size and indirection probing, while disabled.
        g.ItsWrite(GuestDriver.GitsBaser, 1UL << 62 | 1UL << 8);
        Assert.Equal(1UL << 62 | 1UL << 56 | 7UL << 48 | 1UL << 8, g.ItsRead(GuestDriver.GitsBaser));
        g.ItsWrite(GuestDriver.GitsBaser + 4, 0x8000_0000, size: 4); // 32-bit access to the upper half
        Assert.Equal(1UL, g.ItsRead(GuestDriver.GitsBaser + 4, 4) >> 31);
    }

    [Fact]
    public void BadCommandsAreIgnoredAndTheQueueGoesOn()
    {
        using var g = new GuestDriver();
        g.MapCollectionPerCpu();
        g.Send(0x29);                                              // VMAPP: no virtual LPIs here
        g.Send(0xFF);                                              // no such command
        g.Mapc(0, 7);                                              // no CPU 7: collection 0 keeps CPU 0
        g.Mapc(0xFFFF, 0);                                         // beyond a one-page collection table
        g.Mapd(0x1_0000 - 1, 33, GuestDriver.Itts);                // more EventID bits than GITS_TYPER.IDbits
        g.Mapti(Device, 0, Lpi, 0);                                // unmapped device
        g.Mapd(Device, 1, GuestDriver.Itts);
        g.Mapti(Device, 2, Lpi, 0);                                // event beyond the ITT
        g.Mapti(Device, 0, 8191, 0);                               // not an LPI
        g.Mapti(Device, 0, Lpi, 0x8000);                           // ICID beyond the table
        g.Movi(Device, 1, 0);                                      // unmapped event
        g.Movall(0, 9);
        g.Sync(5);
        g.Mapd(Device, 1, 0x7FF0_0000_0000);                       // ITT outside RAM: accepted, unusable
        g.Mapti(Device, 0, Lpi, 0);                                // its entry cannot be written
        g.Mapd(Device, 1, GuestDriver.Itts);

        Assert.Equal(g.ItsRead(GuestDriver.GitsCwriter), g.ItsRead(GuestDriver.GitsCreadr)); // not stalled
        g.Mapti(Device, 0, Lpi, 0);                                // a good command afterwards still works
        g.ConfigureLpi(Device, 0, Lpi, enable: true);
        g.Msi(Device, 0);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void UntranslatableMsisAreDropped()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 2, events: 2, firstLpi: Lpi, icid: 0);
        g.Mapd(Device + 1, 2, GuestDriver.Itts + 0x10000);
        g.Mapti(Device + 1, 0, Lpi + 9, icid: 5); // collection 5 is never mapped

        Assert.True(g.Msi(0x77, 0));          // unmapped device
        Assert.True(g.Msi(Device, 3));        // mapped size, but no ITT entry
        Assert.True(g.Msi(Device, 4));        // beyond the device's EventID range
        Assert.True(g.Msi(0xFFFF_FFFF, 0));   // beyond the device table
        Assert.True(g.Msi(Device + 1, 0));    // unmapped collection
        Assert.False(g.Its.Deliver(GuestDriver.ItsBase + 0x40, 0, Device)); // not the doorbell

        Assert.False(g.Outputs[0].Level);
        Assert.False(g.Outputs[1].Level);
        Assert.Equal(1023, g.Acknowledge(0));
    }

    [Fact]
    public void DisabledItsNeitherTranslatesNorRunsCommandsUntilEnabled()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        g.ItsWrite(GuestDriver.GitsCtlr, 0, size: 4);
        g.Msi(Device, 0);
        Assert.False(g.Outputs[0].Level);

        g.Int(Device, 0);
        Assert.False(g.Outputs[0].Level);
        Assert.NotEqual(g.ItsRead(GuestDriver.GitsCwriter), g.ItsRead(GuestDriver.GitsCreadr));
        g.ItsWrite(GuestDriver.GitsCtlr, 1, size: 4);
        Assert.True(g.Outputs[0].Level);
    }

    [Fact]
    public void QueueOutsideRamStallsUntilRetried()
    {
        using var g = new GuestDriver();
        g.ItsWrite(GuestDriver.GitsCtlr, 0, size: 4);
        g.ItsWrite(GuestDriver.GitsCbaser, 1UL << 63 | 0x7FF0_0000_0000 | 15); // not RAM
        g.ItsWrite(GuestDriver.GitsCtlr, 1, size: 4);
        g.ItsWrite(GuestDriver.GitsCwriter, 0x40);
        Assert.Equal(1UL, g.ItsRead(GuestDriver.GitsCreadr)); // offset 0, Stalled

        // A new queue, and the driver starts over from offset 0.
        g.ItsWrite(GuestDriver.GitsCtlr, 0, size: 4);
        g.ItsWrite(GuestDriver.GitsCbaser, 1UL << 63 | GuestDriver.CommandQueue | 15);
        Assert.Equal(0UL, g.ItsRead(GuestDriver.GitsCreadr));
        g.ItsWrite(GuestDriver.GitsCwriter, 0);
        g.ItsWrite(GuestDriver.GitsCtlr, 1, size: 4);
        g.AssertAnMsiGoesThrough(Device, Lpi, cpu: 1);
    }

    [Fact]
    public void CwriterBeyondTheQueueStallsAndRetryResumes()
    {
        using var g = new GuestDriver();
        g.ItsWrite(GuestDriver.GitsCwriter, GuestDriver.QueueBytes + 0x20);
        Assert.Equal(1UL, g.ItsRead(GuestDriver.GitsCreadr) & 1);
        g.ItsWrite(GuestDriver.GitsCwriter, 0 | 1);               // Retry, with a sane CWRITER
        Assert.Equal(0UL, g.ItsRead(GuestDriver.GitsCreadr));
        g.MapCollectionPerCpu();
        Assert.Equal(g.ItsRead(GuestDriver.GitsCwriter), g.ItsRead(GuestDriver.GitsCreadr));
    }

    [Fact]
    public void CommandQueueWrapsAroundItsEnd()
    {
        using var g = new GuestDriver();
        for (ulong i = 0; i < GuestDriver.QueueBytes / 32 + 10; i++) g.Sync(0);
        Assert.Equal(10UL * 32, g.ItsRead(GuestDriver.GitsCreadr));
        g.AssertAnMsiGoesThrough(Device, Lpi, cpu: 1);
    }

    [Fact]
    public void AFullQueueRunsAFewCommandsPerAccessAsTheDriverPollsCreadr()
    {
        using var g = GuestDriver.WithDevice(Device, eventBits: 1, events: 1, firstLpi: Lpi, icid: 0);
        // 1,000 SYNCs and an INT, published with one CWRITER write: no single access may run them all.
        ulong start = g.ItsRead(GuestDriver.GitsCwriter), at = start;
        for (int i = 0; i <= 1000; i++, at = (at + 32) % GuestDriver.QueueBytes)
        {
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at, i < 1000 ? 0x05UL : 0x03UL | (ulong)Device << 32);
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 8, 0);
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 16, 0);
            g.Memory.WriteUInt64(GuestDriver.CommandQueue + at + 24, 0);
        }
        g.ItsWrite(GuestDriver.GitsCwriter, at);
        Assert.False(g.Outputs[0].Level);

        int polls = 1;
        ulong creadr = g.ItsRead(GuestDriver.GitsCreadr);
        Assert.Equal((start + 2 * GicIts.CommandsPerAccess * 32) % GuestDriver.QueueBytes, creadr);
        for (; creadr != at; polls++) creadr = g.ItsRead(GuestDriver.GitsCreadr);

        Assert.Equal((1001 + GicIts.CommandsPerAccess - 1) / GicIts.CommandsPerAccess - 1, polls);
        Assert.True(g.Outputs[0].Level);
        Assert.Equal(Lpi, g.Acknowledge(0));
    }

    [Fact]
    public void HostileRegisterAndCommandValuesNeverThrow()
    {
        using var g = new GuestDriver();
        var random = new Random(1234);
        Span<byte> command = stackalloc byte[32];
        for (int i = 0; i < 20_000; i++)
        {
            ulong offset = (ulong)random.Next(0, 0x200) & ~7UL;
            ulong value = (ulong)random.NextInt64() ^ (ulong)random.NextInt64() << 1;
            switch (random.Next(6))
            {
                case 0: g.Its.Write(offset, 8, value); break;
                case 1: g.Its.Read(offset, 4, out _); break;
                case 2: g.Its.Deliver(GuestDriver.ItsBase + GicIts.TranslaterOffset, (uint)value, (uint)(value >> 40)); break;
                default:
                    random.NextBytes(command);
                    command[0] = (byte)random.Next(0, 0x10);
                    g.Memory.Write(GuestDriver.CommandQueue + (ulong)random.Next(0, 2048) * 32, command);
                    g.Its.Write(GuestDriver.GitsCwriter, 8, (ulong)random.Next(0, 2048) * 32 | (uint)random.Next(2));
                    break;
            }
            g.Acknowledge(i & 1);
        }
    }

    [Fact]
    public void MsisFromDeviceThreadsAreAllTakenByTheCpu()
    {
        using var g = new GuestDriver(cpus: 1);
        g.MapCollectionPerCpu();
        const int devices = 4, events = 8;
        for (uint d = 0; d < devices; d++)
            g.MapDevice(d, eventBits: 3, events: events, firstLpi: Lpi + (int)d * events, icid: 0);

        var taken = new HashSet<int>();
        var senders = Enumerable.Range(0, devices).Select(d => new Thread(() =>
        {
            for (int round = 0; round < 200; round++)
                for (uint e = 0; e < events; e++) g.Msi((uint)d, e);
        })).ToList();
        senders.ForEach(t => t.Start());
        while (senders.Any(t => t.IsAlive) || g.Outputs[0].Level)
        {
            int intid = g.Acknowledge(0);
            if (intid == 1023) continue;
            taken.Add(intid);
            g.EndOfInterrupt(0, intid);
        }
        Assert.Equal(Enumerable.Range(Lpi, devices * events), taken.Order());
    }
}
