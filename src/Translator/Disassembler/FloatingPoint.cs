using Jit.Translator.Decoder;

namespace Jit.Translator.Disassembler;

/// <summary>objdump syntax of the scalar FP instructions and the SIMD&amp;FP loads and stores.</summary>
internal static class FloatingPoint
{
    public static void Register(Formatter?[] t)
    {
    }
}
