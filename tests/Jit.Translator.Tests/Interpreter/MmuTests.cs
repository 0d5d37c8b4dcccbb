using Jit.Runtime;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>Stage-1 translation driven the way a kernel does it: tables in RAM, TCR/TTBR/MAIR, SCTLR.M.</summary>
public unsafe class MmuTests
{
    private const ulong Tables = 0x4080_0000;      // page tables live here (physical)
    private const ulong Valid = 1, Table = 2, Page = 2, Af = 1UL << 10, ApRo = 1UL << 7, ApEl0 = 1UL << 6;
    private const ulong Uxn = 1UL << 54, Pxn = 1UL << 53;
    private const ulong Normal = 1UL << 2; // AttrIndx 1

    private sealed class Tables48(TestMachine m)
    {
        private ulong next = Tables + 0x1000;
        public ulong Root { get; } = Tables;

        private ulong Read(ulong pa) { Span<byte> b = stackalloc byte[8]; m.Ram.Read(pa, b); return BitConverter.ToUInt64(b); }
        private void Write(ulong pa, ulong v) => m.Ram.Write(pa, BitConverter.GetBytes(v));

        /// <summary>Maps one 4 KiB page through four levels (T0SZ/T1SZ = 16).</summary>
        public void MapPage(ulong va, ulong pa, ulong attrs, ulong root)
        {
            ulong table = root;
            for (int level = 0; level < 3; level++)
            {
                ulong slot = table + ((va >> (39 - 9 * level)) & 511) * 8;
                ulong desc = Read(slot);
                if ((desc & 1) == 0)
                {
                    desc = next | Valid | Table;
                    next += 0x1000;
                    Write(slot, desc);
                }
                table = desc & 0x0000_FFFF_FFFF_F000;
            }
            Write(table + ((va >> 12) & 511) * 8, pa | attrs | Valid | Page);
        }

        public ulong NewRoot()
        {
            ulong r = next;
            next += 0x1000;
            return r;
        }
    }

    // TCR: T0SZ = T1SZ = 16, TG0 = 4K, TG1 = 4K (0b10), IPS = 44 bits.
    private const ulong Tcr = 16 | (16UL << 16) | (2UL << 30) | (4UL << 32);

    private static (TestMachine, Tables48) Start()
    {
        var m = new TestMachine();
        var t = new Tables48(m);
        // Identity-map the first 64 KiB of RAM (code, vectors) as normal EL1 memory.
        for (ulong off = 0; off < 0x10000; off += 0x1000) t.MapPage(TestMachine.RamBase + off, TestMachine.RamBase + off, Af | Normal | Uxn, t.Root);
        return (m, t);
    }

    private static string Enable(ulong ttbr1 = 0) => $"""
        ldr x0, ={Tcr}
        msr tcr_el1, x0
        ldr x0, =0x000000000000ff00
        msr mair_el1, x0
        ldr x0, ={Tables}
        msr ttbr0_el1, x0
        ldr x0, ={ttbr1}
        msr ttbr1_el1, x0
        ldr x0, =0x40000800
        msr vbar_el1, x0
        isb
        mrs x0, sctlr_el1
        orr x0, x0, #1
        msr sctlr_el1, x0
        isb
        """;

    private const string Vectors = """
        .ltorg
        .org 0x800
        .org 0xa00
            hvc #1
        .org 0xc00
            hvc #2
        """;

    [Fact]
    public void AliasMappingSeesTheSamePhysicalPage()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1234_5000, 0x4010_0000, Af | Normal, t.Root);
        t.MapPage(0x7777_0000, 0x4010_0000, Af | Normal, t.Root);
        m.Load(Enable() + "\n" + """
            ldr x1, =0x12345008
            mov x2, #0x77
            str x2, [x1]
            ldr x3, =0x77770008
            ldr x4, [x3]
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)0], m.HvcCalls);
        Assert.Equal(0x77UL, m.X(4));
    }

    /// <summary>
    /// The dispatcher's jump cache remembers which block a virtual PC led to: after the guest points the page at
    /// other code and invalidates the TLB, a call through the same VA must run the new code.
    /// </summary>
    [Theory]
    [InlineData("tlbi vmalle1")]
    [InlineData("tlbi vae1, x8")]
    [InlineData("tlbi vaae1, x8")]
    [InlineData("tlbi vale1, x8")]
    [InlineData("tlbi vaale1, x8")]
    [InlineData("tlbi vae1is, x8")]
    [InlineData("tlbi aside1, xzr")]
    public void RemappedCodePageRunsTheNewCodeAfterTlbi(string tlbi)
    {
        var (m, t) = Start();
        using var _ = m;
        LoadFunctions(m);
        t.MapPage(Va, First, Af | Normal, t.Root);
        m.Load(Enable() + "\n" + $"""
            ldr x5, ={Va}
            lsr x8, x5, #12
            mov x6, #0
            mov x7, #2000
            1:  blr x5
            add x6, x6, x0
            subs x7, x7, #1
            b.ne 1b
            hvc #0
            {tlbi}
            dsb sy
            isb
            blr x5
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(2000UL, m.X(6));
        t.MapPage(Va, Second, Af | Normal, t.Root);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)0, (ushort)0], m.HvcCalls);
        Assert.Equal(2UL, m.X(0));
    }

    // Two functions at two physical pages, returning 1 and 2; the tests map Va to one or the other.
    private const ulong Va = 0x1234_5000, First = 0x4010_0000, Second = 0x4010_1000;

    private static void LoadFunctions(TestMachine m)
    {
        static byte[] ReturnConstant(ushort value) =>
            [.. new[] { 0xD280_0000u | (uint)value << 5, 0xD65F_03C0 }.SelectMany(BitConverter.GetBytes)]; // movz x0, #value; ret
        m.Ram.Write(First, ReturnConstant(1));
        m.Ram.Write(Second, ReturnConstant(2));
    }

    /// <summary>A second root table with the same identity map of the code as <see cref="Start"/>'s.</summary>
    private static ulong SecondAddressSpace(Tables48 t)
    {
        ulong root = t.NewRoot();
        for (ulong off = 0; off < 0x10000; off += 0x1000) t.MapPage(TestMachine.RamBase + off, TestMachine.RamBase + off, Af | Normal | Uxn, root);
        return root;
    }

    /// <summary>
    /// Two address spaces (ASIDs 1 and 2) map one VA to different code: a switch of TTBR0 keeps each one's
    /// translations (the soft TLB keeps a context per address space), and every call runs its own space's code,
    /// also once the loop's blocks are hot and linked.
    /// </summary>
    [Fact]
    public void EachAddressSpaceRunsItsOwnCodeAcrossSwitches()
    {
        var (m, t) = Start();
        using var _ = m;
        LoadFunctions(m);
        ulong rootB = SecondAddressSpace(t);
        t.MapPage(Va, First, Af | Normal, t.Root);
        t.MapPage(Va, Second, Af | Normal, rootB);
        m.Load(Enable() + "\n" + $"""
            ldr x5, ={Va}
            ldr x10, ={Tables | (1UL << 48)}
            ldr x11, ={rootB | (2UL << 48)}
            mov x6, #0
            mov x7, #0
            mov x9, #3000
            1:  msr ttbr0_el1, x10
            isb
            blr x5
            add x6, x6, x0
            msr ttbr0_el1, x11
            isb
            blr x5
            add x7, x7, x0
            subs x9, x9, #1
            b.ne 1b
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(3000UL, m.X(6));
        Assert.Equal(6000UL, m.X(7));
    }

    /// <summary>
    /// A mapping changed while its address space is not current, then invalidated by ASID from another space
    /// (as Linux does when it tears down a process's mappings): switching back runs the new code.
    /// </summary>
    [Theory]
    [InlineData("tlbi aside1, x12")]
    [InlineData("tlbi vae1, x13")]
    [InlineData("tlbi vmalle1")]
    public void InvalidationFromAnotherAddressSpaceReachesTheSwitchedOutOne(string tlbi)
    {
        var (m, t) = Start();
        using var _ = m;
        LoadFunctions(m);
        ulong rootB = SecondAddressSpace(t);
        t.MapPage(Va, First, Af | Normal, t.Root);
        m.Load(Enable() + "\n" + $"""
            ldr x5, ={Va}
            ldr x10, ={Tables | (1UL << 48)}
            ldr x11, ={rootB | (2UL << 48)}
            ldr x12, ={1UL << 48}
            ldr x13, ={(1UL << 48) | (Va >> 12)}
            msr ttbr0_el1, x10
            isb
            mov x6, #0
            mov x9, #2000
            1:  blr x5
            add x6, x6, x0
            subs x9, x9, #1
            b.ne 1b
            msr ttbr0_el1, x11
            isb
            hvc #0
            {tlbi}
            dsb sy
            msr ttbr0_el1, x10
            isb
            blr x5
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(2000UL, m.X(6));
        t.MapPage(Va, Second, Af | Normal, t.Root);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(2UL, m.X(0));
    }

    /// <summary>Records every device access: which physical address, and whether it was a write.</summary>
    private sealed class RecordingBus : Jit.Runtime.Memory.IMmioBus
    {
        public List<(ulong Pa, bool Write)> Accesses { get; } = [];

        public bool Read(ulong pa, int size, out ulong value)
        {
            Accesses.Add((pa, false));
            value = pa >> 12;
            return true;
        }

        public bool Write(ulong pa, int size, ulong value)
        {
            Accesses.Add((pa, true));
            return true;
        }
    }

    /// <summary>
    /// A device page's translation is cached like RAM's (an I/O entry of the soft TLB), so repeated device
    /// accesses do not walk the tables: after the guest repoints the page without a TLBI, accesses may (and here
    /// do) still reach the old device; after the TLBI they reach the new one.
    /// </summary>
    [Theory]
    [InlineData("tlbi vae1, x8")]
    [InlineData("tlbi vmalle1")]
    [InlineData("tlbi aside1, xzr")]
    public void DevicePageTranslationIsCachedUntilTlbi(string tlbi)
    {
        var (m, t) = Start();
        using var _ = m;
        var bus = new RecordingBus();
        m.Mmu.Bus = bus;
        const ulong DeviceVa = 0x5012_3000, DeviceA = 0x0900_0000, DeviceB = 0x0901_0000;
        t.MapPage(DeviceVa, DeviceA, Af | Uxn | Pxn, t.Root); // AttrIndx 0: Device-nGnRnE in this MAIR
        m.Load(Enable() + "\n" + $"""
            ldr x5, ={DeviceVa}
            lsr x8, x5, #12
            mov x7, #1000
            1:  ldr w1, [x5, #0x18]
            str w7, [x5, #0x30]
            subs x7, x7, #1
            b.ne 1b
            hvc #0
            ldr w2, [x5, #0x18]
            str w2, [x5, #0x30]
            {tlbi}
            dsb sy
            isb
            ldr w3, [x5, #0x18]
            str w3, [x5, #0x30]
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal(2000, bus.Accesses.Count);
        Assert.All(bus.Accesses, a => Assert.Equal(DeviceA, a.Pa & ~0xFFFUL));
        t.MapPage(DeviceVa, DeviceB, Af | Uxn | Pxn, t.Root);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(DeviceA + 0x18, false), (DeviceA + 0x30, true), (DeviceB + 0x18, false), (DeviceB + 0x30, true)], bus.Accesses[2000..]);
        Assert.Equal(DeviceB >> 12, m.X(3));
    }

    [Fact]
    public void UnmappedAddressIsATranslationFaultAtTheLevelThatWasInvalid()
    {
        var (m, _) = Start();
        using var __ = m;
        m.Load(Enable() + "\n" + """
            ldr x1, =0x500000000000
            ldr x2, [x1]
            hvc #0
            """ + "\n" + Vectors);
        m.Run();
        Assert.Equal([(ushort)1], m.HvcCalls);
        Assert.Equal(0x25UL, m.State->EsrEl1 >> 26);
        Assert.Equal(0x04UL, m.State->EsrEl1 & 0x3F); // level 0 entry invalid
        Assert.Equal(0x5000_0000_0000UL, m.State->FarEl1);
    }

    /// <summary>
    /// Misaligned accesses inside one page (glibc's string functions make them all the time) use the page's TLB
    /// entry like aligned ones: 1,000 of them cost no table walk each, and read and write the right bytes.
    /// </summary>
    [Fact]
    public void MisalignedAccessesWithinAPageAreServedByTheTlb()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal, t.Root);
        m.Load(Enable() + "\n" + """
            ldr x1, =0x10000003
            ldr x2, =0x1122334455667788
            str x2, [x1]
            ldr x3, [x1]
            add x7, x1, #0x102
            mov x5, #1000
            1:
            str w2, [x7]
            ldr w4, [x7]
            ldrh w6, [x7, #0x100]
            subs x5, x5, #1
            b.ne 1b
            hvc #0
            """ + "\n" + Vectors);
        Assert.Equal(ExitReason.Hvc, m.Run());
        Assert.Equal([(ushort)0], m.HvcCalls);
        Assert.Equal(0x1122334455667788UL, m.X(3));
        Assert.Equal(0x55667788UL, m.X(4));
        Assert.True(m.State->Counters.TlbMisses < 100, $"{m.State->Counters.TlbMisses} TLB misses");
    }

    /// <summary>A page the read TLB holds is not writable for that: a misaligned store to a read-only page faults.</summary>
    [Fact]
    public void MisalignedStoreToAReadOnlyPageIsAPermissionFault()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal | ApRo, t.Root);
        m.Load(Enable() + "\n" + "ldr x1, =0x10000005\nldr x2, [x1]\nldr x2, [x1]\nstr x2, [x1]\nhvc #0\n" + Vectors);
        m.Run();
        Assert.Equal(0x0FUL, m.State->EsrEl1 & 0x3F);
        Assert.Equal(1UL, (m.State->EsrEl1 >> 6) & 1);
        Assert.Equal(0x1000_0005UL, m.State->FarEl1);
    }

    [Fact]
    public void MissingAccessFlagFaultsAtLevelThree()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Normal, t.Root);
        m.Load(Enable() + "\n" + "ldr x1, =0x10000000\nldr x2, [x1]\nhvc #0\n" + Vectors);
        m.Run();
        Assert.Equal(0x0BUL, m.State->EsrEl1 & 0x3F);
    }

    [Fact]
    public void WriteToReadOnlyPageIsAPermissionFaultWithWnR()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal | ApRo, t.Root);
        m.Load(Enable() + "\n" + "ldr x1, =0x10000000\nldr x2, [x1]\nstr x2, [x1]\nhvc #0\n" + Vectors);
        m.Run();
        Assert.Equal(0x0FUL, m.State->EsrEl1 & 0x3F);
        Assert.Equal(1UL, (m.State->EsrEl1 >> 6) & 1);
        Assert.Equal(0x1000_0000UL, m.State->FarEl1);
    }

    [Fact]
    public void UnprivilegedLoadChecksEl0Permissions()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal, t.Root);          // EL1 only
        t.MapPage(0x1000_1000, 0x4010_1000, Af | Normal | ApEl0, t.Root);  // EL0 and EL1
        m.Load(Enable() + "\n" + """
            ldr x1, =0x10001000
            ldtr x2, [x1]
            ldr x1, =0x10000000
            ldr x3, [x1]
            ldtr x4, [x1]
            hvc #0
            """ + "\n" + Vectors);
        m.Run();
        Assert.Equal([(ushort)1], m.HvcCalls);
        Assert.Equal(0x0FUL, m.State->EsrEl1 & 0x3F);
        Assert.Equal(0x1000_0000UL, m.State->FarEl1);
    }

    [Fact]
    public void UpperHalfTranslatesThroughTtbr1()
    {
        var (m, t) = Start();
        using var _ = m;
        ulong root1 = t.NewRoot();
        t.MapPage(0xFFFF_0000_1000_0000, 0x4010_0000, Af | Normal, root1);
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal, t.Root);
        m.Load(Enable(root1) + "\n" + """
            ldr x1, =0xffff000010000010
            mov x2, #0x55
            str x2, [x1]
            ldr x3, =0x10000010
            ldr x4, [x3]
            hvc #0
            """ + "\n" + Vectors);
        m.Run();
        Assert.Equal([(ushort)0], m.HvcCalls);
        Assert.Equal(0x55UL, m.X(4));
    }

    [Fact]
    public void AtWritesTheTranslationToPar()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal, t.Root);
        m.Load(Enable() + "\n" + """
            ldr x1, =0x10000123
            at s1e1r, x1
            mrs x2, par_el1
            ldr x1, =0x20000000
            at s1e1r, x1
            mrs x3, par_el1
            hvc #0
            """ + "\n" + Vectors);
        m.Run();
        Assert.Equal(0x4010_0000UL, m.X(2) & 0x0000_FFFF_FFFF_F000);
        Assert.Equal(0UL, m.X(2) & 1);
        Assert.Equal(0xFFUL, m.X(2) >> 56);           // MAIR attribute 1
        Assert.Equal(1UL, m.X(3) & 1);                 // F: the translation failed
        Assert.Equal(0x06UL, (m.X(3) >> 1) & 0x3F);    // level 2 translation fault (FST): levels 0 and 1 are shared with 0x1000_0000
    }

    [Fact]
    public void ExecuteNeverPageIsAnInstructionPermissionFault()
    {
        var (m, t) = Start();
        using var _ = m;
        t.MapPage(0x1000_0000, 0x4010_0000, Af | Normal | Pxn, t.Root);
        m.Load(Enable() + "\n" + "ldr x1, =0x10000000\nbr x1\n" + Vectors);
        m.Run();
        Assert.Equal(0x21UL, m.State->EsrEl1 >> 26);
        Assert.Equal(0x0FUL, m.State->EsrEl1 & 0x3F);
    }
}
