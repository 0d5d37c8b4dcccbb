using Jit.Runtime.Startup;

namespace Jit.Translator.Decoder;

/// <summary>
/// Looks an instruction word up in <see cref="A64Table"/>. Rows are tried in table order (most specific first)
/// within a bucket chosen by bits [28:21], which most rows fix; a word no row accepts is Undefined.
/// </summary>
[CompiledEarly]
public static class A64Decoder
{
    private const int IndexShift = 21;
    private const int IndexBits = 8;
    private const uint IndexMask = ((1u << IndexBits) - 1) << IndexShift;

    private static readonly Encoding[][] buckets = BuildBuckets();

    public static readonly Encoding Undefined = new(Op.Undefined, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

    private static Encoding[][] BuildBuckets()
    {
        var result = new Encoding[1 << IndexBits][];
        for (uint b = 0; b < result.Length; b++)
        {
            uint bits = b << IndexShift;
            result[b] = A64Table.Rows.Where(e => (e.Value & e.Mask & IndexMask) == (bits & e.Mask & IndexMask)).ToArray();
        }
        return result;
    }

    public static Encoding Decode(uint word)
    {
        foreach (var e in buckets[(word & IndexMask) >> IndexShift])
            if (e.Matches(word)) return e;
        return Undefined;
    }
}
