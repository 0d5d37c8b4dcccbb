using Jit.Runtime;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>The GICv3 distributor (GICD_*), 64 KiB, with affinity routing always enabled (ARE = 1, DS = 1).</summary>
[CompiledEarly]
public sealed class Distributor : IMmioDevice
{
    private const ulong Ctlr = 0x0, Typer = 0x4, Iidr = 0x8, Typer2 = 0xC, Statusr = 0x10;
    private const ulong IrouterBase = 0x6000;

    private readonly GicV3 gic;

    internal Distributor(GicV3 gic) => this.gic = gic;

    public string Name => "gicv3-distributor";
    public ulong WindowSize => 0x10000;

    public bool Read(ulong offset, int size, out ulong value)
    {
        lock (gic.Gate)
        {
            value = 0;
            if (offset >= IrouterBase && offset < IrouterBase + 8UL * GicV3.MaxIntId)
            {
                int intid = (int)((offset - IrouterBase) / 8);
                if (intid < 32) return size is 4 or 8;
                return Register64.Read(gic.Spis[intid - 32].RouterValue, offset & 7, size, out value);
            }
            if (InterruptRegisters.Contains(offset))
                return InterruptRegisters.Read(gic, 0, 32, GicV3.MaxIntId, offset, size, out value);
            if (size != 4) return false;
            value = offset switch
            {
                // EnableGrp0, EnableGrp1, ARE (RAO), DS (RAO); RWP never set: writes take effect at once.
                Ctlr => (gic.EnableGroup0 ? 1UL : 0) | (gic.EnableGroup1 ? 2UL : 0) | (1UL << 4) | (1UL << 6),
                // ITLinesNumber, IDbits, No1N (no 1-of-N routing), no security. With LPIs: LPIS, 16-bit INTIDs
                // and num_LPIs = 0 (as many as IDbits allows); without: 10-bit INTIDs.
                Typer => (ulong)(GicV3.MaxIntId / 32 - 1) | (1UL << 25)
                    | (gic.LpisSupported ? (1UL << 17) | ((ulong)(RedistributorLpis.IdBits - 1) << 19) : 9UL << 19),
                Iidr => 0x43B,
                Typer2 or Statusr => 0,
                _ => IdRegister(offset),
            };
            return true;
        }
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        lock (gic.Gate)
        {
            if (offset >= IrouterBase && offset < IrouterBase + 8UL * GicV3.MaxIntId)
            {
                int intid = (int)((offset - IrouterBase) / 8);
                if (size is not (4 or 8)) return false;
                if (intid < 32) return true;
                ref InterruptState irq = ref gic.Spis[intid - 32];
                if (!Register64.Merge(irq.RouterValue, offset & 7, size, value, out ulong router)) return false;
                irq.RouterValue = router & 0xFF_8000_FFFF_FFUL;
                irq.Route = RouteFor(irq.RouterValue);
                gic.SpiEnablesOrRoutesChanged();
                gic.UpdateAll();
                return true;
            }
            if (InterruptRegisters.Contains(offset))
                return InterruptRegisters.Write(gic, 0, 32, GicV3.MaxIntId, offset, size, value);
            if (size != 4) return false;
            if (offset == Ctlr)
            {
                gic.EnableGroup0 = (value & 1) != 0;
                gic.EnableGroup1 = (value & 2) != 0;
                gic.UpdateAll();
                return true;
            }
            Log.Once($"gicd-w-{offset:x}", $"GIC distributor: write to unmodelled register at offset 0x{offset:x} ignored");
            return true;
        }
    }

    /// <summary>IROUTER: Interrupt_Routing_Mode (bit 31) = 1 lets any CPU take it, which here is vCPU 0.</summary>
    private int RouteFor(ulong router)
    {
        if (((router >> 31) & 1) != 0) return 0;
        ulong aff0 = router & 0xFF, upper = (router >> 8) & 0xFFFF | ((router >> 32) & 0xFF) << 16;
        return upper == 0 && aff0 < (ulong)gic.CpuCount ? (int)aff0 : -1;
    }

    internal static ulong IdRegister(ulong offset)
    {
        ulong frame = offset & 0xFFFF;
        return frame switch
        {
            0xFFD0 => 0x44,          // PIDR4
            0xFFE0 => 0x92,          // PIDR0
            0xFFE4 => 0xB4,          // PIDR1
            0xFFE8 => 0x3B,          // PIDR2: ArchRev 3 (GICv3)
            0xFFF0 => 0x0D, 0xFFF4 => 0xF0, 0xFFF8 => 0x05, 0xFFFC => 0xB1,
            _ => LogUnknown(offset),
        };
    }

    private static ulong LogUnknown(ulong offset)
    {
        Log.Once($"gic-r-{offset:x}", $"GIC: read of unmodelled register at offset 0x{offset:x} returns 0");
        return 0;
    }
}
