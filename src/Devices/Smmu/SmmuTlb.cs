namespace Jit.Devices.Smmu;

/// <summary>
/// The SMMU's TLB: combined stage 1 + stage 2 translations of 4 KiB input pages, direct-mapped on stream,
/// substream and page. Each entry keeps what the invalidation commands select on — ASID (or global), VMID, the
/// stage 1 mapping's size and the IPA and size of its stage 2 mapping — so TLBI_NH_VA invalidates every page of
/// a block it names, as the architecture's larger entries would be, and a range invalidation every page of each
/// mapping that meets its range, inside it or not. Entries do not record the granule or the level they came
/// from, so the TG and TTL hints, which only narrow what must go (4.4.1.1), narrow nothing here. An entry is
/// also tagged with the stream, because the configuration that produced it (the STE and CD) is not looked at
/// again on a hit: CFGI commands and SMMU_CR0.SMMUEN changes drop a stream's entries. Dropping more than asked is
/// always allowed.
/// </summary>
/// <remarks>Callers hold the SMMU's lock. A lookup allocates nothing.</remarks>
internal sealed class SmmuTlb
{
    public const int Entries = 4096;
    public const uint NoSubstream = uint.MaxValue;

    private struct Entry
    {
        public bool Valid, Readable, Writable, Global, Stage1, Stage2;
        public uint StreamId, SubstreamId;
        public ulong Page;          // input address >> 12
        public ulong Output;        // output address of the page
        public ulong Ipa;           // stage 1 output (stage 2 input) of the page
        public ushort Asid, Vmid;
        public byte Stage1Bits, Stage2Bits;
    }

    private const int StreamsTracked = 64;

    private readonly Entry[] entries = new Entry[Entries];
    // Valid entries: invalidations skip the scan when there are none (a guest can queue a thousand TLBIs at once).
    private int live;
    // The streams and largest stage 1 mapping filled since the TLB was last empty (supersets of the live ones), so
    // that a TLBI by VA — one per unmap in Linux's strict mode — probes the few slots that can hold the address
    // instead of scanning them all. Null once too many streams were seen.
    private HashSet<ulong>? streams = [];
    private int largestStage1Bits = 12;

    public long Hits, Misses;

    private static int Index(uint streamId, uint substreamId, ulong page) =>
        (int)((page ^ (page >> 12) ^ streamId * 0x9E37_79B1u ^ substreamId * 0x85EB_CA6Bu) & (Entries - 1));

    /// <summary>A hit that allows the access; false sends the caller to a walk (which finds the fault, if any).</summary>
    public bool TryTranslate(uint streamId, uint substreamId, ulong address, bool write, out ulong output)
    {
        ulong page = address >> 12;
        ref Entry e = ref entries[Index(streamId, substreamId, page)];
        if (e.Valid && e.Page == page && e.StreamId == streamId && e.SubstreamId == substreamId && (write ? e.Writable : e.Readable))
        {
            Hits++;
            output = e.Output | (address & 0xFFF);
            return true;
        }
        Misses++;
        output = 0;
        return false;
    }

    public void Fill(uint streamId, uint substreamId, ulong address, ulong output, ulong ipa, bool stage1, bool stage2,
        ushort asid, ushort vmid, in WalkResult s1, in WalkResult s2)
    {
        ulong page = address >> 12;
        ref Entry slot = ref entries[Index(streamId, substreamId, page)];
        if (!slot.Valid) live++;
        if (streams != null && streams.Add((ulong)streamId << 32 | substreamId) && streams.Count > StreamsTracked) streams = null;
        if (stage1) largestStage1Bits = Math.Max(largestStage1Bits, s1.BlockBits);
        slot = new Entry
        {
            Valid = true,
            StreamId = streamId,
            SubstreamId = substreamId,
            Page = page,
            Output = output & ~0xFFFUL,
            Ipa = ipa & ~0xFFFUL,
            Stage1 = stage1,
            Stage2 = stage2,
            Readable = (!stage1 || s1.Readable) && (!stage2 || s2.Readable),
            Writable = (!stage1 || s1.Writable) && (!stage2 || s2.Writable),
            Global = !stage1 || s1.Global,
            Asid = asid,
            Vmid = vmid,
            Stage1Bits = (byte)s1.BlockBits,
            Stage2Bits = (byte)s2.BlockBits,
        };
    }

    public void InvalidateAll()
    {
        if (live == 0) return;
        Array.Clear(entries);
        Emptied();
    }

    private void Emptied()
    {
        live = 0;
        if (streams == null) streams = [];
        else streams.Clear();
        largestStage1Bits = 12;
    }

    /// <summary>CFGI_*: the entries one stream's configuration produced, all its substreams'.</summary>
    public void InvalidateStream(uint streamId) => InvalidateStreamRange(streamId, 1);

    public void InvalidateStreamRange(uint first, uint count) =>
        Drop(static (in Entry e, in Scope s) => e.StreamId >= s.First && e.StreamId <= s.Last, new Scope(0, 0, first, first + (ulong)count - 1));

    /// <summary>TLBI_NH_ALL: every stage 1 entry of the VMID.</summary>
    public void InvalidateStage1(ushort vmid) => Drop(static (in Entry e, in Scope s) => e.Stage1 && e.Vmid == s.Vmid, new Scope(vmid, 0, 0, 0));

    /// <summary>TLBI_NH_ASID: the VMID's non-global stage 1 entries of the ASID.</summary>
    public void InvalidateAsid(ushort vmid, ushort asid) =>
        Drop(static (in Entry e, in Scope s) => e.Stage1 && e.Vmid == s.Vmid && !e.Global && e.Asid == s.Asid, new Scope(vmid, asid, 0, 0));

    /// <summary>
    /// TLBI_NH_VA: the entries of the ASID, or global, whose mapping meets the VAs <paramref name="first"/> to
    /// <paramref name="last"/> (one address for the non-range form).
    /// </summary>
    public void InvalidateVa(ushort vmid, ushort asid, ulong first, ulong last)
    {
        static bool Select(in Entry e, in Scope s) =>
            e.Stage1 && e.Vmid == s.Vmid && (e.Global || e.Asid == s.Asid) && Meets(e.Page << 12, e.Stage1Bits, s);
        var scope = new Scope(vmid, asid, first, last);
        if (!DropTargeted(Select, scope)) Drop(Select, scope);
    }

    /// <summary>TLBI_NH_VAA: the entries of any ASID whose mapping meets the VAs <paramref name="first"/> to <paramref name="last"/>.</summary>
    public void InvalidateVaAllAsids(ushort vmid, ulong first, ulong last)
    {
        static bool Select(in Entry e, in Scope s) => e.Stage1 && e.Vmid == s.Vmid && Meets(e.Page << 12, e.Stage1Bits, s);
        var scope = new Scope(vmid, 0, first, last);
        if (!DropTargeted(Select, scope)) Drop(Select, scope);
    }

    /// <summary>TLBI_S12_VMALL: everything tagged with the VMID.</summary>
    public void InvalidateVmid(ushort vmid) => Drop(static (in Entry e, in Scope s) => e.Vmid == s.Vmid, new Scope(vmid, 0, 0, 0));

    /// <summary>
    /// TLBI_S2_IPA: the entries whose stage 2 mapping meets the IPAs <paramref name="first"/> to
    /// <paramref name="last"/>, combined ones included (4.4.3.1 does not require those, but allows it).
    /// </summary>
    public void InvalidateIpa(ushort vmid, ulong first, ulong last) =>
        Drop(static (in Entry e, in Scope s) => e.Stage2 && e.Vmid == s.Vmid && Meets(e.Ipa, e.Stage2Bits, s), new Scope(vmid, 0, first, last));

    /// <summary>Whether the mapping of 2^<paramref name="bits"/> bytes around <paramref name="entryAddress"/> holds any address of the scope.</summary>
    private static bool Meets(ulong entryAddress, int bits, in Scope s)
    {
        if (bits >= 64) return true;
        ulong start = entryAddress >> bits << bits;
        return start <= s.Last && s.First <= start + ((1UL << bits) - 1);
    }

    /// <summary>What an invalidation selects on: a VMID, an ASID and the inclusive range First to Last of addresses (of StreamIDs for CFGI).</summary>
    private readonly record struct Scope(ushort Vmid, ushort Asid, ulong First, ulong Last);

    private delegate bool Selector(in Entry e, in Scope scope);

    /// <summary>
    /// Probes, for every tracked stream, the slots of the 4 KiB pages that the largest stage 1 mappings meeting
    /// the scope's addresses could cover; false when that would cost more than a scan.
    /// </summary>
    private bool DropTargeted(Selector select, in Scope scope)
    {
        if (live == 0) return true;
        if (streams == null || largestStage1Bits >= 64) return false;
        ulong first = scope.First >> largestStage1Bits << largestStage1Bits >> 12;
        ulong last = (scope.Last >> largestStage1Bits << largestStage1Bits >> 12) + ((1UL << (largestStage1Bits - 12)) - 1);
        ulong pages = last - first + 1;
        if (pages == 0 || pages > Entries / 4 || pages * (ulong)streams.Count > Entries / 4) return false;
        foreach (ulong key in streams)
        {
            uint streamId = (uint)(key >> 32), substreamId = (uint)key;
            for (ulong p = first; p - first < pages; p++)
            {
                ref Entry e = ref entries[Index(streamId, substreamId, p)];
                if (e.Valid && e.StreamId == streamId && e.SubstreamId == substreamId && select(e, scope))
                {
                    e.Valid = false;
                    live--;
                }
            }
        }
        if (live == 0) Emptied();
        return true;
    }

    private void Drop(Selector select, in Scope scope)
    {
        for (int i = 0; i < entries.Length && live > 0; i++)
        {
            ref Entry e = ref entries[i];
            if (e.Valid && select(e, scope))
            {
                e.Valid = false;
                if (--live == 0) Emptied();
            }
        }
    }
}
