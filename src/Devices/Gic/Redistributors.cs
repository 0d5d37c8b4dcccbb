using Jit.Runtime;

namespace Jit.Devices.Gic;

/// <summary>
/// The redistributors of all vCPUs as one contiguous region: 128 KiB per vCPU, an RD frame (control, TYPER,
/// WAKER) followed by an SGI frame (the banked SGI/PPI registers). No LPIs: GICR_TYPER.PLPIS = 0.
/// </summary>
public sealed class Redistributors : IMmioDevice
{
    public const ulong FrameSize = 0x20000;
    private const ulong Ctlr = 0x0, Iidr = 0x4, Typer = 0x8, Statusr = 0x10, Waker = 0x14;
    private const ulong SgiFrame = 0x10000;

    private readonly GicV3 gic;

    internal Redistributors(GicV3 gic) => this.gic = gic;

    public string Name => "gicv3-redistributors";
    public ulong WindowSize => FrameSize * (ulong)gic.CpuCount;

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
            if (reg == Typer || reg == Typer + 4)
            {
                // Affinity 0.0.0.cpu in [63:32], Processor_Number in [23:8], Last on the final frame.
                ulong typer = ((ulong)cpu << 32) | ((ulong)cpu << 8) | (cpu == gic.CpuCount - 1 ? 1UL << 4 : 0);
                value = size == 8 ? typer : reg == Typer ? (uint)typer : typer >> 32;
                return size == 8 ? reg == Typer : size == 4;
            }
            if (size != 4) return false;
            var bank = gic.Cpus[cpu];
            value = reg switch
            {
                Ctlr or Statusr => 0,
                Iidr => 0x43B,
                Waker => bank.ProcessorSleep ? 6UL : 0, // ProcessorSleep, and ChildrenAsleep follows it
                _ => reg >= 0xFFD0 ? Distributor.IdRegister(reg) : Unmodelled(reg),
            };
            return true;
        }
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
            if (size != 4) return false;
            if (reg == Waker) gic.Cpus[cpu].ProcessorSleep = (value & 2) != 0;
            else if (reg != Ctlr) Log.Once($"gicr-w-{reg:x}", $"GIC redistributor: write to unmodelled register at offset 0x{reg:x} ignored");
            return true;
        }
    }

    private static ulong Unmodelled(ulong reg)
    {
        Log.Once($"gicr-r-{reg:x}", $"GIC redistributor: read of unmodelled register at offset 0x{reg:x} returns 0");
        return 0;
    }
}
