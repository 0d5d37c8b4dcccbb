using System.Buffers.Binary;
using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Benchmarks;

/// <summary>
/// Where the benchmark guests keep things in RAM bank 0, and the stage-1 tables that identity-map them with
/// the MMU on, as a Linux kernel runs: every TLB miss then costs a real four-level walk, and every MMIO access
/// (never cached in the TLB) pays one too.
/// </summary>
public static unsafe class GuestLayout
{
    public const ulong RamBase = 0x4000_0000;
    public const ulong RamSize = 16 << 20;
    public const ulong Code = RamBase;
    /// <summary>64 KiB of data, apart from the code so that stores never land on a page holding code.</summary>
    public const ulong Data = RamBase + 0x10_0000, DataSize = 0x1_0000;
    private const ulong Tables = RamBase + 0x80_0000;

    // Descriptor bits (D8.3): valid, table/page, AF, AttrIndx (MAIR slot), inner shareable.
    private const ulong Valid = 1, TableOrPage = 2, Af = 1UL << 10, InnerShareable = 3UL << 8;
    private const ulong NormalAttr = 1UL << 2, DeviceAttr = 0;
    private const ulong Uxn = 1UL << 54, Pxn = 1UL << 53;
    // TCR_EL1: T0SZ = 16 (48-bit VAs), 4 KiB granule, TTBR1 walks disabled (EPD1), 44-bit IPS.
    private const ulong Tcr = 16 | (1UL << 23) | (2UL << 30) | (4UL << 32);
    // MAIR_EL1: slot 0 Device-nGnRnE, slot 1 Normal write-back.
    private const ulong Mair = 0xFF00;

    public static void WriteCode(PhysicalMemory ram, ulong pa, IEnumerable<uint> words)
    {
        byte[] bytes = words.SelectMany(w => BitConverter.GetBytes(w)).ToArray();
        ram.Write(pa, bytes);
    }

    /// <summary>
    /// Maps the code and data pages as Normal memory and <paramref name="devicePages"/> as Device memory,
    /// one-to-one, and turns the MMU on for <paramref name="s"/>.
    /// </summary>
    public static void EnableMmu(CpuState* s, PhysicalMemory ram, params ulong[] devicePages)
    {
        var tables = new TableBuilder(ram, Tables);
        for (ulong off = 0; off < 0x1_0000; off += 0x1000) tables.Map(Code + off, NormalAttr | InnerShareable);
        for (ulong off = 0; off < DataSize; off += 0x1000) tables.Map(Data + off, NormalAttr | InnerShareable | Uxn | Pxn);
        foreach (ulong page in devicePages) tables.Map(page, DeviceAttr | Uxn | Pxn);
        s->TcrEl1 = Tcr;
        s->MairEl1 = Mair;
        s->Ttbr0El1 = Tables;
        s->SctlrEl1 |= 1;
    }

    private sealed class TableBuilder(PhysicalMemory ram, ulong root)
    {
        private ulong next = root + 0x1000;

        public void Map(ulong va, ulong attrs)
        {
            ulong table = root;
            for (int level = 0; level < 3; level++)
            {
                ulong slot = table + ((va >> (39 - 9 * level)) & 511) * 8;
                ulong desc = Read(slot);
                if ((desc & Valid) == 0)
                {
                    desc = next | Valid | TableOrPage;
                    next += 0x1000;
                    Write(slot, desc);
                }
                table = desc & 0x0000_FFFF_FFFF_F000;
            }
            Write(table + ((va >> 12) & 511) * 8, va | attrs | Af | Valid | TableOrPage);
        }

        private ulong Read(ulong pa)
        {
            Span<byte> b = stackalloc byte[8];
            ram.Read(pa, b);
            return BinaryPrimitives.ReadUInt64LittleEndian(b);
        }

        private void Write(ulong pa, ulong value)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            ram.Write(pa, b);
        }
    }
}
