using System.Buffers.Binary;
using System.IO.Compression;
using Jit.Runtime;

namespace Jit.Devices.Storage;

/// <summary>
/// A qcow2 image, version 3 or 2, read-write (QEMU's docs/interop/qcow2.txt): guest clusters mapped through the L1
/// table and L2 tables (standard 64-bit entries), host clusters counted by refcounts. Writes allocate clusters, copy
/// clusters shared with snapshots (refcount above 1, no COPIED flag) and L2 tables shared the same way, and rewrite
/// compressed clusters uncompressed; "all zeroes" clusters and unallocated ones read as zeros; deflate-compressed
/// clusters are read. What it will not honour is refused at open (<see cref="Qcow2Header"/>), as is metadata that
/// points outside the file or at clusters whose refcount says they are free.
/// </summary>
/// <remarks>
/// <para>Every request holds the image's lock (see <see cref="IBlockImage"/>). Data goes to the file as it is
/// written; metadata changes stay in memory (L1 table, refcount table) or in write-back caches (L2 tables, refcount
/// blocks) until <see cref="Flush"/>, or until a dirty table has to leave its cache, which flushes all of it.</para>
/// <para>Flush order, each step fsynced before the next starts, so that on disk a table never points at a cluster
/// whose contents or refcount are not yet written: (1) refcount blocks, together with the data clusters already
/// written (the blocks gain references here; the only ones dropped before this step are those of a replaced refcount
/// table the header no longer names); (2) refcount table entries for new blocks; (3) L2 tables; (4) L1 entries;
/// (5) only then the references dropped by copy-on-write (the old cluster of a copied data cluster, L2 table or
/// compressed cluster). A crash at any point leaves at worst leaked clusters, which qemu-img check reports as leaks
/// and repairs, never a cluster in use with too low a refcount.</para>
/// <para>Requests allocate nothing once the caches are warm, except reading a compressed cluster, which creates an
/// inflater (the last cluster inflated is kept, so the sectors that follow cost nothing).</para>
/// </remarks>
public sealed class Qcow2Image : IBlockImage
{
    private const ulong Copied = 1UL << 63, Compressed = 1UL << 62, ZeroFlag = 1;
    private const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00;           // L1 and standard L2 entries, bits 9-55
    private const ulong L1Reserved = 0x7F00_0000_0000_01FF;           // bits 0-8 and 56-62
    private const ulong L2Reserved = 0x3F00_0000_0000_01FE;           // bits 1-8 and 56-61 of a standard entry

    /// <summary>Default cache sizes: 4 MiB of L2 tables map 32 GiB of disk with 64 KiB clusters, 1 MiB of refcount blocks count 16 GiB of file.</summary>
    public const int DefaultL2CacheBytes = 4 << 20, DefaultRefcountCacheBytes = 1 << 20;

    private readonly object gate = new();
    private readonly ImageFile file;
    private readonly Qcow2Header header;
    private readonly int clusterBits, clusterSize, l2Bits;
    private readonly int compressedSizeShift;     // where a compressed descriptor's sector count starts
    private readonly ulong compressedOffsetMask, compressedSectorsMask;
    private readonly ulong[] l1;
    private readonly bool[] l1Dirty;              // per 512 bytes of the L1 table
    private readonly Qcow2TableCache l2Tables;
    private readonly Qcow2Refcounts refcounts;
    private readonly List<(ulong Offset, ulong Length)> pendingReleases = new(64);
    private readonly byte[] scratch;              // one cluster: merges partial writes, copies L2 tables
    private readonly byte[] entryBytes = new byte[512];
    private readonly byte[] decompressed;         // the last compressed cluster read, for the sectors that follow
    private ulong decompressedEntry;              // its L2 entry, or 0
    private byte[]? compressedInput;
    private bool flushing, disposed;

    private Qcow2Image(ImageFile file, Qcow2Header header, int l2CacheBytes, int refcountCacheBytes)
    {
        this.file = file;
        this.header = header;
        clusterBits = header.ClusterBits;
        clusterSize = header.ClusterSize;
        l2Bits = clusterBits - 3;
        compressedSizeShift = 62 - (clusterBits - 8);
        compressedOffsetMask = (1UL << compressedSizeShift) - 1;
        compressedSectorsMask = (1UL << (clusterBits - 8)) - 1;
        scratch = new byte[clusterSize];
        decompressed = new byte[clusterSize];

        l2Tables = new Qcow2TableCache(file, clusterSize, Math.Max(2, l2CacheBytes / clusterSize), "L2 table")
        {
            Check = CheckL2Table,
            WriteBackForEviction = WriteBack,
        };
        var blocks = new Qcow2TableCache(file, clusterSize, Math.Max(2, refcountCacheBytes / clusterSize), "refcount block")
        {
            // During the last step of a flush the blocks only lose references, which may reach the disk at any time.
            WriteBackForEviction = () => { if (flushing) refcounts!.Blocks.WriteDirty(); else WriteBack(); },
        };
        refcounts = new Qcow2Refcounts(file, header, Qcow2Refcounts.ReadTable(file, header), blocks)
        {
            ClusterFreed = ForgetCluster,
        };
        l1 = ReadL1();
        l1Dirty = new bool[(l1.Length * 8 + 511) / 512];
    }

    /// <summary>Opens and checks a qcow2 image; read-write opens are exclusive.</summary>
    /// <param name="l2CacheBytes">Memory for cached L2 tables (at least two tables are kept).</param>
    /// <param name="refcountCacheBytes">Memory for cached refcount blocks (at least two).</param>
    /// <exception cref="DiskImageException">Unsupported, truncated or corrupt, with one line saying why.</exception>
    public static Qcow2Image Open(string path, bool readOnly,
        int l2CacheBytes = DefaultL2CacheBytes, int refcountCacheBytes = DefaultRefcountCacheBytes)
    {
        var file = ImageFile.Open(path, readOnly);
        try
        {
            var image = new Qcow2Image(file, Qcow2Header.Read(file), l2CacheBytes, refcountCacheBytes);
            image.CheckReferences();
            if (!readOnly && image.header.AutoclearFeatures != 0) image.ClearAutoclearFeatures();
            return image;
        }
        catch (Exception e) when (e is Qcow2CorruptException)
        {
            file.Dispose();
            throw new DiskImageException(e.Message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new DiskImageException($"{path}: I/O error while opening: {ImageFile.OneLine(e.Message)}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string Path => file.Path;
    public ulong Size => header.Size;
    public bool ReadOnly => file.ReadOnly;

    /// <summary>Bytes per cluster, the unit of allocation.</summary>
    public int ClusterSize => clusterSize;

    public BlockStatus Read(ulong offset, Span<byte> buffer)
    {
        if (!Fits(offset, buffer.Length)) return BlockStatus.OutOfRange;
        lock (gate)
        {
            if (disposed) return BlockStatus.IoError;
            try
            {
                while (!buffer.IsEmpty)
                {
                    int n = PieceLength(offset, buffer.Length);
                    ReadPiece(offset, buffer[..n]);
                    offset += (ulong)n;
                    buffer = buffer[n..];
                }
                return BlockStatus.Ok;
            }
            catch (Exception e) when (IsRequestFailure(e))
            {
                return Failed("read", e);
            }
        }
    }

    public BlockStatus Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (ReadOnly) return BlockStatus.ReadOnly;
        if (!Fits(offset, data.Length)) return BlockStatus.OutOfRange;
        lock (gate)
        {
            if (disposed) return BlockStatus.IoError;
            try
            {
                while (!data.IsEmpty)
                {
                    int n = PieceLength(offset, data.Length);
                    WritePiece(offset, data[..n]);
                    offset += (ulong)n;
                    data = data[n..];
                }
                return BlockStatus.Ok;
            }
            catch (Exception e) when (IsRequestFailure(e))
            {
                return Failed("write", e);
            }
        }
    }

    public BlockStatus Flush()
    {
        if (ReadOnly) return BlockStatus.Ok;
        lock (gate)
        {
            if (disposed) return BlockStatus.IoError;
            try
            {
                WriteBack();
                return BlockStatus.Ok;
            }
            catch (Exception e) when (IsRequestFailure(e))
            {
                return Failed("flush", e);
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            if (!ReadOnly)
            {
                try { WriteBack(); }
                catch (Exception e) when (IsRequestFailure(e)) { Failed("flush at close", e); }
            }
            disposed = true;
            file.Dispose();
        }
    }

    private bool Fits(ulong offset, int length) => offset <= Size && (ulong)length <= Size - offset;

    /// <summary>The part of a request that stays inside one guest cluster.</summary>
    private int PieceLength(ulong offset, int remaining) =>
        (int)Math.Min((ulong)remaining, (ulong)clusterSize - (offset & (ulong)(clusterSize - 1)));

    private static bool IsRequestFailure(Exception e) => e is Qcow2CorruptException || RawImage.IsIoFailure(e);

    private BlockStatus Failed(string what, Exception e)
    {
        if (e is Qcow2CorruptException) Log.Once($"qcow2-corrupt:{e.Message}", e.Message);
        else Log.Once($"disk-io:{Path}:{what}:{e.GetType().Name}", $"{Path}: {what} failed: {ImageFile.OneLine(e.Message)}");
        return BlockStatus.IoError;
    }

    // ---- reading -------------------------------------------------------------------------------------------------

    private void ReadPiece(ulong guestOffset, Span<byte> destination)
    {
        ulong entry = L2Entry(guestOffset >> clusterBits);
        int inCluster = (int)(guestOffset & (ulong)(clusterSize - 1));
        if ((entry & Compressed) != 0)
        {
            Decompress(entry);
            decompressed.AsSpan(inCluster, destination.Length).CopyTo(destination);
        }
        else if ((entry & OffsetMask) == 0 || (entry & ZeroFlag) != 0)
        {
            destination.Clear();
        }
        else
        {
            int n = file.Read(destination, (entry & OffsetMask) + (ulong)inCluster);
            destination[n..].Clear(); // a last cluster the file ends inside of: the rest was never written
        }
    }

    /// <summary>The L2 entry of a guest cluster, 0 where no L2 table exists.</summary>
    private ulong L2Entry(ulong guestCluster)
    {
        ulong l2Offset = l1[guestCluster >> l2Bits] & OffsetMask;
        if (l2Offset == 0) return 0;
        int slot = l2Tables.Get(l2Offset);
        return ReadEntry(l2Tables.Table(slot), (int)(guestCluster & ((1UL << l2Bits) - 1)));
    }

    /// <summary>Inflates a compressed cluster into <see cref="decompressed"/> (raw deflate, as qcow2 stores it).</summary>
    private void Decompress(ulong entry)
    {
        if (entry == decompressedEntry) return;
        ulong offset = entry & compressedOffsetMask;
        ulong sectors = ((entry >> compressedSizeShift) & compressedSectorsMask) + 1;
        // The data runs to the end of the last of the sectors, counted from the sector holding its first byte.
        int length = (int)((offset & ~511UL) + sectors * 512 - offset);
        compressedInput ??= new byte[(int)(compressedSectorsMask + 1) * 512 + 512];
        int got = file.Read(compressedInput.AsSpan(0, length), offset);
        decompressedEntry = 0;
        int produced;
        try
        {
            using var inflater = new DeflateStream(new MemoryStream(compressedInput, 0, got, writable: false), CompressionMode.Decompress);
            produced = inflater.ReadAtLeast(decompressed, clusterSize, throwOnEndOfStream: false);
        }
        catch (InvalidDataException)
        {
            produced = -1;
        }
        if (produced != clusterSize)
            throw new Qcow2CorruptException($"{Path}: compressed cluster at 0x{offset:x} does not inflate to a whole cluster");
        decompressedEntry = entry;
    }

    // ---- writing -------------------------------------------------------------------------------------------------

    private void WritePiece(ulong guestOffset, ReadOnlySpan<byte> data)
    {
        ulong guestCluster = guestOffset >> clusterBits;
        int index = (int)(guestCluster & ((1UL << l2Bits) - 1));
        int inCluster = (int)(guestOffset & (ulong)(clusterSize - 1));
        int slot = L2TableForWrite(guestCluster >> l2Bits);
        ulong entry = ReadEntry(l2Tables.Table(slot), index);
        ulong host = entry & OffsetMask;

        // A standard cluster this image alone holds is written in place (an "all zeroes" one is filled first).
        if ((entry & Compressed) == 0 && host != 0 && ((entry & Copied) != 0 || refcounts.Get(host >> clusterBits) == 1))
        {
            if ((entry & ZeroFlag) != 0) WriteOverZeros(host, inCluster, data);
            else file.Write(data, host + (ulong)inCluster);
            if (entry != (host | Copied))
            {
                WriteEntry(l2Tables.Table(slot), index, host | Copied);
                l2Tables.MarkDirty(slot);
            }
            return;
        }

        // Otherwise the data goes to a new cluster holding the old contents around it: zeros for an unallocated or
        // zero cluster, the inflated data of a compressed one, a copy of one shared with a snapshot.
        bool whole = inCluster == 0 && data.Length == clusterSize;
        if (!whole)
        {
            if ((entry & Compressed) != 0) { Decompress(entry); decompressed.CopyTo(scratch, 0); }
            else if (host == 0 || (entry & ZeroFlag) != 0) scratch.AsSpan().Clear();
            else
            {
                int n = file.Read(scratch, host);
                scratch.AsSpan(n).Clear();
            }
            data.CopyTo(scratch.AsSpan(inCluster));
        }
        ulong newHost = refcounts.Allocate();
        file.Write(whole ? data : scratch, newHost);

        // Allocation never evicts an L2 table (it may write them back), so the slot still holds this table.
        WriteEntry(l2Tables.Table(slot), index, newHost | Copied);
        l2Tables.MarkDirty(slot);
        if ((entry & Compressed) != 0)
        {
            ulong offset = entry & compressedOffsetMask;
            ulong sectors = ((entry >> compressedSizeShift) & compressedSectorsMask) + 1;
            pendingReleases.Add((offset & ~511UL, sectors * 512));
            if (entry == decompressedEntry) decompressedEntry = 0;
        }
        else if (host != 0)
        {
            pendingReleases.Add((host, (ulong)clusterSize));
        }
    }

    /// <summary>Writes the whole cluster at <paramref name="host"/>: zeros, with <paramref name="data"/> at <paramref name="at"/>.</summary>
    private void WriteOverZeros(ulong host, int at, ReadOnlySpan<byte> data)
    {
        scratch.AsSpan().Clear();
        data.CopyTo(scratch.AsSpan(at));
        file.Write(scratch, host);
    }

    /// <summary>
    /// The cache slot of the L2 table for <paramref name="l1Index"/>, ready to be changed: created when there is none,
    /// copied when it is shared with a snapshot.
    /// </summary>
    private int L2TableForWrite(ulong l1Index)
    {
        ulong entry = l1[l1Index];
        ulong offset = entry & OffsetMask;
        if (offset != 0 && ((entry & Copied) != 0 || refcounts.Get(offset >> clusterBits) == 1))
        {
            if ((entry & Copied) == 0) SetL1(l1Index, offset | Copied);
            return l2Tables.Get(offset);
        }
        if (offset != 0) l2Tables.Table(l2Tables.Get(offset)).CopyTo(scratch);
        else scratch.AsSpan().Clear();
        ulong newOffset = refcounts.Allocate();
        int slot = l2Tables.Create(newOffset);
        scratch.CopyTo(l2Tables.Table(slot));
        SetL1(l1Index, newOffset | Copied);
        if (offset != 0) pendingReleases.Add((offset, (ulong)clusterSize));
        return slot;
    }

    private void SetL1(ulong index, ulong entry)
    {
        l1[index] = entry;
        l1Dirty[index * 8 / 512] = true;
    }

    // ---- write-back ----------------------------------------------------------------------------------------------

    /// <summary>Writes all changed metadata in the order the class remarks give, then fsyncs.</summary>
    private void WriteBack()
    {
        var blocks = refcounts.Blocks;
        if (blocks.HasDirty) { blocks.WriteDirty(); file.Sync(); }
        if (refcounts.TableDirty) { refcounts.WriteTable(); file.Sync(); }
        if (l2Tables.HasDirty) { l2Tables.WriteDirty(); file.Sync(); }
        if (Array.IndexOf(l1Dirty, true) >= 0) { WriteL1(); file.Sync(); }
        if (pendingReleases.Count > 0)
        {
            flushing = true;
            try
            {
                foreach (var (offset, length) in pendingReleases) refcounts.Release(offset, length);
                pendingReleases.Clear();
                blocks.WriteDirty();
            }
            finally
            {
                flushing = false;
            }
        }
        if (file.Unsynced) file.Sync();
    }

    private void WriteL1()
    {
        for (int chunk = 0; chunk < l1Dirty.Length; chunk++)
        {
            if (!l1Dirty[chunk]) continue;
            int first = chunk * 64, count = Math.Min(64, l1.Length - first);
            for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt64BigEndian(entryBytes.AsSpan(i * 8), l1[first + i]);
            file.Write(entryBytes.AsSpan(0, count * 8), header.L1TableOffset + (ulong)first * 8);
            l1Dirty[chunk] = false;
        }
    }

    private void ForgetCluster(ulong offset)
    {
        l2Tables.Forget(offset);
    }

    // ---- open-time checks ----------------------------------------------------------------------------------------

    private ulong[] ReadL1()
    {
        byte[] raw = new byte[header.L1Size * 8];
        if (!file.ReadExactly(raw, header.L1TableOffset))
            throw new DiskImageException($"{Path}: L1 table lies beyond the end of the file: truncated");
        var table = new ulong[header.L1Size];
        for (int i = 0; i < table.Length; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            ulong offset = e & OffsetMask;
            if ((e & L1Reserved) != 0 || offset % (ulong)clusterSize != 0)
                throw new DiskImageException($"{Path}: L1 entry {i} (0x{e:x}) has reserved bits set or is not on a cluster boundary: corrupt");
            if (offset != 0 && offset > (ulong)(file.Length - clusterSize))
                throw new DiskImageException($"{Path}: L1 entry {i} points at an L2 table at 0x{offset:x}, beyond the end of the file ({file.Length} bytes): truncated or corrupt");
            table[i] = e;
        }
        return table;
    }

    /// <summary>Checks an L2 table as it is read: reserved bits clear, clusters aligned and inside the file.</summary>
    private string? CheckL2Table(ulong tableOffset, ReadOnlySpan<byte> table)
    {
        long fileLength = file.Length;
        for (int i = 0; i < table.Length / 8; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(table[(i * 8)..]);
            if (e == 0) continue;
            if ((e & Compressed) != 0)
            {
                ulong offset = e & compressedOffsetMask;
                if ((e & Copied) != 0) return $"entry {i} is compressed with the COPIED flag set";
                if (offset >= (ulong)fileLength) return $"entry {i} points at compressed data at 0x{offset:x}, beyond the end of the file: truncated or corrupt";
                continue;
            }
            ulong host = e & OffsetMask;
            if ((e & L2Reserved) != 0 || (header.Version == 2 && (e & ZeroFlag) != 0))
                return $"entry {i} (0x{e:x}) has reserved bits set";
            if (host % (ulong)clusterSize != 0) return $"entry {i} points at 0x{host:x}, not on a cluster boundary";
            if (host >= (ulong)fileLength) return $"entry {i} points at a cluster at 0x{host:x}, beyond the end of the file ({fileLength} bytes): truncated or corrupt";
            if (host == 0 && (e & Copied) != 0 && (e & ZeroFlag) == 0) return $"entry {i} is marked COPIED but has no cluster";
        }
        return null;
    }

    /// <summary>
    /// Every cluster the image uses (header, tables, refcount blocks, data) must have a refcount, and the COPIED flag
    /// must only mark clusters whose refcount is 1: an image that breaks either would have clusters overwritten by
    /// allocation or copy-on-write skipped, so it is refused at open rather than damaged later.
    /// </summary>
    private void CheckReferences()
    {
        void Used(ulong offset, string what)
        {
            if (refcounts.Get(offset >> clusterBits) == 0)
                throw new DiskImageException($"{Path}: {what} at 0x{offset:x} has refcount 0: corrupt (qemu-img check -r all repairs it)");
        }
        void Exclusive(ulong offset, string what)
        {
            Used(offset, what);
            ulong r = refcounts.Get(offset >> clusterBits);
            if (r != 1)
                throw new DiskImageException($"{Path}: {what} at 0x{offset:x} is marked COPIED but its refcount is {r}: corrupt (qemu-img check -r all repairs it)");
        }

        Used(0, "the header cluster");
        for (ulong o = 0; o < header.L1Size * 8UL; o += (ulong)clusterSize) Used(header.L1TableOffset + o, "the L1 table");
        for (int c = 0; c < refcounts.TableClusters; c++) Used(refcounts.TableOffset + ((ulong)c << clusterBits), "the refcount table");
        foreach (ulong block in refcounts.BlockOffsets) Used(block, "a refcount block");
        if (header.SnapshotCount > 0) Used(header.SnapshotsOffset, "the snapshot table");

        for (int i = 0; i < l1.Length; i++)
        {
            ulong l2Offset = l1[i] & OffsetMask;
            if (l2Offset == 0) continue;
            if ((l1[i] & Copied) != 0) Exclusive(l2Offset, $"the L2 table of L1 entry {i}");
            else Used(l2Offset, $"the L2 table of L1 entry {i}");
            // A copy: the loop then does not depend on which cache operations keep the slot.
            l2Tables.Table(l2Tables.Get(l2Offset)).CopyTo(scratch);
            for (int j = 0; j < clusterSize / 8; j++)
            {
                ulong e = ReadEntry(scratch, j);
                if ((e & Compressed) != 0)
                {
                    ulong offset = e & compressedOffsetMask;
                    ulong sectors = ((e >> compressedSizeShift) & compressedSectorsMask) + 1;
                    ulong end = (offset & ~511UL) + sectors * 512;
                    for (ulong c = offset >> clusterBits; c <= (end - 1) >> clusterBits; c++)
                        if (c << clusterBits < (ulong)file.Length) Used(c << clusterBits, "compressed data");
                    continue;
                }
                ulong host = e & OffsetMask;
                if (host == 0) continue;
                if ((e & Copied) != 0) Exclusive(host, "a data cluster");
                else Used(host, "a data cluster");
            }
        }
    }

    /// <summary>
    /// Autoclear bits name features (persistent bitmaps) whose data a writer that does not update it must mark stale
    /// (qcow2.txt, autoclear_features): cleared before the first write.
    /// </summary>
    private void ClearAutoclearFeatures()
    {
        Span<byte> zero = stackalloc byte[8];
        file.Write(zero, Qcow2Header.AutoclearFeaturesField);
        file.Sync();
    }

    private static ulong ReadEntry(ReadOnlySpan<byte> table, int index) => BinaryPrimitives.ReadUInt64BigEndian(table[(index * 8)..]);

    private static void WriteEntry(Span<byte> table, int index, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(table[(index * 8)..], value);
}
