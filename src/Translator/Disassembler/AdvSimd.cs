using Jit.Translator.Decoder;

namespace Jit.Translator.Disassembler;

/// <summary>objdump syntax of the AdvSIMD instructions.</summary>
internal static class AdvSimd
{
    public static void Register(Formatter?[] t)
    {
    }
}
