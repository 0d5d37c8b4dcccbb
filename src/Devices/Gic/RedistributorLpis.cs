using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Devices.Gic;

/// <summary>
/// The physical LPIs of one redistributor: GICR_PROPBASER and GICR_PENDBASER, EnableLPIs, the cached LPI
/// configuration table and the pending LPIs. All of it is guarded by the GIC lock.
/// </summary>
/// <remarks>
/// GICv3 5.1.1: a redistributor may cache configuration, so a change in memory takes effect only after an
/// INV, INVALL, GICR_INVLPIR or GICR_INVALLR; this model reads the whole table when LPIs are enabled and the
/// affected bytes on each invalidation. Pending state lives here, not in the pending table: EnableLPIs
/// cannot be cleared once set (GICR_CTLR.CES = 0), and the table is only architecturally meaningful while
/// LPIs are disabled, so it is read once (unless PTZ said it is zero) and never written back.
/// </remarks>
internal sealed class RedistributorLpis(IGuestMemory memory, int cpu)
{
    public const int FirstLpi = 8192;
    /// <summary>INTIDs have 16 bits (GICD_TYPER.IDbits = 15).</summary>
    public const int IdBits = 16;
    public const int LpiLimit = 1 << IdBits; // exclusive

    private const byte EnableBit = 1;
    private const ulong PropWritable = 0x070F_FFFF_FFFF_FF9FUL;  // OuterCache, PA[51:12], Shareability, InnerCache, IDbits
    private const ulong PendWritable = 0x070F_FFFF_FFFF_0F80UL;  // OuterCache, PA[51:16], Shareability, InnerCache
    private const ulong Ptz = 1UL << 62;

    public bool Enabled { get; private set; }
    public ulong PropBaser { get; private set; }
    public ulong PendBaser { get; private set; }

    private byte[] config = [];
    /// <summary>The pending LPIs; a handful at a time, so a scan is cheaper than a bitmap of 57,344.</summary>
    private readonly HashSet<int> pending = [];

    /// <summary>LPIs this redistributor accepts: 8192 up to what GICR_PROPBASER.IDbits allows.</summary>
    public int Limit => FirstLpi + config.Length;

    public void WritePropBaser(ulong value)
    {
        // GICv3 12.11.30: writes while EnableLPIs = 1 are UNPREDICTABLE; ignoring them keeps the cache coherent.
        if (!Enabled) PropBaser = value & PropWritable;
    }

    public void WritePendBaser(ulong value)
    {
        if (!Enabled) PendBaser = value & (PendWritable | Ptz);
    }

    public ulong ReadPendBaser() => PendBaser & ~Ptz; // PTZ is write-only in effect: it reads as zero

    public void Enable()
    {
        if (Enabled) return;
        Enabled = true;
        int bits = (int)(PropBaser & 0x1F) + 1;
        if (bits < 14)
        {
            Log.Once("gicr-propbaser-idbits", "GIC redistributor: LPIs enabled with GICR_PROPBASER.IDbits below 13: no LPIs");
            return;
        }
        config = new byte[(1 << Math.Min(bits, IdBits)) - FirstLpi];
        ReloadAll();
        if ((PendBaser & Ptz) == 0) LoadPendingTable();
    }

    private ulong PropTable => PropBaser & 0xF_FFFF_FFFF_F000UL;
    private ulong PendTable => PendBaser & 0xF_FFFF_FFFF_0000UL;

    /// <summary>Re-reads the whole configuration table (INVALL, GICR_INVALLR).</summary>
    public void ReloadAll()
    {
        if (config.Length == 0) return;
        if (memory.Read(PropTable, config) != GuestMemoryStatus.Ok)
        {
            Array.Clear(config);
            Log.Once("gicr-propbase-unreadable", $"GIC redistributor {cpu}: LPI configuration table at 0x{PropTable:x} is not guest RAM: all LPIs disabled");
        }
    }

    /// <summary>Re-reads one LPI's configuration byte (INV, GICR_INVLPIR).</summary>
    public void Reload(int intid)
    {
        if (intid < FirstLpi || intid >= Limit) return;
        int i = intid - FirstLpi;
        if (memory.Read(PropTable + (ulong)i, config.AsSpan(i, 1)) != GuestMemoryStatus.Ok)
        {
            config[i] = 0;
            Log.Once("gicr-propbase-unreadable", $"GIC redistributor {cpu}: LPI configuration table at 0x{PropTable:x} is not guest RAM: all LPIs disabled");
        }
    }

    private void LoadPendingTable()
    {
        // One bit per INTID; the first 1 KiB covers INTIDs below 8192 and is IMPLEMENTATION DEFINED.
        var bits = new byte[config.Length / 8];
        if (memory.Read(PendTable + FirstLpi / 8, bits) != GuestMemoryStatus.Ok)
        {
            Log.Once("gicr-pendbase-unreadable", $"GIC redistributor {cpu}: LPI pending table at 0x{PendTable:x} is not guest RAM: taken as empty");
            return;
        }
        for (int i = 0; i < bits.Length; i++)
            for (int b = 0; b < 8 && bits[i] != 0; b++)
                if ((bits[i] >> b & 1) != 0) pending.Add(FirstLpi + 8 * i + b);
    }

    /// <summary>Makes <paramref name="intid"/> pending; false when this redistributor cannot hold it.</summary>
    public bool SetPending(int intid)
    {
        if (!Enabled || intid < FirstLpi || intid >= Limit) return false;
        pending.Add(intid);
        return true;
    }

    public bool ClearPending(int intid) => pending.Remove(intid);

    public bool IsPending(int intid) => pending.Contains(intid);

    /// <summary>Moves every pending LPI to <paramref name="to"/> (MOVALL); those it cannot hold are dropped.</summary>
    public void MoveAllTo(RedistributorLpis to)
    {
        foreach (int intid in pending) to.SetPending(intid);
        pending.Clear();
    }

    /// <summary>The highest-priority pending, enabled LPI (lowest INTID among equals), or −1.</summary>
    public int HighestPending(out byte priority)
    {
        int best = -1;
        priority = GicV3.IdlePriority;
        if (pending.Count == 0) return -1;
        foreach (int intid in pending)
        {
            byte cfg = config[intid - FirstLpi];
            if ((cfg & EnableBit) == 0) continue;
            byte p = (byte)(cfg & CpuBank.PriorityMask);
            if (best < 0 || p < priority || p == priority && intid < best)
            {
                best = intid;
                priority = p;
            }
        }
        return best;
    }
}
