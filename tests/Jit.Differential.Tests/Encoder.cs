using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>
/// Builds instruction words from the rows of <see cref="A64Table"/>: the row's fixed bits plus named field
/// values. The generator decides which values are valid; this only places them.
/// </summary>
public static class Encoder
{
    private static readonly Dictionary<Op, Encoding> rows = BuildRows();

    private static Dictionary<Op, Encoding> BuildRows()
    {
        var d = new Dictionary<Op, Encoding>();
        foreach (var row in A64Table.Rows) d.TryAdd(row.Op, row);
        return d;
    }

    public static uint Make(Op op, params (string Name, uint Value)[] fields)
    {
        var row = rows[op];
        uint word = row.Value;
        foreach (var (name, value) in fields)
        {
            var field = row.Fields.FirstOrDefault(f => f.Name == name);
            if (field.Name is null) throw new ArgumentException($"{op} has no field {name}");
            if (field.Width < 32 && value >> field.Width != 0)
                throw new ArgumentOutOfRangeException(name, $"{op}.{name} = 0x{value:x} does not fit in {field.Width} bits");
            word |= value << field.Shift;
        }
        return word;
    }

    /// <summary>A word that is not one of the generated forms (markers, jumps, the end), so it carries no intended form.</summary>
    public static uint AddImm64(int rd, int rn, uint imm12) =>
        Make(Op.AddImm, ("sf", 1), ("sh", 0), ("imm12", imm12), ("Rn", (uint)rn), ("Rd", (uint)rd));

    /// <summary><c>orr xd, xd, #(1 &lt;&lt; bit)</c>: sets one bit, so each marker that runs leaves its own trace.</summary>
    public static uint OrrBit(int rd, int bit) =>
        Make(Op.OrrImm, ("sf", 1), ("N", 1), ("immr", (uint)((64 - bit) & 63)), ("imms", 0), ("Rn", (uint)rd), ("Rd", (uint)rd));

    /// <summary><c>b</c> from byte offset <paramref name="from"/> to <paramref name="to"/> in the region.</summary>
    public static uint Branch(uint from, uint to) => Make(Op.B, ("imm26", (uint)(((int)to - (int)from) >> 2) & 0x3ff_ffff));
}
