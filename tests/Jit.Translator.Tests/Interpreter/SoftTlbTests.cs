using Jit.Runtime.Memory;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>A flush must leave no translation behind, whether it clears the logged entries or every entry.</summary>
public unsafe class SoftTlbTests
{
    private static void FillEntries(SoftTlb tlb, int count)
    {
        for (int i = 0; i < count; i++)
        {
            TlbEntry* table = (i % 3) switch { 0 => tlb.Read, 1 => tlb.Write, _ => tlb.Fetch };
            TlbEntry* e = table + (i % SoftTlb.TotalEntries);
            e->Tag = (ulong)i << 12;
            tlb.NoteFill(e);
        }
    }

    private static int Valid(SoftTlb tlb)
    {
        int valid = 0;
        foreach (nint table in new[] { (nint)tlb.Read, (nint)tlb.Write, (nint)tlb.Fetch })
            for (int i = 0; i < SoftTlb.TotalEntries; i++)
                if (((TlbEntry*)table)[i].Tag != SoftTlb.Invalid) valid++;
        return valid;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(5000)]
    public void FlushInvalidatesEveryFilledEntry(int fills)
    {
        using var tlb = new SoftTlb();
        Assert.Equal(0, Valid(tlb));
        for (int round = 0; round < 2; round++)
        {
            uint generation = tlb.Generation;
            FillEntries(tlb, fills);
            Assert.True(Valid(tlb) > 0);
            tlb.Flush();
            Assert.Equal(0, Valid(tlb));
            Assert.NotEqual(generation, tlb.Generation);
        }
    }

    // TCR with A1 = 0 (the ASID is TTBR0's) and AS = 1 (16-bit ASIDs); SCTLR with M set.
    private const ulong Tcr = 1UL << 36, MmuOn = 1;
    private static ulong Ttbr(ulong table, ushort asid) => table | ((ulong)asid << 48);

    private static TlbEntry* FillRead(SoftTlb tlb, ulong va)
    {
        TlbEntry* e = tlb.Read + SoftTlb.Index(va, 1);
        e->Tag = va & ~0xFFFUL;
        tlb.NoteFill(e);
        return e;
    }

    private static bool Holds(SoftTlb tlb, ulong va) => tlb.Read[SoftTlb.Index(va, 1)].Tag == (va & ~0xFFFUL);

    [Fact]
    public void ASwitchBackFindsTheContextAsItWasLeft()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        FillRead(tlb, 0x4000);
        uint generationA = tlb.Generation;
        tlb.SelectContext(Ttbr(0x2000, 2), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
        Assert.NotEqual(generationA, tlb.Generation);
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        Assert.True(Holds(tlb, 0x4000));
        Assert.Equal(generationA, tlb.Generation);
    }

    [Fact]
    public void TheLeastRecentlyUsedContextIsEmptiedForANewOne()
    {
        using var tlb = new SoftTlb();
        for (ushort asid = 1; asid <= SoftTlb.Contexts; asid++)
        {
            tlb.SelectContext(Ttbr(0x1000, asid), 0, Tcr, MmuOn);
            FillRead(tlb, 0x4000);
        }
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn); // ASID 2 is now the oldest
        tlb.SelectContext(Ttbr(0x1000, 100), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
        tlb.SelectContext(Ttbr(0x1000, 3), 0, Tcr, MmuOn);
        Assert.True(Holds(tlb, 0x4000));
        tlb.SelectContext(Ttbr(0x1000, 2), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
    }

    [Fact]
    public void APageInvalidationReachesEveryContext()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        FillRead(tlb, 0x4000);
        FillRead(tlb, 0x5000);
        tlb.SelectContext(Ttbr(0x2000, 2), 0, Tcr, MmuOn);
        tlb.FlushPage(0x4000);
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
        Assert.True(Holds(tlb, 0x5000));
    }

    [Fact]
    public void AnAsidInvalidationEmptiesThatAddressSpaceOnly()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        FillRead(tlb, 0x4000);
        tlb.SelectContext(Ttbr(0x2000, 2), 0, Tcr, MmuOn);
        FillRead(tlb, 0x4000);
        tlb.FlushAsid(1);
        Assert.True(Holds(tlb, 0x4000));
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
    }

    [Fact]
    public void WithEightBitAsidsTheOperandsUpperByteDoesNotCount()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 5), 0, 0, MmuOn);
        FillRead(tlb, 0x4000);
        tlb.FlushAsid(0x0105);
        Assert.False(Holds(tlb, 0x4000));
    }

    [Fact]
    public void APageInvalidationDropsTheWholeBlockOfABlockMapping()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        FillRead(tlb, 0x20_1000);
        tlb.NoteBlock(0x20_1000, 21);
        FillRead(tlb, 0x20_2000);
        FillRead(tlb, 0x40_1000);
        tlb.FlushPage(0x20_0000);
        Assert.False(Holds(tlb, 0x20_1000));
        Assert.False(Holds(tlb, 0x20_2000));
        Assert.True(Holds(tlb, 0x40_1000));
    }

    [Fact]
    public void LinksSurviveADataPageInvalidationButNotACodePageOne()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        tlb.NoteCodePage(0x40_0000);
        uint generation = tlb.Generation;
        tlb.FlushPage(0x7000_0000);
        Assert.Equal(generation, tlb.Generation);
        tlb.FlushPage(0x40_0000);
        Assert.NotEqual(generation, tlb.Generation);
    }

    [Fact]
    public void AfterAFlushAllNoContextAnswersForItsOldRegisters()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        tlb.Flush();
        // As after a reset: registers changed with no write the TLB saw; what is filled now is not context A's.
        FillRead(tlb, 0x4000);
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        Assert.False(Holds(tlb, 0x4000));
    }

    [Fact]
    public void AQueuedInvalidationDoesWhatItsTlbiWould()
    {
        using var tlb = new SoftTlb();
        tlb.SelectContext(Ttbr(0x1000, 1), 0, Tcr, MmuOn);
        FillRead(tlb, 0x4000);
        FillRead(tlb, 0x5000);
        tlb.Apply(new TlbInvalidation(TlbInvalidationScope.Page, 0x4000));
        Assert.False(Holds(tlb, 0x4000));
        Assert.True(Holds(tlb, 0x5000));
        tlb.Apply(new TlbInvalidation(TlbInvalidationScope.Asid, 2));
        Assert.True(Holds(tlb, 0x5000));
        tlb.Apply(new TlbInvalidation(TlbInvalidationScope.Asid, 1));
        Assert.False(Holds(tlb, 0x5000));
        FillRead(tlb, 0x6000);
        tlb.Apply(new TlbInvalidation(TlbInvalidationScope.All, 0));
        Assert.False(Holds(tlb, 0x6000));
    }
}
