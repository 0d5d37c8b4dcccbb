using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>
/// The per-interrupt register arrays the distributor and each redistributor's SGI frame share in layout:
/// IGROUPR, ISENABLER/ICENABLER, ISPENDR/ICPENDR, ISACTIVER/ICACTIVER (a bit each), IPRIORITYR (a byte
/// each) and ICFGR (two bits each). <paramref name="first"/>/<paramref name="last"/> bound the INTIDs the
/// frame owns; the rest read as zero and ignore writes.
/// </summary>
[CompiledEarly]
internal static class InterruptRegisters
{
    public static bool Contains(ulong offset) => offset is >= 0x80 and < 0x400 || offset is >= 0x400 and < 0x800 || offset is >= 0xC00 and < 0xD00;

    public static bool Read(GicV3 gic, int cpu, int first, int last, ulong offset, int size, out ulong value)
    {
        value = 0;
        if (offset is >= 0x400 and < 0x800)
        {
            if (size is not (1 or 4)) return false;
            for (int b = 0; b < size; b++)
            {
                int intid = (int)(offset - 0x400) + b;
                if (intid >= first && intid < last) value |= (ulong)gic.State(cpu, intid).Priority << (8 * b);
            }
            return true;
        }
        if (size != 4) return false;
        if (offset >= 0xC00)
        {
            int firstId = (int)(offset - 0xC00) * 4;
            for (int i = 0; i < 16; i++)
            {
                int intid = firstId + i;
                if (intid >= first && intid < last && gic.State(cpu, intid).Edge) value |= 2UL << (2 * i);
            }
            return true;
        }
        int kind = (int)(offset >> 7);          // 1 group, 2/3 enable, 4/5 pending, 6/7 active
        int baseId = (int)(offset & 0x7F) * 8;
        for (int i = 0; i < 32; i++)
        {
            int intid = baseId + i;
            if (intid < first || intid >= last) continue;
            ref InterruptState irq = ref gic.State(cpu, intid);
            bool bit = kind switch { 1 => irq.Group1, 2 or 3 => irq.Enabled, 4 or 5 => irq.Pending, _ => irq.Active };
            if (bit) value |= 1UL << i;
        }
        return true;
    }

    public static bool Write(GicV3 gic, int cpu, int first, int last, ulong offset, int size, ulong value)
    {
        if (offset is >= 0x400 and < 0x800)
        {
            if (size is not (1 or 4)) return false;
            for (int b = 0; b < size; b++)
            {
                int intid = (int)(offset - 0x400) + b;
                if (intid >= first && intid < last) gic.State(cpu, intid).Priority = (byte)((value >> (8 * b)) & CpuBank.PriorityMask);
            }
            gic.UpdateAll();
            return true;
        }
        if (size != 4) return false;
        if (offset >= 0xC00)
        {
            int firstId = (int)(offset - 0xC00) * 4;
            for (int i = 0; i < 16; i++)
            {
                int intid = firstId + i;
                if (intid < first || intid >= last || intid < 16) continue; // SGIs are always edge-triggered
                gic.State(cpu, intid).Edge = ((value >> (2 * i + 1)) & 1) != 0;
            }
            gic.UpdateAll();
            return true;
        }
        int kind = (int)(offset >> 7);
        int baseId = (int)(offset & 0x7F) * 8;
        if (kind is 2 or 3 && baseId + 31 >= 32 && last > 32) gic.SpiEnablesOrRoutesChanged();
        for (int i = 0; i < 32; i++)
        {
            int intid = baseId + i;
            if (intid < first || intid >= last) continue;
            bool bit = ((value >> i) & 1) != 0;
            ref InterruptState irq = ref gic.State(cpu, intid);
            switch (kind)
            {
                case 1: irq.Group1 = bit; break;
                case 2: if (bit) irq.Enabled = true; break;
                case 3: if (bit) irq.Enabled = false; break;
                case 4: if (bit) irq.PendingLatch = true; break;
                case 5: if (bit) irq.PendingLatch = false; break;
                case 6: if (bit) irq.Active = true; break;
                case 7: if (bit) irq.Active = false; break;
            }
        }
        gic.UpdateAll();
        return true;
    }
}
