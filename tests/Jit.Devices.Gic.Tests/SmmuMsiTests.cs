using Jit.Devices.Gic.Its;
using Jit.Devices.Smmu;
using Jit.Runtime.Memory;

namespace Jit.Devices.Gic.Tests;

/// <summary>
/// The SMMUv3's own interrupts as MSIs through this ITS, as Linux's arm-smmu-v3 sets them up when its node has an
/// msi-parent: the ITS driver maps the SMMU's DeviceID with one event per vector (event queue 0, global error 1),
/// the SMMU driver writes each vector's doorbell address and EventID into SMMU_*_IRQ_CFG0/1.
/// </summary>
public class SmmuMsiTests
{
    private const uint SmmuDeviceId = GicIts.PlatformDeviceIds;
    private const int EventQueueLpi = 8192, GlobalErrorLpi = 8193;
    private const ulong SmmuBase = 0x0900_0000;
    private const ulong StreamTable = GuestDriver.RamBase + 0x90_0000, EventQueue = GuestDriver.RamBase + 0xA0_0000,
        CommandQueue = GuestDriver.RamBase + 0xB0_0000, Level2 = GuestDriver.RamBase + 0x80_0000;

    // SMMU_* offsets (IHI 0070, 6.3).
    private const ulong Cr0 = 0x20, Cr2 = 0x2C, IrqCtrl = 0x50, GerrorIrqCfg0 = 0x68, GerrorIrqCfg1 = 0x70, StrtabBase = 0x80, StrtabBaseCfg = 0x88,
        CmdqBase = 0x90, CmdqProd = 0x98, EventqBase = 0xA0, EventqIrqCfg0 = 0xB0, EventqIrqCfg1 = 0xB8;

    private static (GuestDriver, SmmuV3) Bring()
    {
        var g = new GuestDriver(indirectDevices: true);
        g.MapCollectionPerCpu();
        g.Memory.WriteUInt64(GuestDriver.DeviceTable + SmmuDeviceId / 8192 * 8, 1UL << 63 | Level2);
        g.MapDevice(SmmuDeviceId, eventBits: 1, events: 2, EventQueueLpi, icid: 1);

        var smmu = new SmmuV3(g.Memory, SmmuBase, g.Its, SmmuDeviceId);
        void W(ulong offset, int size, ulong value) => Assert.True(smmu.Write(offset, size, value));
        W(StrtabBase, 8, StreamTable);
        W(StrtabBaseCfg, 4, 0);                                     // linear, one STE: any other StreamID is bad
        W(Cr2, 4, 2);                                               // RECINVSID: and recorded as such
        W(EventqBase, 8, EventQueue | 4);
        W(CmdqBase, 8, CommandQueue | 4);
        ulong doorbell = GuestDriver.ItsBase + GicIts.TranslaterOffset;
        W(EventqIrqCfg0, 8, doorbell);
        W(EventqIrqCfg1, 4, 0);
        W(GerrorIrqCfg0, 8, doorbell);
        W(GerrorIrqCfg1, 4, 1);
        W(IrqCtrl, 4, 1 | 4);                                       // GERROR_IRQEN, EVENTQ_IRQEN
        W(Cr0, 4, 1 | 4 | 8);                                       // SMMUEN, EVENTQEN, CMDQEN
        return (g, smmu);
    }

    [Fact]
    public void AnEventBecomesTheEventQueueLpi()
    {
        var (g, smmu) = Bring();
        using var _ = g;
        Assert.NotEqual(GuestMemoryStatus.Ok, smmu.PortFor(7).Read(0x1000, new byte[4])); // C_BAD_STREAMID
        Assert.True(g.Outputs[1].Level);
        Assert.Equal(EventQueueLpi, g.Acknowledge(1));
        Assert.Equal(0x02UL, g.Read64(EventQueue) & 0xFF);         // the record is there for the handler
    }

    [Fact]
    public void AGlobalErrorBecomesTheGlobalErrorLpi()
    {
        var (g, smmu) = Bring();
        using var _ = g;
        g.Memory.WriteUInt64(CommandQueue, 0x7F);                  // no such command: CMDQ_ERR
        Assert.True(smmu.Write(CmdqProd, 4, 1));
        Assert.Equal(GlobalErrorLpi, g.Acknowledge(1));
    }
}
