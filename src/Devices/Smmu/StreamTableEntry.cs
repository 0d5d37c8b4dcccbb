using System.Buffers.Binary;

namespace Jit.Devices.Smmu;

/// <summary>
/// A stream table entry (IHI 0070, 5.2), 64 bytes. Dword 0: V [0], Config [3:1], S1Fmt [5:4], S1ContextPtr [51:6],
/// S1CDMax [63:59]; dword 1: S1DSS [1:0], S1STALLD [27], EATS [29:28], STRW [31:30], PRIVCFG [49:48]; dword 2:
/// S2VMID [15:0], S2T0SZ [37:32], S2SL0 [39:38], S2TG [47:46], S2PS [50:48], S2AA64 [51], S2ENDI [52], S2AFFD [53],
/// S2S [57], S2R [58]; dword 3: S2TTB [51:4].
/// </summary>
/// <remarks>
/// Config: 0b000 aborts every transaction without an event; 0b100 bypasses both stages; 0b101 stage 1 only;
/// 0b110 stage 2 only; 0b111 both (nested); 0b001–0b011 are illegal. Fields of a stage that is off are ignored,
/// and so are EATS (no ATS) and the memory-attribute overrides (memory is coherent RAM). STRW must be NS-EL1
/// where stage 1 is on (no EL2 streams: SMMU_IDR0.Hyp = 0); stalls are never allowed (STALL_MODEL = 0b01).
/// S2VMID tags stage 1 translations too, as it does whenever stage 2 is implemented.
/// </remarks>
internal struct StreamTableEntry
{
    public const int Size = 64;

    public const int ConfigAbort = 0b000, ConfigBypass = 0b100, ConfigStage1 = 0b101, ConfigStage2 = 0b110, ConfigNested = 0b111;
    public const int S1DssTerminate = 0, S1DssBypass = 1, S1DssSubstream0 = 2;
    public const int S1FmtLinear = 0, S1Fmt4KLeaves = 1, S1Fmt64KLeaves = 2;

    public int Config;
    public ulong ContextPointer;
    public int S1Fmt, S1CdMax, S1Dss;
    public bool Privileged;
    public ushort Vmid;
    public Stage2Config Stage2;

    public readonly bool Stage1Enabled => (Config & 0b101) == 0b101;
    public readonly bool Stage2Enabled => (Config & 0b110) == 0b110;

    /// <summary>Decodes an STE; false when it is C_BAD_STE.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> ste, int oas, int substreamIdBits, out StreamTableEntry entry)
    {
        entry = default;
        ulong d0 = BinaryPrimitives.ReadUInt64LittleEndian(ste);
        ulong d1 = BinaryPrimitives.ReadUInt64LittleEndian(ste[8..]);
        ulong d2 = BinaryPrimitives.ReadUInt64LittleEndian(ste[16..]);
        ulong d3 = BinaryPrimitives.ReadUInt64LittleEndian(ste[24..]);
        if ((d0 & 1) == 0) return false;
        int config = (int)((d0 >> 1) & 7);
        if (config is > ConfigAbort and < ConfigBypass) return false;
        entry.Config = config;
        // PRIVCFG: 0b10 forces unprivileged, 0b11 privileged; otherwise the incoming attribute, unprivileged for PCIe.
        entry.Privileged = ((d1 >> 48) & 3) == 3;
        entry.Vmid = (ushort)d2;
        if (entry.Stage1Enabled)
        {
            entry.S1CdMax = (int)(d0 >> 59);
            entry.S1Fmt = (int)((d0 >> 4) & 3);
            entry.S1Dss = (int)(d1 & 3);
            entry.ContextPointer = d0 & 0x000F_FFFF_FFFF_FFC0UL;
            if (entry.S1CdMax > substreamIdBits) return false;
            if (entry.S1CdMax > 0 && (entry.S1Fmt > S1Fmt64KLeaves || entry.S1Dss > S1DssSubstream0)) return false;
            if (((d1 >> 30) & 3) != 0) return false;      // STRW: only NS-EL1
            if ((d1 & (1UL << 27)) != 0) return false;    // S1STALLD is illegal unless stalls are configurable
        }
        if (entry.Stage2Enabled)
        {
            if ((d2 & (1UL << 51)) == 0) return false;    // S2AA64: no AArch32 tables
            if ((d2 & (1UL << 52)) != 0) return false;    // S2ENDI: little-endian tables only
            if ((d2 & (1UL << 57)) != 0) return false;    // S2S: no stalls
            if (!Stage2Walker.TryDecode(d2, d3, oas, out entry.Stage2)) return false;
        }
        return true;
    }
}
