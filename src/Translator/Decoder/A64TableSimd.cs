namespace Jit.Translator.Decoder;

/// <summary>Rows of the AdvSIMD vector and scalar instructions (Op values from SimdFirst).</summary>
public static class A64TableSimd
{
    public static readonly Encoding[] Rows =
    [
    ];
}
