using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>The TLB and the configuration cache: what stays stale until invalidated, and what each command drops.</summary>
public sealed class SmmuTlbTests : IDisposable
{
    private const uint Sid = 0x0018;
    private const ushort Asid = 9, Vmid = 4;
    private readonly SmmuTestBed bed = new();
    private readonly TableBuilder tables;
    private readonly ulong oldPage, newPage;
    private const ulong Iova = 0x20_0000;

    public SmmuTlbTests()
    {
        bed.Init();
        tables = new TableBuilder(bed.Ram, startLevel: 0);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        oldPage = bed.Ram.Alloc(4096);
        newPage = bed.Ram.Alloc(4096);
        bed.Ram.Write(oldPage, "old"u8);
        bed.Ram.Write(newPage, "new"u8);
        tables.Map(Iova, oldPage, SmmuRegs.S1ReadWrite);
    }

    public void Dispose() => bed.Dispose();

    private string ReadIova(ulong iova = Iova, uint sid = Sid)
    {
        var b = new byte[3];
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(sid).Read(iova, b));
        return System.Text.Encoding.ASCII.GetString(b);
    }

    private void Remap() => tables.Map(Iova, newPage, SmmuRegs.S1ReadWrite);

    [Fact]
    public void ChangedTableStaysStaleUntilTlbiVa()
    {
        Assert.Equal("old", ReadIova());
        Remap();
        Assert.Equal("old", ReadIova());
        bed.TlbiVa(Asid, Iova + 0x1000); // another page: not this one
        Assert.Equal("old", ReadIova());
        bed.TlbiVa(Asid, Iova);
        Assert.Equal("new", ReadIova());
    }

    [Fact]
    public void TlbiAsidDropsOnlyThatAsid()
    {
        Assert.Equal("old", ReadIova());
        Remap();
        bed.Command(SmmuRegs.TlbiNhAsid, (ulong)(Asid + 1) << 48);
        bed.Sync();
        Assert.Equal("old", ReadIova());
        bed.Command(SmmuRegs.TlbiNhAsid, (ulong)Asid << 48);
        bed.Sync();
        Assert.Equal("new", ReadIova());
    }

    private const ulong BlockIova = 0x4000_0000;

    /// <summary>A 2 MiB block at <see cref="BlockIova"/> whose sixth page the TLB holds, then remapped to another block.</summary>
    private void CacheABlockThenRemapIt()
    {
        ulong oldBlock = bed.Ram.Alloc(2 << 20, 2 << 20), newBlock = bed.Ram.Alloc(2 << 20, 2 << 20);
        bed.Ram.Write(oldBlock + 0x5000, "old"u8);
        bed.Ram.Write(newBlock + 0x5000, "new"u8);
        tables.Map(BlockIova, oldBlock, SmmuRegs.S1ReadWrite, level: 2);
        Assert.Equal("old", ReadIova(BlockIova + 0x5000));
        tables.Map(BlockIova, newBlock, SmmuRegs.S1ReadWrite, level: 2);
    }

    [Fact]
    public void TlbiVaDropsEveryPageOfABlock()
    {
        CacheABlockThenRemapIt();
        bed.TlbiVa(Asid, BlockIova); // names the block's first page; the TLB holds its sixth
        Assert.Equal("new", ReadIova(BlockIova + 0x5000));
    }

    [Fact]
    public void TlbiVaReachesEveryStreamSharingTheAsid()
    {
        const uint sid2 = 0x40;
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        bed.WriteSte(sid2, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal("old", ReadIova(sid: Sid));
        Assert.Equal("old", ReadIova(sid: sid2));
        Remap();
        bed.TlbiVa(Asid, Iova);
        Assert.Equal("new", ReadIova(sid: Sid));
        Assert.Equal("new", ReadIova(sid: sid2));
    }

    [Fact]
    public void TlbiVaDropsEveryPageOfAGigabyteBlock()
    {
        // A 1 GiB block over the guest's RAM: too many pages to probe, so the invalidation scans.
        const ulong blockIova = 0x80_0000_0000;
        tables.Map(blockIova, Virtio.GuestRam.Base & ~0x3FFF_FFFFUL, SmmuRegs.S1ReadWrite, level: 1);
        ulong at = blockIova + (oldPage & 0x3FFF_FFFF);
        var port = bed.Smmu.PortFor(Sid);
        Assert.Equal(GuestMemoryStatus.Ok, port.Write(at, "OLD"u8));
        tables.Map(blockIova, Virtio.GuestRam.Base & ~0x3FFF_FFFFUL, SmmuRegs.S1ReadWrite | SmmuRegs.ApReadOnly, level: 1);
        Assert.Equal(GuestMemoryStatus.Ok, port.Write(at, "old"u8));
        bed.TlbiVa(Asid, blockIova + 0x1234_5000);
        Assert.Equal(GuestMemoryStatus.ReadOnly, port.Write(at, "OLD"u8));
        Assert.Equal("old", ReadIova(at));
    }

    [Fact]
    public void GlobalEntriesSurviveTlbiAsidButNotTlbiVaa()
    {
        tables.Map(Iova, oldPage, SmmuRegs.Af | SmmuRegs.ApUnprivileged); // nG = 0
        bed.Command(SmmuRegs.TlbiNhAll);
        bed.Sync();
        Assert.Equal("old", ReadIova());
        tables.Map(Iova, newPage, SmmuRegs.Af | SmmuRegs.ApUnprivileged);
        bed.Command(SmmuRegs.TlbiNhAsid, (ulong)Asid << 48);
        bed.Sync();
        Assert.Equal("old", ReadIova());
        bed.Command(SmmuRegs.TlbiNhVaa, 0, Iova);
        bed.Sync();
        Assert.Equal("new", ReadIova());
    }

    /// <summary>Maps <paramref name="pages"/> 4 KiB pages from <see cref="Iova"/> to the old page, caches them all, then maps them to the new one.</summary>
    private void CacheThenRemapPages(int pages)
    {
        for (int p = 0; p < pages; p++)
        {
            tables.Map(Iova + (ulong)p * 0x1000, oldPage, SmmuRegs.S1ReadWrite);
            Assert.Equal("old", ReadIova(Iova + (ulong)p * 0x1000));
        }
        for (int p = 0; p < pages; p++) tables.Map(Iova + (ulong)p * 0x1000, newPage, SmmuRegs.S1ReadWrite);
    }

    /// <summary>Which of the pages from <see cref="Iova"/> read the new mapping: 'n', or the stale one: 'o'.</summary>
    private string Seen(int pages) =>
        string.Concat(Enumerable.Range(0, pages).Select(p => ReadIova(Iova + (ulong)p * 0x1000)[0]));

    [Fact]
    public void RangeTlbiVaDropsThePagesInRangeAndKeepsThoseOutside()
    {
        CacheThenRemapPages(8);
        var (d0, d1) = SmmuTestBed.Range(tg: 0b01, num: 2, scale: 0, ttl: 3); // three 4 KiB pages
        bed.Command(SmmuRegs.TlbiNhVa, (ulong)Asid << 48 | d0, Iova + 0x2000 | d1 | 1);
        bed.Sync();
        Assert.Equal("oonnnooo", Seen(8));
        bed.Command(SmmuRegs.TlbiNhVa, (ulong)(Asid + 1) << 48 | d0, Iova | d1 | 1); // another ASID: nothing
        bed.Sync();
        Assert.Equal("oonnnooo", Seen(8));
    }

    /// <summary>
    /// Range = (NUM + 1) × 2^SCALE granules of TG's size (4.4.1.1). The tables are 4 KiB ones: TG only narrows
    /// which entries must go (those of its granule) and this TLB does not narrow, so the range's length is what
    /// shows. The 16 KiB TTL of 1 is Reserved without SMMU_IDR5.DS and counts as no hint, legal with a range.
    /// </summary>
    [Theory]
    [InlineData(0b01, 0, 0, 3, 1)]    // one 4 KiB page with a level hint
    [InlineData(0b01, 4, 1, 0, 10)]   // 5 × 2 × 4 KiB
    [InlineData(0b01, 31, 0, 0, 32)]  // NUM's largest
    [InlineData(0b10, 2, 0, 0, 12)]   // 3 × 16 KiB
    [InlineData(0b10, 0, 1, 1, 8)]    // 2 × 16 KiB, TTL 1 taken as 0
    [InlineData(0b11, 0, 0, 3, 16)]   // one 64 KiB granule
    [InlineData(0b11, 1, 0, 2, 32)]   // 2 × 64 KiB
    public void RangeIsNumPlusOneTimesTwoToTheScaleGranules(int tg, int num, int scale, int ttl, int pagesDropped)
    {
        const int pages = 40;
        CacheThenRemapPages(pages);
        var (d0, d1) = SmmuTestBed.Range(tg, num, scale, ttl);
        bed.Command(SmmuRegs.TlbiNhVaa, d0, Iova | d1);
        bed.Sync();
        Assert.Equal(new string('n', pagesDropped) + new string('o', pages - pagesDropped), Seen(pages));
    }

    [Fact]
    public void ARangeDropsEveryBlockItMeets()
    {
        CacheABlockThenRemapIt();
        // Four pages ending right below the block: it stays.
        var (d0, d1) = SmmuTestBed.Range(tg: 0b01, num: 3, scale: 0, ttl: 0);
        bed.Command(SmmuRegs.TlbiNhVa, (ulong)Asid << 48 | d0, BlockIova - 0x4000 | d1);
        bed.Sync();
        Assert.Equal("old", ReadIova(BlockIova + 0x5000));
        // Four pages whose last is the block's first: the whole block goes, the cached sixth page with it.
        bed.Command(SmmuRegs.TlbiNhVa, (ulong)Asid << 48 | d0, BlockIova - 0x3000 | d1);
        bed.Sync();
        Assert.Equal("new", ReadIova(BlockIova + 0x5000));
    }

    [Fact]
    public void RangeTlbiS2IpaDropsTheIpasInRange()
    {
        const uint s2Sid = 0x20;
        const ulong ipa = 0x10_0000_0000;
        var s2 = new TableBuilder(bed.Ram, startLevel: 1);
        bed.WriteSte(s2Sid, SmmuTestBed.SteDword0(0b110), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        for (ulong p = 0; p < 4; p++)
        {
            s2.Map(ipa + p * 0x1000, oldPage, SmmuRegs.S2ReadWrite);
            Assert.Equal("old", ReadIova(ipa + p * 0x1000, s2Sid));
            s2.Map(ipa + p * 0x1000, newPage, SmmuRegs.S2ReadWrite);
        }
        var (d0, d1) = SmmuTestBed.Range(tg: 0b01, num: 1, scale: 0, ttl: 3);
        bed.Command(SmmuRegs.TlbiS2Ipa, (ulong)Vmid << 32 | d0, ipa + 0x1000 | d1);
        bed.Sync();
        Assert.Equal("onno", string.Concat(Enumerable.Range(0, 4).Select(p => ReadIova(ipa + (ulong)p * 0x1000, s2Sid)[0])));
    }

    [Fact]
    public void WithoutTgTheRangeFieldsAreIgnored()
    {
        CacheThenRemapPages(4);
        var (d0, d1) = SmmuTestBed.Range(tg: 0, num: 3, scale: 2, ttl: 3); // RES0 when TG = 0: one address
        bed.Command(SmmuRegs.TlbiNhVa, (ulong)Asid << 48 | d0, Iova + 0x1000 | d1);
        bed.Sync();
        Assert.Equal("onoo", Seen(4));
    }

    [Fact]
    public void ARangeReachingTheTopOfTheAddressSpaceDoesNotWrap()
    {
        CacheThenRemapPages(2);
        var (d0, d1) = SmmuTestBed.Range(tg: 0b11, num: 31, scale: 31, ttl: 0); // 2^52 bytes from near the top
        bed.Command(SmmuRegs.TlbiNhVaa, d0, 0xFFFF_FFFF_FFFF_0000UL | d1);
        bed.Sync();
        Assert.Equal("oo", Seen(2));
    }

    [Fact]
    public void PermissionUpgradeNeedsNoInvalidationButFaultsAreNotCached()
    {
        tables.Map(Iova, oldPage, SmmuRegs.S1ReadWrite | SmmuRegs.ApReadOnly);
        bed.Command(SmmuRegs.TlbiNhAll);
        bed.Sync();
        Assert.Equal("old", ReadIova());
        Assert.Equal(GuestMemoryStatus.ReadOnly, bed.Smmu.PortFor(Sid).Write(Iova, [1]));
        tables.Map(Iova, oldPage, SmmuRegs.S1ReadWrite);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(Sid).Write(Iova, "OLD"u8));
        Assert.Equal("OLD", ReadIova());
    }

    [Fact]
    public void SteChangeNeedsCfgiSte()
    {
        Assert.Equal("old", ReadIova());
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b000), invalidate: false); // now abort, but not yet invalidated
        Assert.Equal("old", ReadIova());
        bed.CfgiSte(Sid);
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(Iova, new byte[3]));
    }

    [Fact]
    public void CdChangeNeedsCfgiCd()
    {
        var other = new TableBuilder(bed.Ram, startLevel: 0);
        other.Map(Iova, newPage, SmmuRegs.S1ReadWrite);
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal("old", ReadIova());
        bed.WriteCd(SmmuTestBed.CdDword0((ushort)(Asid + 1)), other.RootAddress, cd);
        Assert.Equal("old", ReadIova());
        bed.Command(SmmuRegs.CfgiCd, (ulong)Sid << 32, 1);
        bed.Sync();
        Assert.Equal("new", ReadIova());
    }

    [Fact]
    public void CfgiAllAndSteRangeReachEveryStreamInRange()
    {
        const uint sid2 = Sid + 1;
        ulong cd = bed.WriteCd(SmmuTestBed.CdDword0(Asid), tables.RootAddress);
        bed.WriteSte(sid2, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal("old", ReadIova(sid: Sid));
        Assert.Equal("old", ReadIova(sid: sid2));
        bed.WriteSte(Sid, SmmuTestBed.SteDword0(0b000), invalidate: false);
        bed.WriteSte(sid2, SmmuTestBed.SteDword0(0b000), invalidate: false);
        bed.Command(SmmuRegs.CfgiSteRange, (ulong)sid2 << 32, 0); // Range 0: the aligned pair 0x18, 0x19
        bed.Sync();
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(Sid).Read(Iova, new byte[3]));
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(sid2).Read(Iova, new byte[3]));
    }

    [Fact]
    public void Stage2ChangesNeedTlbiS2IpaOrS12Vmall()
    {
        const uint s2Sid = 0x20;
        const ulong ipa = 0x10_0000_0000;
        var s2 = new TableBuilder(bed.Ram, startLevel: 1);
        s2.Map(ipa, oldPage, SmmuRegs.S2ReadWrite);
        bed.WriteSte(s2Sid, SmmuTestBed.SteDword0(0b110), d2: SmmuTestBed.SteDword2(Vmid), d3: s2.RootAddress);
        Assert.Equal("old", ReadIova(ipa, s2Sid));
        s2.Map(ipa, newPage, SmmuRegs.S2ReadWrite);
        bed.Command(SmmuRegs.TlbiS2Ipa, (ulong)(Vmid + 1) << 32, ipa);
        bed.Sync();
        Assert.Equal("old", ReadIova(ipa, s2Sid));
        bed.Command(SmmuRegs.TlbiS2Ipa, (ulong)Vmid << 32, ipa);
        bed.Sync();
        Assert.Equal("new", ReadIova(ipa, s2Sid));
        s2.Map(ipa, oldPage, SmmuRegs.S2ReadWrite);
        bed.Command(SmmuRegs.TlbiS12Vmall, (ulong)Vmid << 32);
        bed.Sync();
        Assert.Equal("old", ReadIova(ipa, s2Sid));
    }

    [Fact]
    public void DisablingTheSmmuDropsEverything()
    {
        Assert.Equal("old", ReadIova());
        Remap();
        uint cr0 = bed.R32(SmmuRegs.Cr0);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, cr0 & ~SmmuRegs.Cr0SmmuEn);
        bed.WriteSync(SmmuRegs.Cr0, SmmuRegs.Cr0Ack, cr0);
        Assert.Equal("new", ReadIova());
    }

    [Fact]
    public void TlbHitAllocatesNothing()
    {
        var port = bed.Smmu.PortFor(Sid);
        var buffer = new byte[64];
        ulong other = bed.Ram.Alloc(4096);
        tables.Map(Iova + 0x1000, other, SmmuRegs.S1ReadWrite);
        for (int i = 0; i < 100; i++)
        {
            port.Read(Iova, buffer);
            port.Write(Iova + 0xFE0, buffer); // straddles two pages
        }
        var (hitsBefore, missesBefore) = bed.Smmu.TlbStatistics;
        // Four windows: an allocation per access shows in every one; a one-off of the runtime's own (a method
        // promoted by tiered compilation meanwhile) in one at most.
        var windows = new long[4];
        int failures = 0;
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2_500; i++)
            {
                if (port.Read(Iova, buffer) != GuestMemoryStatus.Ok) failures++;
                if (port.Write(Iova + 0xFE0, buffer) != GuestMemoryStatus.Ok) failures++;
            }
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(0, failures);
        var (hits, misses) = bed.Smmu.TlbStatistics;
        Assert.True(windows.Min() == 0, $"bytes allocated per 2,500 read/write pairs: {string.Join(", ", windows)}");
        Assert.Equal(missesBefore, misses);
        Assert.True(hits - hitsBefore >= 30_000);
    }
}
