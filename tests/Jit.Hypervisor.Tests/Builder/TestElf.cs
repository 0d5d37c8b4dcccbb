using System.Buffers.Binary;

namespace Jit.Hypervisor.Tests.Builder;

/// <summary>Writes small ELF64 files for loader tests, with every header field open to corruption.</summary>
internal sealed class TestElf
{
    public sealed record Segment(uint Type, ulong PhysicalAddress, byte[] Data, ulong MemorySize);

    public byte Class = 2;
    public byte DataEncoding = 1;
    public ushort Type = 2;
    public ushort Machine = 183;
    public ulong Entry = 0x4000_0000;
    public ushort PhEntSize = 56;
    public List<Segment> Segments = [];

    public TestElf Load(ulong paddr, byte[] data, ulong? memsz = null)
    {
        Segments.Add(new Segment(1, paddr, data, memsz ?? (ulong)data.Length));
        return this;
    }

    public byte[] Build()
    {
        int phoff = 64;
        int dataOff = phoff + Segments.Count * 56;
        int total = dataOff + Segments.Sum(s => s.Data.Length);
        var b = new byte[total];
        var d = b.AsSpan();
        // Magic: 0x7F "ELF".
        b[0] = 0x7F; b[1] = (byte)'E'; b[2] = (byte)'L'; b[3] = (byte)'F';
        b[4] = Class;
        b[5] = DataEncoding;
        b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(d[16..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(d[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(d[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(d[24..], Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(d[32..], (ulong)phoff);
        BinaryPrimitives.WriteUInt16LittleEndian(d[52..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(d[54..], PhEntSize);
        BinaryPrimitives.WriteUInt16LittleEndian(d[56..], (ushort)Segments.Count);
        int at = dataOff;
        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            var ph = d.Slice(phoff + i * 56, 56);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, s.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)at);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], s.PhysicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], s.PhysicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)s.Data.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], s.MemorySize);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);
            s.Data.CopyTo(d[at..]);
            at += s.Data.Length;
        }
        return b;
    }
}
