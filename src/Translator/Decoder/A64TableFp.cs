namespace Jit.Translator.Decoder;

/// <summary>Rows of the scalar floating-point instructions and the SIMD&amp;FP loads and stores (Op values from FpFirst).</summary>
public static class A64TableFp
{
    public static readonly Encoding[] Rows =
    [
    ];
}
