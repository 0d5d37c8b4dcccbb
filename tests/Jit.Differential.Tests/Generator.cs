namespace Jit.Differential.Tests;

/// <summary>
/// Random but valid cases per instruction class. Every case is a pure function of its seed, so a failing
/// case is regenerated from the seed the report prints.
/// </summary>
public static partial class Generator
{
    public static TestCase Make(InstructionClass cls, int index, ulong seed)
    {
        var b = new CaseBuilder(cls, index, seed);
        switch (cls)
        {
            case InstructionClass.AluImmediate: Repeat(b, AluImmediate); break;
            case InstructionClass.AluRegister: Repeat(b, AluRegister); break;
            case InstructionClass.Bitfield: Repeat(b, Bitfield); break;
            case InstructionClass.Conditional: Conditional(b); break;
            case InstructionClass.MulDiv: Repeat(b, MulDiv); break;
            case InstructionClass.Misc: Repeat(b, Misc); break;
            case InstructionClass.Branch: return Branch(b);
            case InstructionClass.LoadStoreSingle: return LoadStoreSingle(b);
            case InstructionClass.LoadStorePair: LoadStorePair(b); break;
            case InstructionClass.LoadStoreExclusive: LoadStoreExclusive(b); break;
            case InstructionClass.Atomics: Atomics(b); break;
            case InstructionClass.System: SystemInstructions(b); break;
            case InstructionClass.Mixed: return Mixed(b);
            case InstructionClass.FpLoadStore: return FpLoadStore(b);
            case InstructionClass.FpStructures: FpStructures(b); break;
            case InstructionClass.FpDataProcessing1: FpCase(b, FpOneSource); break;
            case InstructionClass.FpDataProcessing2: FpCase(b, FpTwoSource); break;
            case InstructionClass.FpDataProcessing3: FpCase(b, FpThreeSource); break;
            case InstructionClass.FpCompare: FpCase(b, FpCompare); break;
            case InstructionClass.FpSelectMove: FpCase(b, FpSelectMove); break;
            case InstructionClass.FpConvertPrecision: FpConvertPrecision(b); break;
            case InstructionClass.FpIntConvert: FpCase(b, FpIntConvert); break;
            case InstructionClass.FpFixedConvert: FpCase(b, FpFixedConvert); break;
            case InstructionClass.FpMixed: FpMixed(b); break;
            case var simd when IsSimd(simd): Simd(b); break;
            default: throw new ArgumentOutOfRangeException(nameof(cls));
        }
        return b.Finish();
    }

    /// <summary>One to three instructions of a class, so results also flow from one into the next.</summary>
    private static void Repeat(CaseBuilder b, Action<CaseBuilder> one)
    {
        int n = b.R.Below(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < n; i++) one(b);
    }

    private static readonly Action<CaseBuilder>[] mixable = [AluImmediate, AluRegister, Bitfield, Conditional, MulDiv, Misc, SystemInstructions];

    /// <summary>
    /// Four to ten instructions from the arithmetic classes, so values and flags flow through a whole block;
    /// sometimes 60 to 100, past the interpreter's longest block, and sometimes placed so that they run over
    /// the end of a page into the next one.
    /// </summary>
    private static TestCase Mixed(CaseBuilder b)
    {
        var r = b.R;
        int n = r.Chance(10) ? r.Range(60, 100) : r.Range(4, 10);
        while (b.Case.Intended.Count < n) r.Pick(mixable)(b);
        uint at = 0;
        if (r.Chance(30))
        {
            // Start a few instructions before a page boundary in the lower half of the code area.
            uint words = (uint)b.Count + 1;
            uint page = (uint)r.Range(1, (int)(Protocol.ScratchPages / 0x1000) - 1) * 0x1000;
            at = page - 4 * (uint)r.Range(1, (int)Math.Min(words, 8));
        }
        return b.Finish(at: at);
    }

    /// <summary>A shift or bit position: the ends of the range and small values more often than the middle.</summary>
    private static uint Amount(Rng r, int width) => r.Below(6) switch
    {
        0 => 0,
        1 => (uint)width - 1,
        2 => (uint)r.Range(1, 4),
        3 => (uint)(width / 2 + r.Range(-1, 0)),
        _ => (uint)r.Below(width),
    };
}
