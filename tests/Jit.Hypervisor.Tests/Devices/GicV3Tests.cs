using Jit.Devices.Gic;
using Jit.Runtime.Interrupts;
using Jit.Runtime.SystemRegisters;

namespace Jit.Hypervisor.Tests.Devices;

/// <summary>The GICv3 driven as Linux's driver does: distributor and redistributor MMIO, ICC_* registers.</summary>
public class GicV3Tests
{
    private sealed class Output : IInterruptLine
    {
        public bool Level;
        public void SetLevel(bool asserted) => Level = asserted;
    }

    private static int Icc(int crm, int op2, int crn = 12) => SystemRegisterFile.Key(3, 0, crn, crm, op2);
    private static readonly int Pmr = Icc(6, 0, 4), Iar1 = Icc(12, 0), Eoir1 = Icc(12, 1), Dir = Icc(11, 1);
    private static readonly int Ctlr = Icc(12, 4), Igrpen1 = Icc(12, 7), Sgi1r = Icc(11, 5), Rpr = Icc(11, 3), Hppir1 = Icc(12, 2);

    private static (GicV3, Output[]) Start(int cpus = 2)
    {
        var gic = new GicV3(cpus);
        var outputs = new Output[cpus];
        for (int i = 0; i < cpus; i++)
        {
            outputs[i] = new Output();
            gic.ConnectCpu(i, outputs[i]);
            Assert.True(gic.Redistributors.Write((ulong)i * Redistributors.FrameSize + 0x14, 4, 0)); // wake
            var cpu = gic.CpuInterface(i);
            Assert.True(cpu.Write(Pmr, 0xF0));
            Assert.True(cpu.Write(Igrpen1, 1));
        }
        Assert.True(gic.Distributor.Write(0x0, 4, 0x12)); // EnableGrp1 | ARE
        return (gic, outputs);
    }

    private static void EnableSpi(GicV3 gic, int intid, byte priority, int cpu = 0)
    {
        ulong bit = 1UL << (intid % 32);
        ulong word = (ulong)(intid / 32) * 4;
        Assert.True(gic.Distributor.Read(0x80 + word, 4, out ulong groups));
        Assert.True(gic.Distributor.Write(0x80 + word, 4, groups | bit));         // IGROUPR: Group 1
        Assert.True(gic.Distributor.Write(0x400 + (ulong)intid, 1, priority));     // IPRIORITYR (byte access)
        Assert.True(gic.Distributor.Write(0x6000 + 8 * (ulong)intid, 8, (ulong)cpu)); // IROUTER
        Assert.True(gic.Distributor.Write(0x100 + word, 4, bit));                 // ISENABLER
    }

    private static ulong Read(IGicCpuInterface cpu, int key)
    {
        Assert.True(cpu.Read(key, out ulong v));
        return v;
    }

    [Fact]
    public void LevelSpiIsAcknowledgedEndedAndRedeliveredWhileTheLineStaysHigh()
    {
        var (gic, outs) = Start();
        EnableSpi(gic, 33, 0xA0);
        var line = gic.SpiLine(33);
        var cpu = gic.CpuInterface(0);
        line.SetLevel(true);
        Assert.True(outs[0].Level);
        Assert.False(outs[1].Level);
        Assert.Equal(33UL, Read(cpu, Iar1));
        Assert.False(outs[0].Level);                  // active: not delivered again
        Assert.Equal(0xA0UL, Read(cpu, Rpr));
        Assert.True(cpu.Write(Eoir1, 33));
        Assert.True(outs[0].Level);                   // still asserted by the device
        line.SetLevel(false);
        Assert.False(outs[0].Level);
        Assert.Equal(1023UL, Read(cpu, Iar1));        // spurious
    }

    [Fact]
    public void PriorityMaskAndRunningPriorityGateDelivery()
    {
        var (gic, outs) = Start();
        var cpu = gic.CpuInterface(0);
        EnableSpi(gic, 40, 0x80);
        EnableSpi(gic, 41, 0x40);
        Assert.True(cpu.Write(Pmr, 0x80));
        gic.SpiLine(40).SetLevel(true);
        Assert.False(outs[0].Level);                  // 0x80 is not below PMR 0x80
        Assert.Equal(40UL, Read(cpu, Hppir1));
        Assert.True(cpu.Write(Pmr, 0xF0));
        Assert.True(outs[0].Level);
        Assert.Equal(40UL, Read(cpu, Iar1));
        gic.SpiLine(41).SetLevel(true);
        Assert.True(outs[0].Level);                   // 0x40 preempts the running 0x80
        Assert.Equal(41UL, Read(cpu, Iar1));
        Assert.True(cpu.Write(Eoir1, 41));
        Assert.Equal(0x80UL, Read(cpu, Rpr));
    }

    [Fact]
    public void SgiReachesOnlyTheTargetedCpu()
    {
        var (gic, outs) = Start();
        // SGI 3 enabled, Group 1, at both redistributors.
        for (ulong c = 0; c < 2; c++)
        {
            ulong sgi = c * Redistributors.FrameSize + 0x10000;
            Assert.True(gic.Redistributors.Write(sgi + 0x80, 4, 0xFFFF_FFFF));
            Assert.True(gic.Redistributors.Write(sgi + 0x100, 4, 1 << 3));
        }
        Assert.True(gic.CpuInterface(0).Write(Sgi1r, (3UL << 24) | 0b10)); // target list: CPU 1
        Assert.False(outs[0].Level);
        Assert.True(outs[1].Level);
        Assert.Equal(3UL, Read(gic.CpuInterface(1), Iar1));
    }

    [Fact]
    public void SplitEoiModeNeedsDirToDeactivate()
    {
        var (gic, outs) = Start();
        var cpu = gic.CpuInterface(0);
        Assert.True(cpu.Write(Ctlr, 2)); // EOImode = 1
        EnableSpi(gic, 50, 0x20);
        Assert.True(gic.Distributor.Write(0xC00 + 50 / 16 * 4, 4, 2UL << (2 * (50 % 16)))); // edge-triggered
        var line = gic.SpiLine(50);
        line.SetLevel(true);
        line.SetLevel(false);
        Assert.Equal(50UL, Read(cpu, Iar1));
        Assert.True(cpu.Write(Eoir1, 50));
        line.SetLevel(true);                          // a new edge while still active
        Assert.False(outs[0].Level);
        Assert.True(cpu.Write(Dir, 50));
        Assert.True(outs[0].Level);
    }

    [Fact]
    public void SpiPendingWhileDisabledIsDeliveredOnEnableAndFollowsItsRoute()
    {
        var (gic, outs) = Start();
        EnableSpi(gic, 60, 0x40);
        Assert.True(gic.Distributor.Write(0x180 + 4, 4, 1UL << (60 % 32)));   // ICENABLER: disable it again
        gic.SpiLine(60).SetLevel(true);
        Assert.False(outs[0].Level);
        Assert.True(gic.Distributor.Write(0x6000 + 8 * 60, 8, 1));            // route to vCPU 1
        Assert.True(gic.Distributor.Write(0x100 + 4, 4, 1UL << (60 % 32)));   // ISENABLER
        Assert.False(outs[0].Level);
        Assert.True(outs[1].Level);
        Assert.Equal(60UL, Read(gic.CpuInterface(1), Iar1));
    }

    [Fact]
    public void IdentificationAndMalformedAccesses()
    {
        var (gic, _) = Start(2);
        Assert.True(gic.Distributor.Read(0xFFE8, 4, out ulong pidr2));
        Assert.Equal(3UL, (pidr2 >> 4) & 0xF);
        Assert.True(gic.Distributor.Read(0x4, 4, out ulong typer));
        Assert.Equal(8UL, typer & 0x1F);              // 288 INTIDs
        Assert.True(gic.Redistributors.Read(Redistributors.FrameSize + 0x8, 8, out ulong rtyper));
        Assert.Equal(1UL, rtyper >> 32);              // affinity of vCPU 1
        Assert.Equal(1UL, (rtyper >> 4) & 1);         // Last
        Assert.False(gic.Distributor.Read(0x0, 2, out _));
        Assert.False(gic.Distributor.Write(0x100, 1, 0xFF));
    }
}
