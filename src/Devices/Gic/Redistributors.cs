using Jit.Runtime;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>
/// The redistributors of all vCPUs as one contiguous region: 128 KiB per vCPU, an RD frame (control, TYPER,
/// WAKER, the LPI registers) followed by an SGI frame (the banked SGI/PPI registers). LPIs exist when the GIC
/// was given guest memory (GICR_TYPER.PLPIS); then GICR_TYPER.DirectLPI = 1 too, since GICR_SETLPIR,
/// GICR_CLRLPIR, GICR_INVLPIR, GICR_INVALLR and GICR_SYNCR are implemented.
/// </summary>
[CompiledEarly]
public sealed class Redistributors : IMmioDevice
{
    public const ulong FrameSize = 0x20000;
    private const ulong Ctlr = 0x0, Iidr = 0x4, Typer = 0x8, Statusr = 0x10, Waker = 0x14;
    private const ulong SetLpir = 0x40, ClrLpir = 0x48, PropBaser = 0x70, PendBaser = 0x78;
    private const ulong InvLpir = 0xA0, InvAllr = 0xB0, Syncr = 0xC0;
    private const ulong SgiFrame = 0x10000;
    private const ulong EnableLpis = 1;

    private readonly GicV3 gic;

    internal Redistributors(GicV3 gic) => this.gic = gic;

    public string Name => "gicv3-redistributors";
    public ulong WindowSize => FrameSize * (ulong)gic.CpuCount;

    private static bool IsRegister64(ulong reg) =>
        reg is Typer or SetLpir or ClrLpir or PropBaser or PendBaser or InvLpir or InvAllr;

    public bool Read(ulong offset, int size, out ulong value)
    {
        int cpu = (int)(offset / FrameSize);
        ulong reg = offset % FrameSize;
        lock (gic.Gate)
        {
            value = 0;
            if (reg >= SgiFrame)
            {
                ulong sgi = reg - SgiFrame;
                if (InterruptRegisters.Contains(sgi)) return InterruptRegisters.Read(gic, cpu, 0, 32, sgi, size, out value);
                if (size != 4) return false;
                value = sgi >= 0xFFD0 ? Distributor.IdRegister(sgi) : 0;
                return true;
            }
            var bank = gic.Cpus[cpu];
            if (IsRegister64(reg & ~7UL)) return Register64.Read(Read64(bank, reg & ~7UL), reg & 7, size, out value);
            if (size != 4) return false;
            value = reg switch
            {
                Ctlr => bank.Lpis is { Enabled: true } ? EnableLpis : 0, // sticky once set; CES = 0
                Statusr or Syncr => 0,                                   // SYNCR.Busy: invalidations finish at once
                Iidr => 0x43B,
                Waker => bank.ProcessorSleep ? 6UL : 0, // ProcessorSleep, and ChildrenAsleep follows it
                _ => reg >= 0xFFD0 ? Distributor.IdRegister(reg) : Unmodelled(reg),
            };
            return true;
        }
    }

    private ulong Read64(CpuBank bank, ulong reg)
    {
        int cpu = bank.Index;
        return reg switch
        {
            // Affinity 0.0.0.cpu in [63:32], Processor_Number in [23:8], Last on the final frame, PLPIS and
            // DirectLPI with LPIs; CommonLPIAff = 0: all redistributors may share one configuration table.
            Typer => ((ulong)cpu << 32) | ((ulong)cpu << 8) | (cpu == gic.CpuCount - 1 ? 1UL << 4 : 0)
                | (bank.Lpis is null ? 0UL : 0b1001UL),
            PropBaser => bank.Lpis?.PropBaser ?? 0,
            PendBaser => bank.Lpis?.ReadPendBaser() ?? 0,
            _ => 0, // SETLPIR, CLRLPIR, INVLPIR, INVALLR are write-only
        };
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        int cpu = (int)(offset / FrameSize);
        ulong reg = offset % FrameSize;
        lock (gic.Gate)
        {
            if (reg >= SgiFrame)
            {
                ulong sgi = reg - SgiFrame;
                if (InterruptRegisters.Contains(sgi)) return InterruptRegisters.Write(gic, cpu, 0, 32, sgi, size, value);
                return size == 4;
            }
            var bank = gic.Cpus[cpu];
            if (IsRegister64(reg & ~7UL))
            {
                if (!Register64.Merge(Read64(bank, reg & ~7UL), reg & 7, size, value, out ulong merged)) return false;
                if (bank.Lpis is { } lpis) Write64(lpis, reg & ~7UL, merged, lowHalf: (reg & 4) == 0);
                return true;
            }
            if (size != 4) return false;
            if (reg == Waker) bank.ProcessorSleep = (value & 2) != 0;
            else if (reg == Ctlr)
            {
                if ((value & EnableLpis) != 0 && bank.Lpis is { } lpis)
                {
                    lpis.Enable();
                    bank.Update();
                }
            }
            else if (reg != Syncr && reg != Statusr)
                Log.Once($"gicr-w-{reg:x}", $"GIC redistributor: write to unmodelled register at offset 0x{reg:x} ignored");
            return true;
        }
    }

    private void Write64(RedistributorLpis lpis, ulong reg, ulong value, bool lowHalf)
    {
        // The direct-LPI registers take their INTID from bits [31:0]; a write to the upper half alone does nothing.
        int intid = (int)Math.Min((uint)value, int.MaxValue);
        switch (reg)
        {
            case PropBaser: lpis.WritePropBaser(value); return;
            case PendBaser: lpis.WritePendBaser(value); return;
            case SetLpir when lowHalf: lpis.SetPending(intid); break;
            case ClrLpir when lowHalf: lpis.ClearPending(intid); break;
            case InvLpir when lowHalf: lpis.Reload(intid); break;
            case InvAllr when lowHalf: lpis.ReloadAll(); break;
            default: return;
        }
        gic.UpdateAll(); // configuration is shared by all redistributors: an invalidation may concern any CPU
    }

    private static ulong Unmodelled(ulong reg)
    {
        Log.Once($"gicr-r-{reg:x}", $"GIC redistributor: read of unmodelled register at offset 0x{reg:x} returns 0");
        return 0;
    }
}
