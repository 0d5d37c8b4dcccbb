using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>Pre-decoding of the scalar FP and SIMD&amp;FP load/store rows (<see cref="A64TableFp"/>).</summary>
public static class FpPredecoder
{
    public static void Predecode(ref Inst i, Encoding e, uint word)
    {
    }
}
