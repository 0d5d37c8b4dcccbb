using System.Buffers.Binary;

namespace Jit.Runtime.Memory;

/// <summary>How an access to guest memory by the hypervisor or a device ended.</summary>
public enum GuestMemoryStatus
{
    Ok,
    /// <summary>Part of the range is not memory of the domain (unmapped, or a device's registers).</summary>
    NotMapped,
    /// <summary>A write reached a page the domain may only read.</summary>
    ReadOnly,
}

/// <summary>
/// A domain's memory as the hypervisor and its services reach it: a range of intermediate physical addresses
/// in, a status out, never an exception, whatever the guest put in the registers or descriptors that named the
/// range. Nothing else is checked: the caller decides what a failure means to the guest. An aligned access of
/// 2, 4 or 8 bytes is single-copy atomic, as the guest's own would be (ring indices rely on it).
/// </summary>
public interface IGuestMemory
{
    GuestMemoryStatus Read(ulong ipa, Span<byte> destination);

    GuestMemoryStatus Write(ulong ipa, ReadOnlySpan<byte> source);

    /// <summary>
    /// What a read (or a write) of the page holding <paramref name="ipa"/> would meet, found without touching it:
    /// the SMMU asks before any byte of a DMA moves, so a refused one leaves nothing behind and is recorded as the
    /// hypervisor's stage 2 fault. Memory that cannot tell answers Ok and lets the access itself decide.
    /// </summary>
    GuestMemoryStatus Probe(ulong ipa, bool write) => GuestMemoryStatus.Ok;
}

/// <summary>
/// A device's bus-master port: its DMA. Today the domain's memory itself (stage 2 only); with an SMMU, the
/// device's stream, which translates and checks every access before it reaches an <see cref="IGuestMemory"/>.
/// </summary>
public interface IDmaPort : IGuestMemory;

/// <summary>Little-endian scalar accesses on guest memory.</summary>
public static class GuestMemoryExtensions
{
    public static GuestMemoryStatus ReadUInt16(this IGuestMemory m, ulong ipa, out ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        var s = m.Read(ipa, b);
        value = s == GuestMemoryStatus.Ok ? BinaryPrimitives.ReadUInt16LittleEndian(b) : (ushort)0;
        return s;
    }

    public static GuestMemoryStatus ReadUInt32(this IGuestMemory m, ulong ipa, out uint value)
    {
        Span<byte> b = stackalloc byte[4];
        var s = m.Read(ipa, b);
        value = s == GuestMemoryStatus.Ok ? BinaryPrimitives.ReadUInt32LittleEndian(b) : 0;
        return s;
    }

    public static GuestMemoryStatus ReadUInt64(this IGuestMemory m, ulong ipa, out ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        var s = m.Read(ipa, b);
        value = s == GuestMemoryStatus.Ok ? BinaryPrimitives.ReadUInt64LittleEndian(b) : 0;
        return s;
    }

    public static GuestMemoryStatus WriteUInt16(this IGuestMemory m, ulong ipa, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return m.Write(ipa, b);
    }

    public static GuestMemoryStatus WriteUInt32(this IGuestMemory m, ulong ipa, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return m.Write(ipa, b);
    }

    public static GuestMemoryStatus WriteUInt64(this IGuestMemory m, ulong ipa, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return m.Write(ipa, b);
    }
}
