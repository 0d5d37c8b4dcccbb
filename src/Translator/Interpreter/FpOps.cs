namespace Jit.Translator.Interpreter;

/// <summary>Scalar floating point and the SIMD&amp;FP loads and stores.</summary>
public sealed unsafe partial class BlockInterpreter
{
    private int Fp(in Inst I, ulong pc) => Undefined(in I);
}
