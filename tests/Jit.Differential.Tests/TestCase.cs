using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>The instruction classes the suite exercises; each is one test, so a failure names its class.</summary>
public enum InstructionClass
{
    AluImmediate, AluRegister, Bitfield, Conditional, MulDiv, Misc, Branch,
    LoadStoreSingle, LoadStorePair, LoadStoreExclusive, Atomics, System,
    /// <summary>Longer straight-line blocks mixing the arithmetic classes and NZCV moves.</summary>
    Mixed,
    /// <summary>LDR/STR/LDUR/STUR/LDP/STP/LDNP/STNP of SIMD&amp;FP registers, literal loads.</summary>
    FpLoadStore,
    /// <summary>LD1–LD4/ST1–ST4: multiple structures, single lanes, replicate.</summary>
    FpStructures,
    /// <summary>FMOV (register), FABS, FNEG, FSQRT, FRINT*.</summary>
    FpDataProcessing1,
    /// <summary>FADD, FSUB, FMUL, FDIV, FNMUL, FMAX, FMIN, FMAXNM, FMINNM.</summary>
    FpDataProcessing2,
    /// <summary>FMADD, FMSUB, FNMADD, FNMSUB.</summary>
    FpDataProcessing3,
    /// <summary>FCMP, FCMPE, FCCMP, FCCMPE.</summary>
    FpCompare,
    /// <summary>FCSEL, FMOV (immediate), FMOV (register).</summary>
    FpSelectMove,
    /// <summary>FCVT between half, single and double.</summary>
    FpConvertPrecision,
    /// <summary>FCVT[NPMZA][SU], SCVTF/UCVTF and FMOV between FP and general registers.</summary>
    FpIntConvert,
    /// <summary>FCVTZS/FCVTZU/SCVTF/UCVTF with fraction bits.</summary>
    FpFixedConvert,
    /// <summary>Blocks of the FP classes together, with MSR/MRS of FPCR and FPSR in between.</summary>
    FpMixed,
    // AdvSIMD, vector and scalar forms: integer, then floating point
    SimdArithmetic, SimdCompare, SimdLogicImmediate, SimdPermute, SimdShift, SimdAcrossPairwise, SimdWidenNarrow,
    SimdSaturating, SimdMultiply, SimdFloatArithmetic, SimdFloatCompareConvert,
}

/// <summary>Words placed at <see cref="Offset"/> bytes into the region.</summary>
public sealed record Chunk(uint Offset, uint[] Words);

/// <summary>One generated case: the initial state and the code, run from the start of the region.</summary>
public sealed class TestCase
{
    public required InstructionClass Class { get; init; }
    public required int Index { get; init; }
    public required ulong Seed { get; init; }
    public ulong[] X { get; } = new ulong[31];
    public ulong Sp { get; set; }
    public ulong Nzcv { get; set; }
    /// <summary>V0–V31, Vn's low doubleword at 2n and its high one at 2n + 1 (as <c>CpuState.V</c>).</summary>
    public ulong[] V { get; } = new ulong[64];
    public ulong Fpcr { get; set; }
    public ulong Fpsr { get; set; }
    public List<Chunk> Chunks { get; } = [];
    public byte[] Scratch { get; set; } = [];

    /// <summary>Each generated word and the form the generator meant, so a decoder disagreement is reported as such.</summary>
    public List<(uint Word, Op Op)> Intended { get; } = [];
}

/// <summary>What a case left behind, on either side.</summary>
public sealed class Outcome
{
    /// <summary>Empty when the case reached its end marker; otherwise why it did not (signal, exception, limit).</summary>
    public string Stop { get; set; } = "";
    public ulong[] X { get; } = new ulong[31];
    public ulong Sp { get; set; }
    public ulong Nzcv { get; set; }
    public ulong[] V { get; } = new ulong[64];
    public ulong Fpcr { get; set; }
    public ulong Fpsr { get; set; }
    public byte[] Scratch { get; set; } = [];
}
