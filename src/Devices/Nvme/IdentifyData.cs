using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Jit.Devices.Nvme;

/// <summary>
/// The data structures Identify returns (NVMe 1.4 5.15, Identify command), 4096 bytes each, for a controller with one namespace of
/// 512-byte blocks. Built once into arrays; the command copies them to the host.
/// </summary>
internal sealed class IdentifyData
{
    public const int Size = 4096;
    public const int LbaShift = 9;
    /// <summary>MDTS: 2^7 pages of CAP.MPSMIN (4 KiB), 512 KiB per command.</summary>
    public const byte MaxDataTransferShift = 7;
    public const int MaxTransferBytes = (1 << MaxDataTransferShift) << NvmeRegisters.MinPageShift;
    /// <summary>ACL and AERL, 0's based: four Abort and four Asynchronous Event Request commands outstanding.</summary>
    public const byte AbortLimit = 3, AsyncEventLimit = 3;
    /// <summary>Entries of the Error Information log (ELPE + 1).</summary>
    public const int ErrorLogEntries = 1;
    public const string Model = "Jit NVMe Controller";
    public const string FirmwareRevision = "1.0";

    // Identify Controller Data Structure, byte offsets.
    private const int Vid = 0, Ssvid = 2, Sn = 4, Mn = 24, Fr = 64, Rab = 72, Mdts = 77, Ver = 80, CntrlType = 111,
        Acl = 258, Aerl = 259, Frmw = 260, Elpe = 262, Npss = 263, Wctemp = 266, Cctemp = 268, Sqes = 512, Cqes = 513, Nn = 516,
        Oncs = 520, Vwc = 525, Nvscc = 530, Sgls = 536, SubNqn = 768, PowerState0 = 2048;
    // Identify Namespace Data Structure (NVM command set), byte offsets.
    private const int Nsze = 0, Ncap = 8, Nuse = 16, Nlbaf = 25, Flbas = 26, Nvmcap = 48, Nsattr = 99, Nguid = 104, Lbaf0 = 128;

    // ONCS: Dataset Management (bit 2) and Write Zeroes (bit 3).
    public const ushort OptionalNvmCommands = 1 << 2 | 1 << 3;
    // VWC: a volatile write cache (bit 0); Flush takes NSID FFFFFFFFh (bits 2:1 = 11b).
    private const byte VolatileWriteCache = 0b111;

    public readonly byte[] Controller = new byte[Size];
    public readonly byte[] Namespace = new byte[Size];
    public readonly byte[] NamespaceDescriptors = new byte[Size];
    public readonly byte[] NamespaceGuid;

    /// <param name="blocks">The namespace's size in 512-byte blocks.</param>
    public IdentifyData(ushort vendorId, string serial, ulong blocks, bool writeProtected)
    {
        var c = Controller.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(c[Vid..], vendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(c[Ssvid..], vendorId);
        Ascii(c.Slice(Sn, 20), serial);
        Ascii(c.Slice(Mn, 40), Model);
        Ascii(c.Slice(Fr, 8), FirmwareRevision);
        c[Rab] = 6;
        c[Mdts] = MaxDataTransferShift;
        BinaryPrimitives.WriteUInt32LittleEndian(c[Ver..], NvmeRegisters.Version);
        c[CntrlType] = 1; // I/O controller
        c[Acl] = AbortLimit;
        c[Aerl] = AsyncEventLimit;
        c[Frmw] = 1 | 1 << 1; // slot 1 read-only, one slot
        c[Elpe] = ErrorLogEntries - 1;
        c[Npss] = 0;          // power state 0 only
        // Temperatures in kelvins, nonzero as 1.4 asks of controllers that report SMART temperature.
        BinaryPrimitives.WriteUInt16LittleEndian(c[Wctemp..], 343);
        BinaryPrimitives.WriteUInt16LittleEndian(c[Cctemp..], 373);
        c[Sqes] = 6 << 4 | 6;
        c[Cqes] = 4 << 4 | 4;
        BinaryPrimitives.WriteUInt32LittleEndian(c[Nn..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(c[Oncs..], OptionalNvmCommands);
        c[Vwc] = VolatileWriteCache;
        c[Nvscc] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(c[Sgls..], 0); // SGLs not supported
        // 7.9, NVMe Qualified Names: with no naming authority of our own, the UUID form of an NQN, stable for a serial.
        Ascii(c.Slice(SubNqn, 256), "nqn.2014-08.org.nvmexpress:uuid:" + HashUuid("subsystem", serial), pad: 0);
        BinaryPrimitives.WriteUInt16LittleEndian(c[PowerState0..], 2500); // MP: 25 W in centiwatts

        var n = Namespace.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(n[Nsze..], blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(n[Ncap..], blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(n[Nuse..], blocks);
        n[Nlbaf] = 0;  // one LBA format
        n[Flbas] = 0;  // format 0, no metadata
        BinaryPrimitives.WriteUInt64LittleEndian(n[Nvmcap..], blocks << LbaShift);
        n[Nsattr] = writeProtected ? (byte)1 : (byte)0;
        NamespaceGuid = SHA256.HashData(Encoding.UTF8.GetBytes("jit-nvme-namespace:" + serial))[..16];
        NamespaceGuid.CopyTo(n[Nguid..]);
        BinaryPrimitives.WriteUInt32LittleEndian(n[Lbaf0..], LbaShift << 16); // LBADS 9, no metadata, best performance

        // Namespace Identification Descriptor: NIDT 2 (NGUID), NIDL 16; a zero NIDT ends the list.
        var d = NamespaceDescriptors.AsSpan();
        d[0] = 2;
        d[1] = 16;
        NamespaceGuid.CopyTo(d[4..]);
    }

    private static void Ascii(Span<byte> field, string text, byte pad = (byte)' ')
    {
        field.Fill(pad);
        for (int i = 0; i < field.Length && i < text.Length; i++)
            field[i] = text[i] is >= ' ' and <= '~' ? (byte)text[i] : (byte)'_';
    }

    /// <summary>A version 8 (RFC 9562, custom) UUID from a hash, so the same serial names the same subsystem in every run.</summary>
    private static string HashUuid(string kind, string serial)
    {
        byte[] b = SHA256.HashData(Encoding.UTF8.GetBytes($"jit-nvme-{kind}:{serial}"))[..16];
        b[6] = (byte)(0x80 | (b[6] & 0x0F));
        b[8] = (byte)(0x80 | (b[8] & 0x3F));
        string h = Convert.ToHexStringLower(b);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }
}
