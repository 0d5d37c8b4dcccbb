namespace Jit.Benchmarks;

/// <summary>
/// The few A64 encodings the benchmark guests use, 64-bit forms only, so that a benchmark needs no cross
/// toolchain at run time. Field layouts follow the Arm ARM's encoding diagrams (C4.1); the words were checked
/// once against aarch64-linux-gnu-objdump (see perf/README.md).
/// </summary>
public static class A64
{
    public const int Xzr = 31;

    /// <summary>Condition codes for <see cref="BCond"/> (C1.2.4).</summary>
    public const int Eq = 0, Ne = 1;

    private static uint R(int r) => (uint)r & 31;

    /// <summary>MOVZ Xd, #imm16, LSL #(16 * hw).</summary>
    public static uint Movz(int rd, ushort imm, int hw = 0) => 0xD280_0000u | (uint)hw << 21 | (uint)imm << 5 | R(rd);

    /// <summary>MOVK Xd, #imm16, LSL #(16 * hw).</summary>
    public static uint Movk(int rd, ushort imm, int hw = 0) => 0xF280_0000u | (uint)hw << 21 | (uint)imm << 5 | R(rd);

    /// <summary>ADD Xd, Xn, #imm12.</summary>
    public static uint AddImm(int rd, int rn, int imm12) => 0x9100_0000u | (uint)imm12 << 10 | R(rn) << 5 | R(rd);

    /// <summary>SUBS Xd, Xn, #imm12 (CMP when Xd is XZR).</summary>
    public static uint SubsImm(int rd, int rn, int imm12) => 0xF100_0000u | (uint)imm12 << 10 | R(rn) << 5 | R(rd);

    /// <summary>ADD Xd, Xn, Xm, LSL #shift.</summary>
    public static uint AddReg(int rd, int rn, int rm, int lsl = 0) => 0x8B00_0000u | R(rm) << 16 | (uint)lsl << 10 | R(rn) << 5 | R(rd);

    /// <summary>EOR Xd, Xn, Xm, LSL #shift.</summary>
    public static uint EorReg(int rd, int rn, int rm, int lsl = 0) => 0xCA00_0000u | R(rm) << 16 | (uint)lsl << 10 | R(rn) << 5 | R(rd);

    /// <summary>AND Xd, Xn, #(2^ones − 1): the bitmask immediate N=1, immr=0, imms=ones−1.</summary>
    public static uint AndLowOnes(int rd, int rn, int ones) => 0x9240_0000u | (uint)(ones - 1) << 10 | R(rn) << 5 | R(rd);

    /// <summary>MADD Xd, Xn, Xm, Xa.</summary>
    public static uint Madd(int rd, int rn, int rm, int ra) => 0x9B00_0000u | R(rm) << 16 | R(ra) << 10 | R(rn) << 5 | R(rd);

    /// <summary>LDR Xt, [Xn, #imm] (unsigned offset, a multiple of 8).</summary>
    public static uint LdrImm(int rt, int rn, int offset) => 0xF940_0000u | (uint)(offset / 8) << 10 | R(rn) << 5 | R(rt);

    /// <summary>STR Xt, [Xn, #imm] (unsigned offset, a multiple of 8).</summary>
    public static uint StrImm(int rt, int rn, int offset) => 0xF900_0000u | (uint)(offset / 8) << 10 | R(rn) << 5 | R(rt);

    /// <summary>LDR Wt, [Xn, #imm] (unsigned offset, a multiple of 4).</summary>
    public static uint LdrW(int rt, int rn, int offset) => 0xB940_0000u | (uint)(offset / 4) << 10 | R(rn) << 5 | R(rt);

    /// <summary>LDR Xt, [Xn, Xm].</summary>
    public static uint LdrReg(int rt, int rn, int rm) => 0xF860_6800u | R(rm) << 16 | R(rn) << 5 | R(rt);

    /// <summary>STR Xt, [Xn, Xm].</summary>
    public static uint StrReg(int rt, int rn, int rm) => 0xF820_6800u | R(rm) << 16 | R(rn) << 5 | R(rt);

    /// <summary>B.cond to <paramref name="words"/> instructions from this one (negative: backwards).</summary>
    public static uint BCond(int cond, int words) => 0x5400_0000u | ((uint)words & 0x7FFFF) << 5 | (uint)cond;

    /// <summary>B to <paramref name="words"/> instructions from this one.</summary>
    public static uint B(int words) => 0x1400_0000u | ((uint)words & 0x3FF_FFFF);

    public static uint Hvc(ushort imm) => 0xD400_0002u | (uint)imm << 5;

    public static uint Smc(ushort imm) => 0xD400_0003u | (uint)imm << 5;

    /// <summary>MOVZ/MOVK sequence loading a 64-bit constant: four words, whatever the value, so code layout is fixed.</summary>
    public static uint[] Mov64(int rd, ulong value) =>
    [
        Movz(rd, (ushort)value),
        Movk(rd, (ushort)(value >> 16), 1),
        Movk(rd, (ushort)(value >> 32), 2),
        Movk(rd, (ushort)(value >> 48), 3),
    ];
}
