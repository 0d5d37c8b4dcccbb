using Xunit.Abstractions;

namespace Jit.Differential.Tests;

/// <summary>
/// The interpreter against qemu-aarch64, one test per instruction class so that a failure names its class.
/// The tests of one class run one after another, which suits the two cores CI has: qemu on one, us on the other.
/// </summary>
public class DifferentialTests(ITestOutputHelper output)
{
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
    [Fact] public void Atomics() => Check(InstructionClass.Atomics);
    [Fact] public void System() => Check(InstructionClass.System);
    [Fact] public void Mixed() => Check(InstructionClass.Mixed);
    [Fact] public void FpLoadStore() => Check(InstructionClass.FpLoadStore);
    [Fact] public void FpStructures() => Check(InstructionClass.FpStructures);
    [Fact] public void FpDataProcessing1() => Check(InstructionClass.FpDataProcessing1);
    [Fact] public void FpDataProcessing2() => Check(InstructionClass.FpDataProcessing2);
    [Fact] public void FpDataProcessing3() => Check(InstructionClass.FpDataProcessing3);
    [Fact] public void FpCompare() => Check(InstructionClass.FpCompare);
    [Fact] public void FpSelectMove() => Check(InstructionClass.FpSelectMove);
    [Fact] public void FpConvertPrecision() => Check(InstructionClass.FpConvertPrecision);
    [Fact] public void FpIntConvert() => Check(InstructionClass.FpIntConvert);
    [Fact] public void FpFixedConvert() => Check(InstructionClass.FpFixedConvert);
    [Fact] public void FpMixed() => Check(InstructionClass.FpMixed);
    [Fact] public void SimdArithmetic() => Check(InstructionClass.SimdArithmetic);
    [Fact] public void SimdCompare() => Check(InstructionClass.SimdCompare);
    [Fact] public void SimdLogicImmediate() => Check(InstructionClass.SimdLogicImmediate);
    [Fact] public void SimdPermute() => Check(InstructionClass.SimdPermute);
    [Fact] public void SimdShift() => Check(InstructionClass.SimdShift);
    [Fact] public void SimdAcrossPairwise() => Check(InstructionClass.SimdAcrossPairwise);
    [Fact] public void SimdWidenNarrow() => Check(InstructionClass.SimdWidenNarrow);
    [Fact] public void SimdSaturating() => Check(InstructionClass.SimdSaturating);
    [Fact] public void SimdMultiply() => Check(InstructionClass.SimdMultiply);
    [Fact] public void SimdFloatArithmetic() => Check(InstructionClass.SimdFloatArithmetic);
    [Fact] public void SimdFloatCompareConvert() => Check(InstructionClass.SimdFloatCompareConvert);

    private void Check(InstructionClass cls)
    {
        var report = DiffRunner.Run(cls, output.WriteLine);
        Assert.True(report.Failures == 0, report.Text.ToString());
    }
}
