using Jit.Runtime.Startup;

namespace Jit.Translator.Decoder;

/// <summary>A named field of an encoding: bits [Shift + Width - 1 : Shift] of the instruction word.</summary>
public readonly record struct Field(string Name, int Shift, int Width)
{
    public uint Extract(uint word) => (word >> Shift) & (uint)((1UL << Width) - 1);
}

/// <summary>
/// One row of the A64 table: an instruction form, its bit pattern as the manual prints it (MSB first) and the
/// fields named there. <see cref="Allocated"/> holds the constraints a pattern cannot say ("sf == N").
/// </summary>
[CompiledEarly]
public sealed class Encoding
{
    public Op Op { get; }
    public string Pattern { get; }
    public uint Mask { get; }
    public uint Value { get; }
    public IReadOnlyList<Field> Fields => fields;
    // An array, so that the lookups below enumerate without boxing an enumerator: they run for every field of
    // every instruction decoded.
    private readonly Field[] fields;
    public Func<Encoding, uint, bool>? Allocated { get; }

    public Encoding(Op op, string pattern, Func<Encoding, uint, bool>? allocated = null)
    {
        Op = op;
        Pattern = pattern;
        Allocated = allocated;
        var found = new List<Field>();
        int bit = 32;
        uint mask = 0, value = 0;
        foreach (var token in pattern.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = token.IndexOf(':');
            if (colon > 0)
            {
                int width = int.Parse(token[(colon + 1)..]);
                bit -= width;
                found.Add(new Field(token[..colon], bit, width));
                continue;
            }
            foreach (char c in token)
            {
                bit--;
                if (c == 'x') continue;
                if (c is not ('0' or '1')) throw new FormatException($"{op}: bad pattern character '{c}' in \"{pattern}\"");
                mask |= 1u << bit;
                if (c == '1') value |= 1u << bit;
            }
        }
        if (bit != 0) throw new FormatException($"{op}: pattern \"{pattern}\" has {32 - bit} bits, not 32");
        Mask = mask;
        Value = value;
        fields = [.. found];
    }

    public bool Matches(uint word) => (word & Mask) == Value && (Allocated is null || Allocated(this, word));

    public bool Has(string name)
    {
        foreach (var f in fields) if (f.Name == name) return true;
        return false;
    }

    /// <summary>The value of field <paramref name="name"/> in <paramref name="word"/>.</summary>
    public uint Get(string name, uint word)
    {
        foreach (var f in fields)
            if (f.Name == name) return f.Extract(word);
        throw new KeyNotFoundException($"{Op} has no field {name}");
    }

    public override string ToString() => $"{Op} {Pattern}";
}
