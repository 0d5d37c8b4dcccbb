using System.Diagnostics;
using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>A guest that attacks the SMMU: random registers, commands, tables and DMA must never throw, hang or leak.</summary>
public sealed class SmmuHostileTests : IDisposable
{
    private static readonly ulong[] Registers =
    [
        SmmuRegs.Idr0, SmmuRegs.Cr0, SmmuRegs.Cr1, SmmuRegs.Cr2, SmmuRegs.Gbpa, SmmuRegs.IrqCtrl, SmmuRegs.Gerrorn,
        SmmuRegs.GerrorIrqCfg0, SmmuRegs.GerrorIrqCfg1, SmmuRegs.GerrorIrqCfg2, SmmuRegs.StrtabBase, SmmuRegs.StrtabBaseCfg,
        SmmuRegs.CmdqBase, SmmuRegs.CmdqProd, SmmuRegs.CmdqCons, SmmuRegs.EventqBase, SmmuRegs.EventqIrqCfg0,
        SmmuRegs.EventqIrqCfg1, SmmuRegs.EventqIrqCfg2, SmmuRegs.EventqProd, SmmuRegs.EventqCons, 0x100C8, 0xFFC, 0x1FFFC,
    ];

    private static readonly byte[] Opcodes =
    [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x18, 0x20, 0x28, 0x2A, 0x30, 0x40, 0x44, 0x46, 0xFF,
    ];

    private readonly SmmuTestBed bed = new();
    private readonly bool quiet = Log.Quiet;

    public SmmuHostileTests() => Log.Quiet = true;

    public void Dispose()
    {
        Log.Quiet = quiet;
        bed.Dispose();
    }

    private static ulong RamAddress(Random r) => Virtio.GuestRam.Base + (ulong)r.NextInt64((long)Virtio.GuestRam.Size) & ~0xFUL;

    private static ulong AnyAddress(Random r) => r.Next(4) switch
    {
        0 => RamAddress(r),
        1 => (ulong)r.NextInt64(),
        2 => ulong.MaxValue - (ulong)r.Next(0x3000),
        _ => (ulong)r.Next(0x10_0000),
    };

    [Fact]
    public void RandomRegistersCommandsTablesAndDmaNeverThrow()
    {
        var r = new Random(20_240_516);
        bed.Init();
        var watch = Stopwatch.StartNew();
        var buffer = new byte[9000];
        int tablesBuilt = 0, translated = 0;
        for (int i = 0; i < 10_000; i++)
        {
            switch (r.Next(8))
            {
                case 0:
                {
                    ulong offset = r.Next(3) == 0 ? (ulong)r.Next(0x20000) : Registers[r.Next(Registers.Length)] + (ulong)(r.Next(8) == 0 ? r.Next(8) : 0);
                    int size = 1 << r.Next(4);
                    offset = Math.Min(offset, 0x20000UL - (ulong)size);
                    ulong value = r.Next(3) switch { 0 => RamAddress(r) | (uint)r.Next(32), 1 => (ulong)r.NextInt64(), _ => (ulong)r.Next(64) };
                    if (r.Next(2) == 0) bed.Smmu.Write(offset, size, value);
                    else bed.Smmu.Read(offset, size, out _);
                    break;
                }
                case 1:
                {
                    // A command, well-formed in its opcode or not, published with a random producer jump.
                    ulong at = bed.CommandQueueBase + (ulong)r.Next(1 << bed.CommandQueueLog2) * 16;
                    ulong d0 = (ulong)r.NextInt64() & ~0xFFUL | Opcodes[r.Next(Opcodes.Length)];
                    bed.Ram.W64(at, d0);
                    bed.Ram.W64(at + 8, r.Next(2) == 0 ? RamAddress(r) : (ulong)r.NextInt64());
                    bed.Smmu.Write(SmmuRegs.CmdqProd, 4, (ulong)r.Next(1 << 20));
                    break;
                }
                case 2:
                {
                    // Scribble over a stream table entry, a level 1 descriptor or a CD-looking place.
                    ulong at = r.Next(2) == 0 ? bed.SteAddress((uint)r.Next(64)) : RamAddress(r);
                    for (int w = 0; w < 8; w++)
                        bed.Ram.W64(at + (ulong)w * 8, r.Next(3) switch
                        {
                            0 => SmmuTestBed.SteDword0(r.Next(8), RamAddress(r) & ~0x3FUL, r.Next(10), r.Next(4)),
                            1 => RamAddress(r) | (uint)r.Next(16),
                            _ => (ulong)r.NextInt64(),
                        });
                    break;
                }
                case 3 when tablesBuilt++ < 100: // each costs up to 13 pages of the guest's 16 MiB
                {
                    // A plausible stage 1 or stage 2 stream with random leaves.
                    uint sid = (uint)r.Next(64);
                    var tables = new TableBuilder(bed.Ram, startLevel: r.Next(2));
                    for (int m = 0; m < 4; m++)
                        tables.Map((ulong)r.Next(1 << 20) << 12, RamAddress(r) & ~0xFFFUL, (ulong)r.Next(1 << 12) & ~3UL);
                    if (r.Next(2) == 0)
                        bed.WriteSte(sid, SmmuTestBed.SteDword0(0b101, bed.WriteCd(SmmuTestBed.CdDword0((ushort)r.Next(), t0sz: 16 + r.Next(30)), tables.RootAddress)), invalidate: false);
                    else
                        bed.WriteSte(sid, SmmuTestBed.SteDword0(r.Next(2) == 0 ? 0b110 : 0b111, RamAddress(r) & ~0x3FUL),
                            d2: SmmuTestBed.SteDword2((ushort)r.Next(), 25 + r.Next(25), r.Next(4), r.Next(4), r.Next(8)), d3: tables.RootAddress, invalidate: false);
                    bed.Command(SmmuRegs.CfgiSte, (ulong)sid << 32);
                    break;
                }
                case 4 or 5:
                {
                    uint sid = (uint)(r.Next(4) == 0 ? r.Next() : r.Next(64));
                    var port = r.Next(4) == 0 ? bed.Smmu.PortFor(sid, (uint)r.Next(1 << 20)) : bed.Smmu.PortFor(sid);
                    var span = buffer.AsSpan(0, r.Next(4) == 0 ? r.Next(buffer.Length) : 1 << r.Next(4));
                    var status = r.Next(2) == 0 ? port.Read(AnyAddress(r), span) : port.Write(AnyAddress(r), span);
                    if (status == GuestMemoryStatus.Ok) translated++;
                    break;
                }
                case 6:
                    bed.Smmu.MsiRemapper(bed.Its).Deliver(AnyAddress(r), (uint)r.Next(), (uint)r.Next(64));
                    break;
                default:
                    // The driver's housekeeping: acknowledge errors, consume events.
                    bed.Smmu.Write(SmmuRegs.Gerrorn, 4, bed.R32(SmmuRegs.Gerror));
                    bed.Smmu.Write(SmmuRegs.EventqCons, 4, bed.R32(SmmuRegs.EventqProd));
                    break;
            }
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"10^4 hostile operations took {watch.Elapsed}");
        // Not all refused: some of the attacks went through translation (or bypass) to memory.
        Assert.True(translated > 0 && bed.Observed.Count > 100, $"{translated} accesses went through, {bed.Observed.Count} events");
    }

    [Fact]
    public void RandomDmaLandsOnlyWhereTheStreamMaps()
    {
        var r = new Random(77);
        bed.Init();
        const uint sid = 0x28;
        var tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(3), tables.RootAddress);
        bed.WriteSte(sid, SmmuTestBed.SteDword0(0b101, cd));
        // Eight writable pages and two read-only ones scattered over an IOVA window of 64 pages.
        var writable = new List<(ulong Iova, ulong Pa)>();
        var readOnly = new List<ulong>();
        for (int i = 0; i < 10; i++)
        {
            ulong iova = 0x100_0000 + (ulong)(i * 6 + r.Next(6)) * 0x1000, pa = bed.Ram.Alloc(4096);
            bool ro = i >= 8;
            tables.Map(iova, pa, SmmuRegs.S1ReadWrite | (ro ? SmmuRegs.ApReadOnly : 0));
            if (ro) readOnly.Add(pa);
            else writable.Add((iova, pa));
        }
        var before = bed.Ram.Snapshot();
        var port = bed.Smmu.PortFor(sid);
        var data = new byte[20000];
        for (int i = 0; i < 10_000; i++)
        {
            r.NextBytes(data.AsSpan(0, 64));
            ulong iova = 0x100_0000 - 0x2000 + (ulong)r.Next(68 * 0x1000);
            port.Write(iova, data.AsSpan(0, r.Next(2) == 0 ? r.Next(1, 16) : r.Next(1, data.Length)));
            if (i % 64 == 0) bed.DrainEvents();
        }
        var after = bed.Ram.Snapshot();
        bool Allowed(ulong pa) =>
            writable.Any(w => pa - w.Pa < 4096)
            || pa - bed.EventQueueBase < (32UL << bed.EventQueueLog2)
            || pa - bed.CommandQueueBase < (16UL << bed.CommandQueueLog2);
        for (int i = 0; i < after.Length; i++)
            if (after[i] != before[i]) Assert.True(Allowed(Virtio.GuestRam.Base + (ulong)i), $"byte at 0x{Virtio.GuestRam.Base + (ulong)i:x} changed");
        foreach (ulong pa in readOnly) Assert.Equal(new byte[4096], bed.Ram.Read(pa, 4096));
    }
}
