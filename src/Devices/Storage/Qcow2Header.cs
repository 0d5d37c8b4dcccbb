using System.Buffers.Binary;
using System.Text;

namespace Jit.Devices.Storage;

/// <summary>
/// The qcow2 header and its extensions (QEMU's docs/interop/qcow2.txt, "Header" and "Header extensions"), every
/// field checked against the others and against the file. What this reader cannot honour is refused here, with one
/// line naming the file and the feature: backing files, encryption, external data files, extended L2 entries,
/// compression other than deflate, unknown incompatible features, and the dirty and corrupt bits.
/// </summary>
internal sealed class Qcow2Header
{
    public const uint Magic = 0x514649FB; // "QFI\xfb"

    // incompatible_features
    public const ulong DirtyBit = 1UL << 0, CorruptBit = 1UL << 1, ExternalDataFileBit = 1UL << 2,
        CompressionTypeBit = 1UL << 3, ExtendedL2Bit = 1UL << 4;
    private const ulong KnownIncompatible = DirtyBit | CorruptBit | ExternalDataFileBit | CompressionTypeBit | ExtendedL2Bit;

    // Header field offsets written back by the image.
    public const int RefcountTableOffsetField = 48; // refcount_table_offset (8) and refcount_table_clusters (4)
    public const int AutoclearFeaturesField = 88;

    // Header extension types.
    private const uint EndOfExtensions = 0, BackingFormatExtension = 0xE2792ACA, FeatureNameTableExtension = 0x6803F857,
        BitmapsExtension = 0x23852875, EncryptionHeaderExtension = 0x0537BE77, ExternalDataFileExtension = 0x44415441;

    private const int Version2Length = 72, Version3MinimumLength = 104;
    public const int MinClusterBits = 9, MaxClusterBits = 21;     // 512 bytes to 2 MiB (QEMU's own limit)
    private const ulong MaxL1Bytes = 32UL << 20, MaxRefcountTableBytes = 8UL << 20; // QEMU's implementation limits

    public required int Version { get; init; }
    public required int ClusterBits { get; init; }
    public required ulong Size { get; init; }
    public required uint L1Size { get; init; }
    public required ulong L1TableOffset { get; init; }
    public required ulong RefcountTableOffset { get; init; }
    public required uint RefcountTableClusters { get; init; }
    public required uint SnapshotCount { get; init; }
    public required ulong SnapshotsOffset { get; init; }
    public required ulong AutoclearFeatures { get; init; }
    public required int RefcountOrder { get; init; }

    public int ClusterSize => 1 << ClusterBits;

    /// <summary>Reads and checks the header in the first cluster of <paramref name="file"/>.</summary>
    /// <exception cref="DiskImageException">Anything this reader will not open, with the reason.</exception>
    public static Qcow2Header Read(ImageFile file)
    {
        string path = file.Path;
        long fileLength = file.Length;
        byte[] fixedPart = new byte[Version3MinimumLength];
        int got = file.Read(fixedPart, 0);
        if (got < 8) throw Refuse(path, $"truncated: {fileLength} bytes is too short for a qcow2 header");
        if (BinaryPrimitives.ReadUInt32BigEndian(fixedPart) != Magic)
            throw Refuse(path, "not a qcow2 image (no QFI\\xfb magic at the start)");
        int version = (int)BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(4));
        if (version is not (2 or 3)) throw Refuse(path, $"qcow2 version {version} is not supported (2 and 3 are)");
        int minimum = version == 2 ? Version2Length : Version3MinimumLength;
        if (got < minimum) throw Refuse(path, $"truncated: {fileLength} bytes is too short for a qcow2 version {version} header ({minimum} bytes)");

        ulong U64(int at) => BinaryPrimitives.ReadUInt64BigEndian(fixedPart.AsSpan(at));
        uint U32(int at) => BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(at));

        ulong backingFileOffset = U64(8);
        uint backingFileSize = U32(16);
        uint clusterBits = U32(20);
        ulong size = U64(24);
        uint cryptMethod = U32(32);
        uint l1Size = U32(36);
        ulong l1TableOffset = U64(40);
        ulong refcountTableOffset = U64(48);
        uint refcountTableClusters = U32(56);
        uint snapshotCount = U32(60);
        ulong snapshotsOffset = U64(64);
        ulong incompatible = version == 3 ? U64(72) : 0;
        ulong autoclear = version == 3 ? U64(88) : 0;
        uint refcountOrder = version == 3 ? U32(96) : 4;
        uint headerLength = version == 3 ? U32(100) : Version2Length;

        if (clusterBits is < MinClusterBits or > MaxClusterBits)
            throw Refuse(path, $"cluster_bits {clusterBits} is outside {MinClusterBits}..{MaxClusterBits} (512 bytes to 2 MiB clusters)");
        int clusterSize = 1 << (int)clusterBits;
        if (version == 3 && (headerLength < Version3MinimumLength || headerLength % 8 != 0 || headerLength > clusterSize))
            throw Refuse(path, $"header_length {headerLength} is not a multiple of 8 between {Version3MinimumLength} and the cluster size {clusterSize}");
        if (fileLength < headerLength)
            throw Refuse(path, $"truncated: {fileLength} bytes is shorter than the {headerLength}-byte header");

        // The first cluster holds the header, its extensions and the backing file name.
        byte[] first = new byte[Math.Min(clusterSize, fileLength)];
        file.Read(first, 0);
        var extensions = ReadExtensions(path, first, (int)headerLength);

        // Refusals of features, the most specific first, so the user learns what to do about the image.
        if (backingFileOffset != 0)
            throw Refuse(path, $"has a backing file{BackingName(first, backingFileOffset, backingFileSize)}, which is not supported (flatten it first: qemu-img convert -O qcow2 {path} NEW)");
        if (cryptMethod != 0)
            throw Refuse(path, $"is encrypted ({(cryptMethod switch { 1 => "AES", 2 => "LUKS", _ => $"crypt_method {cryptMethod}" })}), which is not supported");
        if ((incompatible & ExternalDataFileBit) != 0)
            throw Refuse(path, $"uses an external data file{(extensions.ExternalDataFile is { } x ? $" ({x})" : "")}, which is not supported");
        if ((incompatible & ExtendedL2Bit) != 0)
            throw Refuse(path, "uses extended L2 entries (subclusters), which are not supported");
        byte compressionType = headerLength > 104 ? first[104] : (byte)0;
        if ((incompatible & CompressionTypeBit) != 0 || compressionType != 0)
        {
            if ((incompatible & CompressionTypeBit) == 0 || compressionType == 0)
                throw Refuse(path, $"compression type bit and compression_type field ({compressionType}) disagree (corrupt header)");
            throw Refuse(path, $"uses {(compressionType == 1 ? "zstd" : $"compression type {compressionType}")} compression, which is not supported (only deflate)");
        }
        ulong unknown = incompatible & ~KnownIncompatible;
        if (unknown != 0)
        {
            int bit = System.Numerics.BitOperations.TrailingZeroCount(unknown);
            string name = extensions.FeatureNames.TryGetValue((0, bit), out string? n) ? $" ({n})" : "";
            throw Refuse(path, $"has unknown incompatible feature bit {bit}{name}");
        }
        if ((incompatible & CorruptBit) != 0)
            throw Refuse(path, $"is marked corrupt; repair it with qemu-img check -r all {path}");
        if ((incompatible & DirtyBit) != 0)
            throw Refuse(path, $"has the dirty bit set (refcounts not written back after lazy updates); repair it with qemu-img check -r all {path}");
        if (refcountOrder > 6)
            throw Refuse(path, $"refcount_order {refcountOrder} is above 6 (64-bit refcounts)");

        // Geometry: the L1 table must map the whole virtual disk, and every table must lie inside the file.
        if (size > long.MaxValue) throw Refuse(path, $"virtual size {size} is too large");
        ulong guestClusters = (size + (ulong)clusterSize - 1) >> (int)clusterBits;
        int l2Bits = (int)clusterBits - 3;
        ulong l1Needed = (guestClusters + (1UL << l2Bits) - 1) >> l2Bits;
        if (l1Size < l1Needed)
            throw Refuse(path, $"L1 table of {l1Size} entries cannot map the virtual size {size} ({l1Needed} entries needed)");
        if ((ulong)l1Size * 8 > MaxL1Bytes)
            throw Refuse(path, $"L1 table of {l1Size} entries is above the 32 MiB limit");
        if (l1Size > 0)
            CheckTable(path, "L1 table", l1TableOffset, (ulong)l1Size * 8, clusterSize, fileLength);
        if (refcountTableClusters == 0)
            throw Refuse(path, "refcount table has no clusters");
        if ((ulong)refcountTableClusters * (ulong)clusterSize > MaxRefcountTableBytes)
            throw Refuse(path, $"refcount table of {refcountTableClusters} clusters is above the 8 MiB limit");
        CheckTable(path, "refcount table", refcountTableOffset, (ulong)refcountTableClusters << (int)clusterBits, clusterSize, fileLength);
        if (snapshotCount > 65536)
            throw Refuse(path, $"{snapshotCount} snapshots is above the 65536 limit");
        if (snapshotCount > 0)
            CheckTable(path, "snapshot table", snapshotsOffset, 1, clusterSize, fileLength);

        return new Qcow2Header
        {
            Version = version,
            ClusterBits = (int)clusterBits,
            Size = size,
            L1Size = l1Size,
            L1TableOffset = l1TableOffset,
            RefcountTableOffset = refcountTableOffset,
            RefcountTableClusters = refcountTableClusters,
            SnapshotCount = snapshotCount,
            SnapshotsOffset = snapshotsOffset,
            AutoclearFeatures = autoclear,
            RefcountOrder = (int)refcountOrder,
        };
    }

    /// <summary>A table must start on a cluster after the header's and end inside the file.</summary>
    private static void CheckTable(string path, string what, ulong offset, ulong bytes, int clusterSize, long fileLength)
    {
        if (offset == 0 || offset % (ulong)clusterSize != 0)
            throw Refuse(path, $"{what} offset 0x{offset:x} is not a cluster boundary after the header (corrupt header)");
        if (offset > (ulong)fileLength || bytes > (ulong)fileLength - offset)
            throw Refuse(path, $"{what} (0x{bytes:x} bytes at 0x{offset:x}) lies beyond the end of the file ({fileLength} bytes): truncated or corrupt");
    }

    private sealed class Extensions
    {
        public readonly Dictionary<(int Type, int Bit), string> FeatureNames = [];
        public string? ExternalDataFile;
    }

    /// <summary>Walks the extensions after the header; unknown ones are skipped, as the format allows.</summary>
    private static Extensions ReadExtensions(string path, byte[] first, int at)
    {
        var result = new Extensions();
        while (at + 8 <= first.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(first.AsSpan(at));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(first.AsSpan(at + 4));
            if (type == EndOfExtensions) return result;
            if (length > first.Length - at - 8)
                throw Refuse(path, $"header extension 0x{type:x8} at offset {at} ({length} bytes) overruns the first cluster (corrupt header)");
            var data = first.AsSpan(at + 8, (int)length);
            switch (type)
            {
                case FeatureNameTableExtension:
                    for (int i = 0; i + 48 <= data.Length; i += 48)
                        result.FeatureNames[(data[i], data[i + 1])] = Text(data.Slice(i + 2, 46));
                    break;
                case ExternalDataFileExtension:
                    result.ExternalDataFile = Text(data);
                    break;
                case BackingFormatExtension or BitmapsExtension or EncryptionHeaderExtension:
                    break; // meaningful only with features refused above (bitmaps: see the autoclear bits)
                default:
                    break;
            }
            at += 8 + (int)((length + 7) & ~7u);
        }
        return result; // the extensions fill the cluster without an end marker
    }

    private static string BackingName(byte[] first, ulong offset, uint size)
    {
        if (size is 0 or > 1023 || offset >= (ulong)first.Length || size > (ulong)first.Length - offset) return "";
        return $" '{Text(first.AsSpan((int)offset, (int)size))}'";
    }

    private static string Text(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        string s = Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        return new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }

    private static DiskImageException Refuse(string path, string problem) => new($"{path}: {problem}");
}
