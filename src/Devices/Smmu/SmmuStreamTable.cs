using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

internal enum StreamMode
{
    Abort,
    Bypass,
    Translate,
}

/// <summary>What one stream (and substream) resolved to: the STE and CD decoded, cached until a CFGI command.</summary>
internal sealed class StreamContext
{
    public StreamMode Mode;
    public bool Stage1, Stage2, Privileged;
    public ushort Vmid;
    public Stage1Config S1;
    public Stage2Config S2;
}

/// <summary>
/// The stream table (IHI 0070, 3.3.2 and 5.1–5.4). SMMU_STRTAB_BASE holds ADDR [51:6]; SMMU_STRTAB_BASE_CFG holds
/// FMT [17:16] (0 linear, 1 two-level), SPLIT [10:6] and LOG2SIZE [5:0]. A linear table is 2^LOG2SIZE STEs; a
/// two-level one is 2^(LOG2SIZE − SPLIT) level 1 descriptors (L1STD, 8 bytes: Span [4:0], L2Ptr [51:6]), each
/// pointing at 2^(Span − 1) STEs. With stage 2 on, the CD table's addresses are IPAs, translated by stage 2.
/// </summary>
public sealed partial class SmmuV3
{
    private const ulong StrtabBaseWritable = 0x400F_FFFF_FFFF_FFC0UL; // RA [62], ADDR [51:6]
    private const uint StrtabCfgWritable = 0x0003_07FF;                // FMT [17:16], SPLIT [10:6], LOG2SIZE [5:0]

    /// <summary>The cached context of a transaction, or a fresh one read from memory; null when that recorded a configuration error.</summary>
    private StreamContext? ResolveContext(uint streamId, uint substreamId, ulong address, bool write)
    {
        ulong key = (ulong)streamId << 32 | substreamId;
        if (contexts.TryGetValue(key, out var cached)) return cached;
        var context = ReadContext(streamId, substreamId, address, write);
        if (context == null) return null;
        if (contexts.Count >= ContextCacheLimit) contexts.Clear();
        contexts[key] = context;
        return context;
    }

    private StreamContext? ReadContext(uint streamId, uint substreamId, ulong address, bool write)
    {
        uint? ssid = Substream(substreamId);
        var failure = new SmmuEvent(SmmuEventType.CBadStreamId, streamId, ssid, address, !write);
        Span<byte> raw = stackalloc byte[StreamTableEntry.Size];
        if (!LocateSte(streamId, out ulong steAddress, ref failure) || !Fetch(steAddress, raw, SmmuEventType.FSteFetch, ref failure))
            return ConfigurationError(failure);
        if (!StreamTableEntry.TryDecode(raw, OutputAddressBits, SubstreamIdBits, out var ste))
            return ConfigurationError(failure with { Type = SmmuEventType.CBadSte });
        failure = failure with { Privileged = ste.Privileged };
        var context = new StreamContext { Privileged = ste.Privileged, Vmid = ste.Vmid, Stage2 = ste.Stage2Enabled, S2 = ste.Stage2 };
        if (ste.Config == StreamTableEntry.ConfigAbort)
        {
            context.Mode = StreamMode.Abort;
            return context;
        }
        bool stage1 = ste.Stage1Enabled;
        if (ssid != null && (!stage1 || ste.S1CdMax == 0 || substreamId >> ste.S1CdMax != 0))
            return ConfigurationError(failure with { Type = SmmuEventType.CBadSubstreamId });
        uint cdIndex = substreamId;
        if (stage1 && ssid == null)
        {
            cdIndex = 0;
            if (ste.S1CdMax > 0)
            {
                if (ste.S1Dss == StreamTableEntry.S1DssTerminate)
                    return ConfigurationError(failure with { Type = SmmuEventType.FStreamDisabled });
                if (ste.S1Dss == StreamTableEntry.S1DssBypass) stage1 = false;
            }
        }
        if (stage1)
        {
            // A stage 2 fault fetching the CD is recorded as STE.S2R says; walk aborts and C_BAD_* always are.
            if (!ReadContextDescriptor(ste, cdIndex, raw, ref failure))
                return ConfigurationError(failure, failure.Type is not (SmmuEventType.FTranslation or SmmuEventType.FAddrSize
                    or SmmuEventType.FAccess or SmmuEventType.FPermission) || ste.Stage2.Record);
            if (!ContextDescriptor.TryDecode(raw, OutputAddressBits, out context.S1))
                return ConfigurationError(failure with { Type = SmmuEventType.CBadCd });
        }
        context.Stage1 = stage1;
        context.Mode = stage1 || context.Stage2 ? StreamMode.Translate : StreamMode.Bypass;
        return context;
    }

    private StreamContext? ConfigurationError(in SmmuEvent e, bool record = true)
    {
        // 6.3.3: C_BAD_STREAMID is recorded only when SMMU_CR2.RECINVSID says so.
        Record(e, record && (e.Type != SmmuEventType.CBadStreamId || (cr2 & Cr2RecInvSid) != 0));
        return null;
    }

    /// <summary>Finds the STE's address; false (with C_BAD_STREAMID or F_STE_FETCH in <paramref name="failure"/>) if there is none.</summary>
    private bool LocateSte(uint streamId, out ulong address, ref SmmuEvent failure)
    {
        address = 0;
        int log2Size = Math.Min((int)(strtabCfg & 0x3F), StreamIdBits);
        if (streamId >> log2Size != 0) return false;
        ulong tableBase = strtabBase & 0x000F_FFFF_FFFF_FFC0UL;
        if (((strtabCfg >> 16) & 3) != 1)
        {
            address = tableBase + (ulong)streamId * StreamTableEntry.Size;
            return true;
        }
        // SPLIT values other than 6, 8 and 10 are reserved; they behave as the next smaller one (6 at least).
        int split = (int)((strtabCfg >> 6) & 0x1F) switch { >= 10 => 10, >= 8 => 8, _ => 6 };
        ulong l1At = tableBase + (ulong)(streamId >> split) * 8;
        Span<byte> raw = stackalloc byte[8];
        if (!Fetch(l1At, raw, SmmuEventType.FSteFetch, ref failure)) return false;
        ulong l1 = BitConverter.ToUInt64(raw);
        int span = (int)(l1 & 0x1F);
        uint index = streamId & ((1u << split) - 1);
        // Span 0 marks an invalid descriptor; values above SPLIT + 1 are reserved and treated alike.
        if (span == 0 || span > split + 1 || index >> (span - 1) != 0) return false;
        ulong l2 = l1 & 0x000F_FFFF_FFFF_FFC0UL & ~((64UL << (span - 1)) - 1);
        address = l2 + index * (ulong)StreamTableEntry.Size;
        return true;
    }

    /// <summary>Reads a CD (through its L1CD for a 2-level table, through stage 2 when nested) into <paramref name="cd"/>.</summary>
    private bool ReadContextDescriptor(in StreamTableEntry ste, uint index, Span<byte> cd, ref SmmuEvent failure)
    {
        ulong at = ste.ContextPointer + (ulong)index * ContextDescriptor.Size;
        if (ste.S1CdMax > 0 && ste.S1Fmt != StreamTableEntry.S1FmtLinear)
        {
            int split = ste.S1Fmt == StreamTableEntry.S1Fmt4KLeaves ? 6 : 10;
            Span<byte> raw = stackalloc byte[8];
            if (!FetchTable(ste, ste.ContextPointer + (ulong)(index >> split) * 8, raw, ref failure)) return false;
            ulong l1 = BitConverter.ToUInt64(raw);
            if ((l1 & 1) == 0)
            {
                failure = failure with { Type = SmmuEventType.CBadSubstreamId };
                return false;
            }
            at = (l1 & 0x000F_FFFF_FFFF_F000UL) + (index & ((1u << split) - 1)) * (ulong)ContextDescriptor.Size;
        }
        return FetchTable(ste, at, cd, ref failure);
    }

    /// <summary>A read of the CD table: an IPA translated by stage 2 when the STE nests, else a physical address.</summary>
    private bool FetchTable(in StreamTableEntry ste, ulong address, Span<byte> destination, ref SmmuEvent failure)
    {
        if (ste.Stage2Enabled)
        {
            WalkFault fault = default;
            // The STE's CD-table pointer is an IPA; an access cannot cross a page: CDs and L1CDs are aligned.
            if (!Stage2Walker.Walk(ste.Stage2, memory, address, write: false, SmmuFaultClass.ContextDescriptor, out var r, ref fault))
            {
                failure = failure with
                {
                    Type = fault.Type, Stage2 = true, Class = fault.Class, Ipa = fault.Ipa, FetchAddress = fault.FetchAddress,
                };
                return false;
            }
            address = r.Output;
        }
        return Fetch(address, destination, SmmuEventType.FCdFetch, ref failure);
    }

    private bool Fetch(ulong address, Span<byte> destination, SmmuEventType onAbort, ref SmmuEvent failure)
    {
        if (memory.Read(address, destination) == GuestMemoryStatus.Ok) return true;
        failure = failure with { Type = onAbort, FetchAddress = address };
        return false;
    }
}
