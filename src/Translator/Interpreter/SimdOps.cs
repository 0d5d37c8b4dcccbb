namespace Jit.Translator.Interpreter;

/// <summary>AdvSIMD vector and scalar instructions.</summary>
public sealed unsafe partial class BlockInterpreter
{
    private int Simd(in Inst I, ulong pc) => Undefined(in I);
}
