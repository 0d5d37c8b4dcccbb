namespace Jit.Runtime;

/// <summary>
/// The identity the guest sees: a Cortex-A57-like core (r1p0) with AArch64-only EL0/EL1, FP and AdvSIMD, CRC32
/// and LSE atomics; no Crypto extension, no SVE, PAuth, BTI or MTE.
/// </summary>
public static class CpuModel
{
    public const ulong Midr = 0x411F_D070;          // Arm, variant 1, architecture 0xF, part 0xD07 (A57), revision 0
    public const ulong Revidr = 0;
    // ID_AA64PFR0_EL1: EL0 and EL1 AArch64 only (1), EL2/EL3 not visible to a guest (0), FP and AdvSIMD
    // without half-precision arithmetic (0), GIC system registers (1), CSV2 and CSV3 (1 each): the emulated CPU
    // does not speculate, so it is immune to Spectre v2 and Meltdown.
    public const ulong IdAa64Pfr0 = 0x1100_0000_0100_0011;
    public const ulong IdAa64Pfr1 = 0;
    // ID_AA64DFR0_EL1: Armv8 debug (6), 6 breakpoints, 4 watchpoints, 2 context-aware (as the A57), no PMU yet.
    public const ulong IdAa64Dfr0 = 0x0000_0000_1030_5006;
    public const ulong IdAa64Isar0 = 0x0000_0000_0021_0000; // CRC32 (1) in [19:16], Atomic/LSE (2) in [23:20]
    public const ulong IdAa64Isar1 = 0;
    // ID_AA64MMFR0_EL1: PARange 44 bits (4), ASID 16 bits (2), 4K granule only (TGran16 = 0, TGran64 = 0xF, TGran4 = 0).
    public const ulong IdAa64Mmfr0 = 0x0000_0000_0F00_0024;
    public const ulong IdAa64Mmfr1 = 0;
    public const ulong IdAa64Mmfr2 = 0;
    // CTR_EL0: IminLine = DminLine = 64 bytes, ERG = CWG = 16 words, L1Ip PIPT, and DIC = IDC = 0 so software
    // cleans and invalidates explicitly (the translator relies on IC IVAU).
    public const ulong Ctr = 0x8444_C004;
    public const ulong Dczid = 4;                    // DC ZVA zeroes 2^4 words = 64 bytes
    public const ulong CounterFrequency = 62_500_000;

    // CLIDR_EL1: L1 separate I and D caches, L2 unified; LoUIS = 1, LoC = 2, LoUU = 1 (Cortex-A57).
    public const ulong Clidr = 0x0A20_0023;

    /// <summary>CCSIDR_EL1 for the cache CSSELR_EL1 selects: 32 KiB 2-way L1 D, 48 KiB 3-way L1 I, 2 MiB 16-way L2, 64-byte lines.</summary>
    public static ulong Ccsidr(ulong csselr) => csselr switch
    {
        0 => 0x701F_E00A,
        1 => 0x201F_E012,
        2 => 0x70FF_E07A,
        _ => 0, // a cache level that does not exist: UNKNOWN, reads as zero here
    };

    public static ulong MpidrFor(int vcpu) => 0x8000_0000UL | (uint)(vcpu & 0xFF);
}
