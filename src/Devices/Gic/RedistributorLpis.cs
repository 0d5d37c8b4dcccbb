using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Devices.Gic;

/// <summary>
/// An LPI configuration table (a byte per LPI from INTID 8192, priority in [7:2], enable in [0]) as
/// the redistributors cache it. GICR_TYPER.CommonLPIAff = 0 requires all redistributors to share one table,
/// so they share this cache too: an INV that reaches one redistributor serves all, and an LPI moved to another
/// CPU (MOVI, MOVALL, a remapped collection) keeps the configuration software last invalidated.
/// </summary>
internal sealed class LpiConfigurationTable(IGuestMemory memory, ulong address, int lpis)
{
    public readonly ulong Address = address;
    private readonly byte[] bytes = new byte[lpis];

    public int Count => bytes.Length;
    public byte this[int intid] => bytes[intid - RedistributorLpis.FirstLpi];

    /// <summary>Re-reads the whole table (enabling LPIs, INVALL, GICR_INVALLR).</summary>
    public void ReloadAll()
    {
        if (memory.Read(Address, bytes) != GuestMemoryStatus.Ok)
        {
            Array.Clear(bytes);
            Unreadable();
        }
    }

    /// <summary>Re-reads one LPI's byte (INV, GICR_INVLPIR).</summary>
    public void Reload(int intid)
    {
        int i = intid - RedistributorLpis.FirstLpi;
        if (i < 0 || i >= bytes.Length) return;
        if (memory.Read(Address + (ulong)i, bytes.AsSpan(i, 1)) != GuestMemoryStatus.Ok)
        {
            bytes[i] = 0;
            Unreadable();
        }
    }

    private void Unreadable() =>
        Log.Once("gicr-propbase-unreadable", $"GIC redistributor: LPI configuration table at 0x{Address:x} is not guest RAM: its LPIs are disabled");
}

/// <summary>
/// The physical LPIs of one redistributor: GICR_PROPBASER and GICR_PENDBASER, EnableLPIs, the cached LPI
/// configuration table and the pending LPIs. All of it is guarded by the GIC lock.
/// </summary>
/// <remarks>
/// A redistributor may cache configuration, so a change in memory takes effect only after an INV, INVALL,
/// GICR_INVLPIR or GICR_INVALLR; this model reads the whole table when LPIs are enabled and the affected bytes
/// on each invalidation. Pending state lives here, not in the pending table: EnableLPIs cannot be cleared once
/// set (the architecture allows it; GICR_CTLR.CES = 0 promises nothing else), and the table is only
/// architecturally meaningful while LPIs are disabled, so it is read once (unless PTZ said it is zero) and
/// never written back.
/// </remarks>
internal sealed class RedistributorLpis(GicV3 gic, IGuestMemory memory, int cpu)
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

    private LpiConfigurationTable? config;
    /// <summary>The pending LPIs; a handful at a time, so a scan is cheaper than a bitmap of 57,344.</summary>
    private readonly HashSet<int> pending = [];

    /// <summary>LPIs this redistributor accepts: 8192 up to what GICR_PROPBASER.IDbits allows.</summary>
    public int Limit => FirstLpi + (config?.Count ?? 0);

    public void WritePropBaser(ulong value)
    {
        // Writes while EnableLPIs = 1 are UNPREDICTABLE; ignoring them keeps the cache coherent.
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
        config = gic.SharedLpiConfiguration(PropTable, (1 << Math.Min(bits, IdBits)) - FirstLpi);
        config.ReloadAll();
        if ((PendBaser & Ptz) == 0) LoadPendingTable();
    }

    private ulong PropTable => PropBaser & 0xF_FFFF_FFFF_F000UL;
    private ulong PendTable => PendBaser & 0xF_FFFF_FFFF_0000UL;

    /// <summary>GICR_INVALLR: re-read the configuration table.</summary>
    public void ReloadAll() => config?.ReloadAll();

    /// <summary>GICR_INVLPIR: re-read one LPI's configuration.</summary>
    public void Reload(int intid) => config?.Reload(intid);

    private void LoadPendingTable()
    {
        // One bit per INTID; the first 1 KiB covers INTIDs below 8192 and is IMPLEMENTATION DEFINED.
        var bits = new byte[config!.Count / 8];
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
            byte cfg = config![intid];
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
