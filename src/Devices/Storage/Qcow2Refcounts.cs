using System.Buffers.Binary;

namespace Jit.Devices.Storage;

/// <summary>
/// qcow2 host cluster management (qcow2.txt, "Host cluster management"): the refcount table, kept in memory, and the
/// refcount blocks it points to, through a write-back cache; refcounts of 1 to 64 bits (refcount_order 0..6); cluster
/// allocation, which creates refcount blocks and grows the refcount table as the file grows.
/// </summary>
/// <remarks>
/// Where new metadata goes: a new refcount block is placed in the range of clusters it counts, so it counts itself
/// and nothing else has to change to describe it. A refcount table that is full is replaced by one twice as large
/// at the end of the file, followed by the blocks that count the new clusters; the new table is written and synced
/// before the header points at it, and the old table is freed afterwards.
/// </remarks>
internal sealed class Qcow2Refcounts
{
    private const ulong ReservedBits = 0x1FF; // refcount table entry bits 0-8

    private readonly ImageFile file;
    private readonly int clusterBits;
    private readonly int order;        // refcount_bits = 1 << order
    private readonly int blockShift;   // log2 of the clusters one refcount block counts
    private readonly ulong maxRefcount;
    private ulong[] table;
    private bool[] tableDirty;         // per cluster of the table
    private ulong tableOffset;
    private ulong freeHint;            // no free cluster below this one
    private ulong endCluster;          // no cluster at or above this one is in use

    /// <summary>Called when a cluster's refcount drops to 0, so caches holding it as a table forget it.</summary>
    public Action<ulong>? ClusterFreed { get; set; }

    public Qcow2Refcounts(ImageFile file, Qcow2Header header, ulong[] table, Qcow2TableCache blocks)
    {
        this.file = file;
        this.table = table;
        Blocks = blocks;
        clusterBits = header.ClusterBits;
        order = header.RefcountOrder;
        blockShift = clusterBits + 3 - order;
        maxRefcount = order == 6 ? ulong.MaxValue : (1UL << (1 << order)) - 1;
        tableOffset = header.RefcountTableOffset;
        tableDirty = new bool[header.RefcountTableClusters];
        endCluster = (ulong)((file.Length + (1L << clusterBits) - 1) >> clusterBits);
    }

    public Qcow2TableCache Blocks { get; }

    private int ClusterSize => 1 << clusterBits;

    /// <summary>Reads and checks the refcount table at open: entries on cluster boundaries, blocks inside the file.</summary>
    /// <exception cref="DiskImageException">A bad entry.</exception>
    public static ulong[] ReadTable(ImageFile file, Qcow2Header header)
    {
        int entries = (int)(((ulong)header.RefcountTableClusters << header.ClusterBits) / 8);
        byte[] raw = new byte[entries * 8];
        if (!file.ReadExactly(raw, header.RefcountTableOffset))
            throw new DiskImageException($"{file.Path}: refcount table lies beyond the end of the file: truncated");
        var table = new ulong[entries];
        for (int i = 0; i < entries; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            if (e != 0 && (e % (ulong)header.ClusterSize != 0 || e > (ulong)(file.Length - header.ClusterSize)))
                throw new DiskImageException($"{file.Path}: refcount table entry {i} (0x{e:x}) is {(e % (ulong)header.ClusterSize != 0 ? "not on a cluster boundary" : "beyond the end of the file")}: truncated or corrupt");
            table[i] = e;
        }
        return table;
    }

    /// <summary>Every refcount block the table points to, for the open-time check.</summary>
    public IEnumerable<ulong> BlockOffsets => table.Where(e => e != 0);

    public ulong TableOffset => tableOffset;
    public int TableClusters => tableDirty.Length;

    /// <summary>The refcount of host cluster <paramref name="cluster"/>; 0 where no refcount block exists.</summary>
    public ulong Get(ulong cluster)
    {
        ulong b = cluster >> blockShift;
        if (b >= (ulong)table.Length || table[b] == 0) return 0;
        int slot = Blocks.Get(table[b]);
        return ReadEntry(Blocks.Table(slot), cluster & ((1UL << blockShift) - 1));
    }

    /// <summary>Sets a refcount, creating the refcount block (and growing the table) when the cluster has none yet.</summary>
    public void Set(ulong cluster, ulong value)
    {
        if (value > maxRefcount)
            throw new Qcow2CorruptException($"{file.Path}: refcount of cluster 0x{cluster << clusterBits:x} would overflow {1 << order} bits");
        ulong b = cluster >> blockShift;
        if (b >= (ulong)table.Length || table[b] == 0)
        {
            if (value == 0) return;
            EnsureBlock(b, cluster);
        }
        int slot = Blocks.Get(table[b]);
        WriteEntry(Blocks.Table(slot), cluster & ((1UL << blockShift) - 1), value);
        Blocks.MarkDirty(slot);
        if (value == 0)
        {
            freeHint = Math.Min(freeHint, cluster);
            ClusterFreed?.Invoke(cluster << clusterBits);
        }
    }

    /// <summary>Drops one reference to every cluster that [offset, offset + length) touches.</summary>
    /// <exception cref="Qcow2CorruptException">A cluster already at refcount 0.</exception>
    public void Release(ulong offset, ulong length)
    {
        for (ulong c = offset >> clusterBits; c <= (offset + length - 1) >> clusterBits; c++)
        {
            ulong r = Get(c);
            if (r == 0) throw new Qcow2CorruptException($"{file.Path}: freeing cluster 0x{c << clusterBits:x} whose refcount is already 0");
            Set(c, r - 1);
        }
    }

    /// <summary>A free cluster, now at refcount 1; returns its offset in the file. The caller writes it before pointing at it.</summary>
    public ulong Allocate()
    {
        ulong c = freeHint;
        while (Get(c) != 0) c++;
        freeHint = c + 1;
        endCluster = Math.Max(endCluster, c + 1);
        Set(c, 1);
        return c << clusterBits;
    }

    /// <summary>Gives range <paramref name="b"/> a refcount block, placed inside the range so it counts itself.</summary>
    private void EnsureBlock(ulong b, ulong allocating)
    {
        if (b >= (ulong)table.Length) GrowTable(b);
        if (table[b] != 0) return;
        // No block means every cluster of the range is free; the first one not being allocated holds the block.
        ulong k = b << blockShift;
        if (k == allocating) k++;
        int slot = Blocks.Create(k << clusterBits);
        WriteEntry(Blocks.Table(slot), k & ((1UL << blockShift) - 1), 1);
        table[b] = k << clusterBits;
        tableDirty[b * 8 >> clusterBits] = true;
        endCluster = Math.Max(endCluster, k + 1);
        if (freeHint == k) freeHint++;
    }

    /// <summary>
    /// Replaces the refcount table by a larger one at the end of the file that has an entry for range
    /// <paramref name="neededBlock"/>, followed by the new blocks that count the new clusters.
    /// </summary>
    private void GrowTable(ulong neededBlock)
    {
        int entriesPerCluster = ClusterSize / 8;
        ulong start = endCluster;
        ulong n = Math.Max(DivideUp(neededBlock + 1, (ulong)entriesPerCluster), 2 * (ulong)tableDirty.Length);
        ulong m = 0;
        while (true)
        {
            // The area [start, start + n + m) must be free; clusters past the end of the file may still be counted.
            ulong busy = FirstInUse(start, start + n + m);
            if (busy != ulong.MaxValue) { start = busy + 1; continue; }
            ulong firstRange = start >> blockShift, lastRange = (start + n + m - 1) >> blockShift;
            ulong missing = 0;
            for (ulong r = firstRange; r <= lastRange; r++)
                if (r >= (ulong)table.Length || table[r] == 0) missing++;
            ulong needN = DivideUp(Math.Max(neededBlock, lastRange) + 1, (ulong)entriesPerCluster);
            if (missing == m && needN <= n) break;
            m = Math.Max(m, missing);
            n = Math.Max(n, needN);
        }

        ulong end = start + n + m;
        var newTable = new ulong[n * (ulong)entriesPerCluster];
        table.CopyTo(newTable, 0);
        var newBlocks = new Dictionary<ulong, byte[]>();
        ulong next = start + n;
        for (ulong r = start >> blockShift; r <= (end - 1) >> blockShift; r++)
        {
            if (newTable[r] != 0) continue;
            newTable[r] = next++ << clusterBits;
            newBlocks[r] = new byte[ClusterSize];
        }
        for (ulong c = start; c < end; c++)
        {
            ulong r = c >> blockShift;
            if (newBlocks.TryGetValue(r, out byte[]? block)) WriteEntry(block, c & ((1UL << blockShift) - 1), 1);
            else
            {
                int slot = Blocks.Get(newTable[r]);
                WriteEntry(Blocks.Table(slot), c & ((1UL << blockShift) - 1), 1);
                Blocks.MarkDirty(slot);
            }
        }

        // Everything the new table points at reaches the disk before the table, and the table before the header.
        foreach (var (r, block) in newBlocks) file.Write(block, newTable[r]);
        Blocks.WriteDirty();
        byte[] raw = new byte[newTable.Length * 8];
        for (int i = 0; i < newTable.Length; i++) BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), newTable[i]);
        file.Write(raw, start << clusterBits);
        file.Sync();
        Span<byte> field = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(field, start << clusterBits);
        BinaryPrimitives.WriteUInt32BigEndian(field[8..], (uint)n);
        file.Write(field, Qcow2Header.RefcountTableOffsetField);
        file.Sync();

        ulong oldOffset = tableOffset;
        int oldClusters = tableDirty.Length;
        table = newTable;
        tableDirty = new bool[n];
        tableOffset = start << clusterBits;
        endCluster = Math.Max(endCluster, end);
        Release(oldOffset, (ulong)oldClusters << clusterBits);
    }

    private ulong FirstInUse(ulong from, ulong to)
    {
        ulong covered = (ulong)table.Length << blockShift;
        for (ulong c = from; c < Math.Min(to, covered); c++)
            if (Get(c) != 0) return c;
        return ulong.MaxValue;
    }

    public bool TableDirty => tableDirty.Contains(true);

    /// <summary>Writes the clusters of the refcount table whose entries changed (without fsync).</summary>
    public void WriteTable()
    {
        int perCluster = ClusterSize / 8;
        byte[]? raw = null;
        for (int i = 0; i < tableDirty.Length; i++)
        {
            if (!tableDirty[i]) continue;
            raw ??= new byte[ClusterSize];
            for (int j = 0; j < perCluster; j++)
                BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(j * 8), table[i * perCluster + j]);
            file.Write(raw, tableOffset + ((ulong)i << clusterBits));
            tableDirty[i] = false;
        }
    }

    private ulong ReadEntry(ReadOnlySpan<byte> block, ulong index) => order switch
    {
        6 => BinaryPrimitives.ReadUInt64BigEndian(block[(int)(index * 8)..]),
        5 => BinaryPrimitives.ReadUInt32BigEndian(block[(int)(index * 4)..]),
        4 => BinaryPrimitives.ReadUInt16BigEndian(block[(int)(index * 2)..]),
        3 => block[(int)index],
        // Sub-byte refcounts: bit 0 of an entry is the least significant bit, entries fill a byte from its bit 0.
        _ => (ulong)(block[(int)((index << order) >> 3)] >> (int)((index << order) & 7)) & maxRefcount,
    };

    private void WriteEntry(Span<byte> block, ulong index, ulong value)
    {
        switch (order)
        {
            case 6: BinaryPrimitives.WriteUInt64BigEndian(block[(int)(index * 8)..], value); break;
            case 5: BinaryPrimitives.WriteUInt32BigEndian(block[(int)(index * 4)..], (uint)value); break;
            case 4: BinaryPrimitives.WriteUInt16BigEndian(block[(int)(index * 2)..], (ushort)value); break;
            case 3: block[(int)index] = (byte)value; break;
            default:
                int bit = (int)((index << order) & 7);
                ref byte b = ref block[(int)((index << order) >> 3)];
                b = (byte)((b & ~((int)maxRefcount << bit)) | ((int)value << bit));
                break;
        }
    }

    private static ulong DivideUp(ulong a, ulong b) => (a + b - 1) / b;
}
