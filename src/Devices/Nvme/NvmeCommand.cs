using System.Buffers.Binary;

namespace Jit.Devices.Nvme;

/// <summary>A 64-byte submission queue entry (NVMe 1.4 4.2, "Common Command Format"), decoded once as it is fetched.</summary>
internal readonly struct NvmeCommand
{
    public readonly byte Opcode;
    /// <summary>FUSE, bits 9:8 of dword 0: fused operations are not supported (FUSES = 0).</summary>
    public readonly byte Fuse;
    /// <summary>PSDT, bits 15:14 of dword 0: 0 is PRPs; SGLs are not supported (SGLS = 0).</summary>
    public readonly byte DataPointerType;
    public readonly ushort CommandId;
    public readonly uint NamespaceId;
    public readonly ulong Prp1, Prp2;
    public readonly uint Cdw10, Cdw11, Cdw12, Cdw13, Cdw14, Cdw15;

    public NvmeCommand(ReadOnlySpan<byte> entry)
    {
        uint dword0 = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        Opcode = (byte)dword0;
        Fuse = (byte)(dword0 >> 8 & 3);
        DataPointerType = (byte)(dword0 >> 14 & 3);
        CommandId = (ushort)(dword0 >> 16);
        NamespaceId = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
        Prp1 = BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]);
        Prp2 = BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]);
        Cdw10 = BinaryPrimitives.ReadUInt32LittleEndian(entry[40..]);
        Cdw11 = BinaryPrimitives.ReadUInt32LittleEndian(entry[44..]);
        Cdw12 = BinaryPrimitives.ReadUInt32LittleEndian(entry[48..]);
        Cdw13 = BinaryPrimitives.ReadUInt32LittleEndian(entry[52..]);
        Cdw14 = BinaryPrimitives.ReadUInt32LittleEndian(entry[56..]);
        Cdw15 = BinaryPrimitives.ReadUInt32LittleEndian(entry[60..]);
    }
}

/// <summary>NVMe 1.4 5, figure "Opcodes for Admin Commands": the ones this controller serves.</summary>
public static class AdminOpcode
{
    public const byte DeleteIoSubmissionQueue = 0x00, CreateIoSubmissionQueue = 0x01, GetLogPage = 0x02,
        DeleteIoCompletionQueue = 0x04, CreateIoCompletionQueue = 0x05, Identify = 0x06, Abort = 0x08,
        SetFeatures = 0x09, GetFeatures = 0x0A, AsynchronousEventRequest = 0x0C;
}

/// <summary>NVMe 1.4 6, figure "Opcodes for NVM Commands": the ones this controller serves.</summary>
public static class IoOpcode
{
    public const byte Flush = 0x00, Write = 0x01, Read = 0x02, WriteZeroes = 0x08, DatasetManagement = 0x09;
}
