using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Runtime.Startup;

namespace Jit.Devices.Gic;

/// <summary>
/// An LPI configuration table (a byte per LPI from INTID 8192, priority in [7:2], enable in [0]) as
/// the redistributors cache it. GICR_TYPER.CommonLPIAff = 0 requires all redistributors to share one table,
/// so they share this cache too: an INV that reaches one redistributor serves all, and an LPI moved to another
/// CPU (MOVI, MOVALL, a remapped collection) keeps the configuration software last invalidated.
/// </summary>
[CompiledEarly]
internal sealed class LpiConfigurationTable(IGuestMemory memory, ulong address, int lpis)
{
    public readonly ulong Address = address;
    private readonly byte[] bytes = new byte[lpis];
    private readonly byte[] fresh = new byte[lpis];

    public int Count => bytes.Length;
    public byte this[int intid] => bytes[intid - RedistributorLpis.FirstLpi];

    /// <summary>Changes whenever a byte of the cached table does: what was derived from an older version is stale.</summary>
    public int Version { get; private set; }

    /// <summary>Re-reads the whole table (enabling LPIs, INVALL, GICR_INVALLR).</summary>
    public void ReloadAll()
    {
        if (memory.Read(Address, fresh) != GuestMemoryStatus.Ok)
        {
            Array.Clear(fresh);
            Unreadable();
        }
        // Most invalidations change nothing; those keep the redistributors' derived state.
        if (fresh.AsSpan().SequenceEqual(bytes)) return;
        fresh.CopyTo(bytes, 0);
        Version++;
    }

    /// <summary>Re-reads one LPI's byte (INV, GICR_INVLPIR).</summary>
    public void Reload(int intid)
    {
        int i = intid - RedistributorLpis.FirstLpi;
        if (i < 0 || i >= bytes.Length) return;
        Span<byte> b = stackalloc byte[1];
        if (memory.Read(Address + (ulong)i, b) != GuestMemoryStatus.Ok)
        {
            b[0] = 0;
            Unreadable();
        }
        if (b[0] == bytes[i]) return;
        bytes[i] = b[0];
        Version++;
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
[CompiledEarly]
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
    private readonly LpiSet pending = new();

    // What HighestPending found last (an INTID, or -1 for none), valid while the configuration table is at
    // bestVersion and no LPI left the pending set that could have been it; a newly pending LPI that beats it
    // replaces it. Every delivery decision asks for it, and a guest can make all 57,344 LPIs pending: without
    // this each INV, INVALL, MSI or IAR read would scan them all.
    private const int NotKnown = -2;
    private int best = NotKnown, bestVersion;
    private byte bestPriority;

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
        best = NotKnown;
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
        if (pending.Add(intid) && best != NotKnown && config!.Version == bestVersion)
        {
            byte cfg = config[intid];
            byte p = (byte)(cfg & CpuBank.PriorityMask);
            if ((cfg & EnableBit) != 0 && (best < 0 || p < bestPriority || p == bestPriority && intid < best))
            {
                best = intid;
                bestPriority = p;
            }
        }
        return true;
    }

    public bool ClearPending(int intid)
    {
        if (!pending.Remove(intid)) return false;
        if (intid == best) best = NotKnown;
        return true;
    }

    /// <summary>Moves every pending LPI to <paramref name="to"/> (MOVALL); those it cannot hold are dropped.</summary>
    public void MoveAllTo(RedistributorLpis to)
    {
        foreach (int intid in pending) to.SetPending(intid);
        pending.Clear();
        best = NotKnown;
    }

    /// <summary>The highest-priority pending, enabled LPI (lowest INTID among equals), or −1.</summary>
    public int HighestPending(out byte priority)
    {
        priority = GicV3.IdlePriority;
        if (pending.Count == 0) return -1;
        if (best != NotKnown && config!.Version == bestVersion)
        {
            if (best >= 0) priority = bestPriority;
            return best;
        }
        int found = -1;
        foreach (int intid in pending)
        {
            byte cfg = config![intid];
            if ((cfg & EnableBit) == 0) continue;
            byte p = (byte)(cfg & CpuBank.PriorityMask);
            if (found < 0 || p < priority || p == priority && intid < found)
            {
                found = intid;
                priority = p;
            }
        }
        best = found;
        bestPriority = priority;
        bestVersion = config!.Version;
        return found;
    }
}

/// <summary>
/// A set of LPIs as a bitmap, one bit per INTID from 8192, with a summary bit per 64-bit word that has any set:
/// a scan over a handful of pending LPIs skips the empty words, and one over all 57,344 reads bits, not hash
/// buckets. Enumerates in ascending INTID order.
/// </summary>
internal sealed class LpiSet
{
    private const int Lpis = RedistributorLpis.LpiLimit - RedistributorLpis.FirstLpi;
    private readonly ulong[] words = new ulong[Lpis / 64];
    private readonly ulong[] summary = new ulong[Lpis / 64 / 64];

    public int Count { get; private set; }

    public bool Add(int intid)
    {
        int i = intid - RedistributorLpis.FirstLpi;
        ulong bit = 1UL << (i & 63);
        if ((words[i >> 6] & bit) != 0) return false;
        words[i >> 6] |= bit;
        summary[i >> 12] |= 1UL << (i >> 6 & 63);
        Count++;
        return true;
    }

    public bool Remove(int intid)
    {
        int i = intid - RedistributorLpis.FirstLpi;
        if ((uint)i >= Lpis) return false;
        ulong bit = 1UL << (i & 63);
        if ((words[i >> 6] & bit) == 0) return false;
        if ((words[i >> 6] &= ~bit) == 0) summary[i >> 12] &= ~(1UL << (i >> 6 & 63));
        Count--;
        return true;
    }

    public void Clear()
    {
        if (Count == 0) return;
        Array.Clear(words);
        Array.Clear(summary);
        Count = 0;
    }

    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator(LpiSet set)
    {
        private int group = -1, word;
        private ulong groupBits, wordBits;

        public int Current { get; private set; }

        public bool MoveNext()
        {
            while (wordBits == 0)
            {
                while (groupBits == 0)
                {
                    if (++group >= set.summary.Length) return false;
                    groupBits = set.summary[group];
                }
                word = group * 64 + System.Numerics.BitOperations.TrailingZeroCount(groupBits);
                groupBits &= groupBits - 1;
                wordBits = set.words[word];
            }
            Current = RedistributorLpis.FirstLpi + word * 64 + System.Numerics.BitOperations.TrailingZeroCount(wordBits);
            wordBits &= wordBits - 1;
            return true;
        }
    }
}
