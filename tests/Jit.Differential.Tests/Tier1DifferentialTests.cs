using Jit.Translator;
using Xunit.Abstractions;

namespace Jit.Differential.Tests;

/// <summary>
/// The same classes with tier 1 forced (threshold 0, synchronous): every block of every case is compiled before
/// it runs. Each case pays RyuJIT's compile time, so these run a quarter of the default cases; the full suite
/// runs this way with JIT_OPTIONS=tier1=sync,threshold=0. FP and SIMD classes are here because their blocks
/// start with, or run into, integer code that tier 1 compiles as a prefix.
/// </summary>
public class Tier1DifferentialTests(ITestOutputHelper output)
{
    private const int Cases = DiffRunner.DefaultCasesPerClass / 4;
    private static readonly JitOptions Sync = new() { Tier1 = Tier1Mode.Synchronous, Threshold = 0 };

    [Fact] public void AluImmediate() => Check(InstructionClass.AluImmediate);
    [Fact] public void AluRegister() => Check(InstructionClass.AluRegister);
    [Fact] public void Bitfield() => Check(InstructionClass.Bitfield);
    [Fact] public void Conditional() => Check(InstructionClass.Conditional);
    [Fact] public void MulDiv() => Check(InstructionClass.MulDiv);
    [Fact] public void Misc() => Check(InstructionClass.Misc);
    [Fact] public void Branch() => Check(InstructionClass.Branch);
    [Fact] public void LoadStoreSingle() => Check(InstructionClass.LoadStoreSingle);
    [Fact] public void LoadStorePair() => Check(InstructionClass.LoadStorePair);
    [Fact] public void LoadStoreExclusive() => Check(InstructionClass.LoadStoreExclusive);
    [Fact] public void System() => Check(InstructionClass.System);
    [Fact] public void Mixed() => Check(InstructionClass.Mixed);
    [Fact] public void FpLoadStore() => Check(InstructionClass.FpLoadStore);
    [Fact] public void FpMixed() => Check(InstructionClass.FpMixed);

    [Fact]
    public void MixedWithoutInlineTlb() => Check(InstructionClass.Mixed, Sync with { InlineTlb = false });

    [Fact]
    public void LoadStoreSingleWithoutInlineTlb() => Check(InstructionClass.LoadStoreSingle, Sync with { InlineTlb = false });

    private void Check(InstructionClass cls, JitOptions? options = null)
    {
        var report = DiffRunner.Run(cls, output.WriteLine, options ?? Sync, Cases);
        Assert.True(report.Failures == 0, report.Text.ToString());
    }
}
