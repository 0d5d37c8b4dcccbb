using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>Pre-decoding of the AdvSIMD rows (<see cref="A64TableSimd"/>).</summary>
public static class SimdPredecoder
{
    public static void Predecode(ref Inst i, Encoding e, uint word)
    {
    }
}
