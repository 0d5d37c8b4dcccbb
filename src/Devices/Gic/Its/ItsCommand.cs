using System.Buffers.Binary;

namespace Jit.Devices.Gic.Its;

/// <summary>
/// One 32-byte ITS command as four little-endian doublewords, with its fields where the GICv3 specification's
/// command descriptions place them. Fields a command does not use are simply never read.
/// </summary>
internal readonly struct ItsCommand(ulong dw0, ulong dw1, ulong dw2, ulong dw3)
{
    public const int Size = 32;

    public const byte Movi = 0x01, Int = 0x03, Clear = 0x04, Sync = 0x05, Mapd = 0x08, Mapc = 0x09, Mapti = 0x0A,
        Mapi = 0x0B, Inv = 0x0C, Invall = 0x0D, Movall = 0x0E, Discard = 0x0F;

    public static ItsCommand From(ReadOnlySpan<byte> raw) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(raw),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[24..]));

    public byte Number => (byte)dw0;
    public uint DeviceId => (uint)(dw0 >> 32);
    public uint EventId => (uint)dw1;
    /// <summary>MAPTI's pINTID.</summary>
    public uint PhysicalId => (uint)(dw1 >> 32);
    /// <summary>MAPD's Size: the number of EventID bits minus one.</summary>
    public int EventIdBitsMinusOne => (int)(dw1 & 0x1F);
    /// <summary>MAPD's ITT_addr, bits [51:8]: ITTs are 256-byte aligned.</summary>
    public ulong IttAddress => dw2 & 0x000F_FFFF_FFFF_FF00UL;
    /// <summary>The V bit of MAPD and MAPC.</summary>
    public bool Valid => (dw2 >> 63) != 0;
    public ushort Icid => (ushort)dw2;
    /// <summary>RDbase of MAPC, SYNC and MOVALL (its first): with GITS_TYPER.PTA = 0, a processor number.</summary>
    public ulong RdBase => dw2 >> 16 & 0xF_FFFF_FFFFUL;
    /// <summary>MOVALL's second RDbase.</summary>
    public ulong RdBase2 => dw3 >> 16 & 0xF_FFFF_FFFFUL;

    public string Name => Number switch
    {
        Movi => "MOVI", Int => "INT", Clear => "CLEAR", Sync => "SYNC", Mapd => "MAPD", Mapc => "MAPC",
        Mapti => "MAPTI", Mapi => "MAPI", Inv => "INV", Invall => "INVALL", Movall => "MOVALL", Discard => "DISCARD",
        _ => $"command 0x{Number:x2}",
    };
}

/// <summary>Why a command or a translation did nothing (an ITS command error, or a translation that generates no LPI).</summary>
internal enum ItsError
{
    None,
    UnknownCommand,
    DeviceIdOutOfRange,
    UnmappedDevice,
    EventIdOutOfRange,
    UnmappedEvent,
    CollectionIdOutOfRange,
    UnmappedCollection,
    LpiOutOfRange,
    TargetOutOfRange,
    ItsTableUnwritable,
    RedistributorRefused,
}
