using System.Buffers.Binary;

namespace Jit.Devices.Smmu;

/// <summary>Event numbers of the SMMUv3 event queue (IHI 0070, 7.3), spelled after the manual's names.</summary>
public enum SmmuEventType : byte
{
    /// <summary>F_UUT: an upstream transaction the SMMU does not support.</summary>
    FUut = 0x01,
    /// <summary>C_BAD_STREAMID: the StreamID is beyond the stream table (recorded only with SMMU_CR2.RECINVSID).</summary>
    CBadStreamId = 0x02,
    /// <summary>F_STE_FETCH: reading the STE (or its level 1 descriptor) aborted.</summary>
    FSteFetch = 0x03,
    /// <summary>C_BAD_STE: the STE is not valid, or holds an illegal combination.</summary>
    CBadSte = 0x04,
    /// <summary>F_BAD_ATS_TREQ: an ATS translation request this SMMU refuses (it has no ATS).</summary>
    FBadAtsTreq = 0x05,
    /// <summary>F_STREAM_DISABLED: a transaction without a SubstreamID where STE.S1DSS says terminate.</summary>
    FStreamDisabled = 0x06,
    /// <summary>F_TRANSL_FORBIDDEN: an ATS-translated transaction this SMMU refuses.</summary>
    FTranslForbidden = 0x07,
    /// <summary>C_BAD_SUBSTREAMID: the SubstreamID is out of range, or substreams are off, or its L1CD is not valid.</summary>
    CBadSubstreamId = 0x08,
    /// <summary>F_CD_FETCH: reading the CD (or its L1CD) aborted.</summary>
    FCdFetch = 0x09,
    /// <summary>C_BAD_CD: the CD is not valid, or holds an illegal combination.</summary>
    CBadCd = 0x0A,
    /// <summary>F_WALK_EABT: a translation table read aborted.</summary>
    FWalkEabt = 0x0B,
    /// <summary>F_TRANSLATION: no valid descriptor, or the input address is outside the translated range.</summary>
    FTranslation = 0x10,
    /// <summary>F_ADDR_SIZE: an output or table address beyond the stage's output size.</summary>
    FAddrSize = 0x11,
    /// <summary>F_ACCESS: a descriptor with AF = 0 (this SMMU does not update the flag).</summary>
    FAccess = 0x12,
    /// <summary>F_PERMISSION: the descriptor's AP/S2AP do not allow the access.</summary>
    FPermission = 0x13,
}

/// <summary>What part of a translation faulted (event records' CLASS field).</summary>
public enum SmmuFaultClass : byte
{
    /// <summary>Fetching the context descriptor (its IPA, at stage 2).</summary>
    ContextDescriptor = 0,
    /// <summary>Fetching a stage 1 translation table descriptor (its IPA, at stage 2).</summary>
    TranslationTable = 1,
    /// <summary>The transaction's own input address.</summary>
    Input = 2,
}

/// <summary>
/// One event record (IHI 0070, 7.3): 32 bytes. Doubleword 0 holds the event number [7:0], SSV [11], SubstreamID
/// [31:12] and StreamID [63:32]; for the translation faults doubleword 1 holds PnU [33], InD [34], RnW [35],
/// S2 [39] and CLASS [41:40], doubleword 2 the input address and doubleword 3 the faulting IPA [51:12] when S2 is
/// set; the fetch faults (F_STE_FETCH, F_CD_FETCH, F_WALK_EABT) put the fetch address [51:3] in doubleword 3.
/// </summary>
public readonly record struct SmmuEvent(
    SmmuEventType Type,
    uint StreamId,
    uint? SubstreamId = null,
    ulong InputAddress = 0,
    bool Read = true,
    bool Privileged = false,
    bool Stage2 = false,
    SmmuFaultClass Class = SmmuFaultClass.Input,
    ulong Ipa = 0,
    ulong FetchAddress = 0)
{
    public const int Size = 32;

    private bool IsTranslationFault => Type is SmmuEventType.FTranslation or SmmuEventType.FAddrSize
        or SmmuEventType.FAccess or SmmuEventType.FPermission or SmmuEventType.FWalkEabt;

    public void Encode(Span<byte> record)
    {
        ulong d0 = (ulong)Type | (ulong)StreamId << 32;
        if (SubstreamId is uint ssid) d0 |= 1UL << 11 | (ulong)(ssid & 0xF_FFFF) << 12;
        ulong d1 = 0, d2 = 0, d3 = 0;
        if (IsTranslationFault)
        {
            d1 = (Privileged ? 1UL << 33 : 0) | (Read ? 1UL << 35 : 0) | (Stage2 ? 1UL << 39 : 0) | (ulong)Class << 40;
            d2 = InputAddress;
            if (Stage2 && Type != SmmuEventType.FWalkEabt) d3 = Ipa & 0x000F_FFFF_FFFF_F000UL;
        }
        if (Type is SmmuEventType.FSteFetch or SmmuEventType.FCdFetch or SmmuEventType.FWalkEabt)
            d3 = FetchAddress & 0x000F_FFFF_FFFF_FFF8UL;
        BinaryPrimitives.WriteUInt64LittleEndian(record, d0);
        BinaryPrimitives.WriteUInt64LittleEndian(record[8..], d1);
        BinaryPrimitives.WriteUInt64LittleEndian(record[16..], d2);
        BinaryPrimitives.WriteUInt64LittleEndian(record[24..], d3);
    }

    public override string ToString() => Type switch
    {
        SmmuEventType.FTranslation or SmmuEventType.FAddrSize or SmmuEventType.FAccess or SmmuEventType.FPermission =>
            $"{Name} stream {StreamId}{Ssid} {(Read ? "read" : "write")} 0x{InputAddress:x}{(Stage2 ? $" at stage 2 (IPA 0x{Ipa:x}, {Class})" : "")}",
        SmmuEventType.FWalkEabt or SmmuEventType.FSteFetch or SmmuEventType.FCdFetch =>
            $"{Name} stream {StreamId}{Ssid} fetching 0x{FetchAddress:x}",
        _ => $"{Name} stream {StreamId}{Ssid}",
    };

    private string Ssid => SubstreamId is uint s ? $".{s}" : "";

    private string Name => Type switch
    {
        SmmuEventType.FUut => "F_UUT",
        SmmuEventType.CBadStreamId => "C_BAD_STREAMID",
        SmmuEventType.FSteFetch => "F_STE_FETCH",
        SmmuEventType.CBadSte => "C_BAD_STE",
        SmmuEventType.FBadAtsTreq => "F_BAD_ATS_TREQ",
        SmmuEventType.FStreamDisabled => "F_STREAM_DISABLED",
        SmmuEventType.FTranslForbidden => "F_TRANSL_FORBIDDEN",
        SmmuEventType.CBadSubstreamId => "C_BAD_SUBSTREAMID",
        SmmuEventType.FCdFetch => "F_CD_FETCH",
        SmmuEventType.CBadCd => "C_BAD_CD",
        SmmuEventType.FWalkEabt => "F_WALK_EABT",
        SmmuEventType.FTranslation => "F_TRANSLATION",
        SmmuEventType.FAddrSize => "F_ADDR_SIZE",
        SmmuEventType.FAccess => "F_ACCESS",
        SmmuEventType.FPermission => "F_PERMISSION",
        _ => $"event 0x{(byte)Type:x2}",
    };
}
