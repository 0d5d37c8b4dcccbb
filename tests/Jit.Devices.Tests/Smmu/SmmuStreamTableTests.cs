using Jit.Devices.Smmu;
using Jit.Runtime.Memory;

namespace Jit.Devices.Tests.Smmu;

/// <summary>Linear and 2-level stream tables, 2-level CD tables, and the configuration errors malformed ones raise.</summary>
public sealed class SmmuStreamTableTests : IDisposable
{
    private readonly SmmuTestBed bed = new();

    public void Dispose() => bed.Dispose();

    private GuestMemoryStatus Touch(uint sid, ulong address = 0x1000) => bed.Smmu.PortFor(sid).Read(address, new byte[4]);

    [Fact]
    public void LinearTableFindsStreams()
    {
        bed.Init(twoLevel: false, streamBits: 8);
        ulong buffer = bed.Ram.Alloc(4096);
        bed.WriteSte(0xFF, SmmuTestBed.SteDword0(0b100));
        Assert.Equal(GuestMemoryStatus.Ok, Touch(0xFF, buffer));
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x100, buffer)); // beyond 2^LOG2SIZE
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.CBadStreamId, e.Type);
        Assert.Equal(0x100u, e.StreamId);
    }

    [Fact]
    public void TwoLevelTableFindsStreamsInTheirLevel2Tables()
    {
        bed.Init();
        ulong buffer = bed.Ram.Alloc(4096);
        foreach (uint sid in new uint[] { 0x0000, 0x00FF, 0x0100, 0xFFFF })
            bed.WriteSte(sid, SmmuTestBed.SteDword0(0b100));
        foreach (uint sid in new uint[] { 0x0000, 0x00FF, 0x0100, 0xFFFF })
            Assert.Equal(GuestMemoryStatus.Ok, Touch(sid, buffer));
        Assert.Empty(bed.DrainEvents());
    }

    [Fact]
    public void InvalidLevel1DescriptorIsABadStreamIdRecordedOnlyWithRecinvsid()
    {
        bed.Init();
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x4242));
        Assert.Equal((byte)SmmuEventType.CBadStreamId, bed.SingleEvent().Type);
        bed.W32(SmmuRegs.Cr2, SmmuRegs.Cr2Ptm);
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x4243));
        Assert.Empty(bed.DrainEvents());
    }

    [Fact]
    public void StreamBeyondTheLevel2SpanIsABadStreamId()
    {
        bed.Init();
        ulong l2 = bed.Ram.Alloc(64 * 4, 256);
        bed.Ram.W64(bed.StreamTable + 0x12 * 8, l2 | 3); // Span 3: four STEs
        bed.Ram.W64(l2 + 3 * 64, SmmuTestBed.SteDword0(0b100));
        Assert.Equal(GuestMemoryStatus.Ok, Touch(0x1203, bed.Ram.Alloc(4096)));
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x1204));
        Assert.Equal((byte)SmmuEventType.CBadStreamId, bed.SingleEvent().Type);
    }

    [Theory]
    [InlineData(0UL, 0UL)]                                   // V = 0
    [InlineData(1UL | 2 << 1, 0UL)]                          // Config 0b010: reserved
    [InlineData(1UL | 5 << 1 | 30UL << 59, 0UL)]             // S1CDMax beyond SSIDSIZE
    [InlineData(1UL | 5 << 1, 2UL << 30)]                    // STRW = EL2 without Hyp
    [InlineData(1UL | 5 << 1, 1UL << 27)]                    // S1STALLD without stall support
    [InlineData(1UL | 6 << 1, 0UL)]                          // stage 2 with S2AA64 = 0 and no valid geometry
    public void MalformedSteIsABadSte(ulong d0, ulong d1)
    {
        bed.Init();
        bed.WriteSte(0x30, d0, d1);
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x30));
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.CBadSte, e.Type);
        Assert.Equal(0x30u, e.StreamId);
    }

    [Theory]
    [InlineData(3, 39)]  // S2SL0 = 3: reserved with 4 KiB
    [InlineData(0, 40)]  // level 2 would need 19 bits: more than 16 concatenated tables
    [InlineData(2, 30)]  // level 0 resolves no bit of a 30-bit IPA
    [InlineData(1, 49)]  // an IPA wider than the 48-bit input size
    public void Stage2GeometryIsChecked(int sl0, int ipaBits)
    {
        bed.Init();
        bed.WriteSte(0x31, SmmuTestBed.SteDword0(0b110), d2: SmmuTestBed.SteDword2(1, ipaBits, sl0), d3: bed.Ram.Alloc(4096));
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x31));
        Assert.Equal((byte)SmmuEventType.CBadSte, bed.SingleEvent().Type);
    }

    [Fact]
    public void SteOutsideMemoryIsAnSteFetchAbort()
    {
        bed.Init();
        const ulong nowhere = 0x7_0000_0000;
        bed.Ram.W64(bed.StreamTable + 0x50 * 8, nowhere | 9);
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x5000));
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FSteFetch, e.Type);
        Assert.Equal(nowhere, e.FetchAddress);
    }

    [Theory]
    [InlineData(0UL)]                       // V = 0
    [InlineData(1UL << 31 | 16)]            // AA64 = 0
    [InlineData(1UL << 31 | 1UL << 41 | 8)] // T0SZ = 8: below the minimum
    [InlineData(1UL << 31 | 1UL << 41 | 16 | 3UL << 6)] // TG0 = 0b11: reserved
    [InlineData(1UL << 31 | 1UL << 41 | 16 | 1UL << 15)] // ENDI: big-endian tables
    [InlineData(1UL << 31 | 1UL << 41 | 16 | 1UL << 44)] // S: stall
    public void MalformedCdIsABadCd(ulong d0)
    {
        bed.Init();
        ulong cd = bed.WriteCd(d0 | 1UL << 30, bed.Ram.Alloc(4096));
        bed.WriteSte(0x40, SmmuTestBed.SteDword0(0b101, cd));
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x40));
        Assert.Equal((byte)SmmuEventType.CBadCd, bed.SingleEvent().Type);
    }

    [Fact]
    public void CdOutsideMemoryIsACdFetchAbort()
    {
        bed.Init();
        bed.WriteSte(0x41, SmmuTestBed.SteDword0(0b101, 0x7_0000_0000));
        Assert.Equal(GuestMemoryStatus.NotMapped, Touch(0x41));
        var e = bed.SingleEvent();
        Assert.Equal((byte)SmmuEventType.FCdFetch, e.Type);
        Assert.Equal(0x7_0000_0000UL, e.FetchAddress);
    }

    [Fact]
    public void TwoLevelCdTableSelectsTheSubstreamsCd()
    {
        bed.Init();
        const uint sid = 0x60;
        var tablesA = new TableBuilder(bed.Ram, startLevel: 0);
        var tablesB = new TableBuilder(bed.Ram, startLevel: 0);
        ulong a = bed.Ram.Alloc(4096), b = bed.Ram.Alloc(4096);
        tablesA.Map(0x1000, a, SmmuRegs.S1ReadWrite);
        tablesB.Map(0x1000, b, SmmuRegs.S1ReadWrite);
        // S1CDMax = 8 (256 substreams), S1Fmt = 1: four L1CDs, each to a 4 KiB leaf of 64 CDs.
        ulong l1 = bed.Ram.Alloc(4 * 8, 64), leaf0 = bed.Ram.Alloc(4096), leaf2 = bed.Ram.Alloc(4096);
        bed.Ram.W64(l1, leaf0 | 1);
        bed.Ram.W64(l1 + 2 * 8, leaf2 | 1);
        bed.WriteCd(SmmuTestBed.CdDword0(1), tablesA.RootAddress, leaf0);                     // SSID 0
        bed.WriteCd(SmmuTestBed.CdDword0(2), tablesB.RootAddress, leaf2 + (0x85 - 128) * 64);  // SSID 0x85
        bed.WriteSte(sid, SmmuTestBed.SteDword0(0b101, l1, cdMax: 8, s1Fmt: 1), d1: 2 /* S1DSS = SSID0 */);
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(sid).Write(0x1000, [0xA]));
        Assert.Equal(GuestMemoryStatus.Ok, bed.Smmu.PortFor(sid, 0x85).Write(0x1000, [0xB]));
        Assert.Equal(0xA, bed.Ram.Read(a, 1)[0]);
        Assert.Equal(0xB, bed.Ram.Read(b, 1)[0]);
        // SSID 0x45's L1CD is not valid; SSID 0x100 is beyond S1CDMax.
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(sid, 0x45).Read(0x1000, new byte[1]));
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(sid, 0x100).Read(0x1000, new byte[1]));
        var events = bed.DrainEvents();
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal((byte)SmmuEventType.CBadSubstreamId, e.Type));
        Assert.True(events[0].SubstreamValid);
        Assert.Equal(0x45u, events[0].SubstreamId);
    }

    [Fact]
    public void SubstreamOnAStreamWithoutSubstreamsIsBad()
    {
        bed.Init();
        bed.WriteSte(0x70, SmmuTestBed.SteDword0(0b100));
        Assert.Equal(GuestMemoryStatus.NotMapped, bed.Smmu.PortFor(0x70, 3).Read(0x1000, new byte[1]));
        Assert.Equal((byte)SmmuEventType.CBadSubstreamId, bed.SingleEvent().Type);
    }
}
