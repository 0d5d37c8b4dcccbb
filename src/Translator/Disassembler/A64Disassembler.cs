using Jit.Translator.Decoder;

namespace Jit.Translator.Disassembler;

/// <summary>
/// Prints an A64 instruction the way GNU objdump -d does: mnemonic, a tab, the operands, objdump's preferred
/// aliases and its trailing comments. Each instruction class registers one formatter per <see cref="Op"/>.
/// </summary>
public static class A64Disassembler
{
    private static readonly Formatter?[] formatters = Build();

    private static Formatter?[] Build()
    {
        var table = new Formatter?[Enum.GetValues<Op>().Max(o => (int)o) + 1];
        DataProcessingImmediate.Register(table);
        Branches.Register(table);
        SystemInstructions.Register(table);
        LoadStore.Register(table);
        DataProcessingRegister.Register(table);
        MemoryTagging.Register(table);
        MemoryCopySet.Register(table);
        return table;
    }

    public static string Disassemble(uint word, ulong pc)
    {
        var encoding = A64Decoder.Decode(word);
        var format = formatters[(int)encoding.Op];
        if (format is not null) return format(new Inst(encoding, word, pc));
        return SystemInstructions.UnallocatedSystemMove(word) ?? Undefined(word);
    }

    /// <summary>What objdump prints for a word it cannot decode.</summary>
    internal static string Undefined(uint word) =>
        // objdump 2.40 has a placeholder for the reserved block at bits[31:21] = 0b00000000001 and marks its
        // words "not yet implemented" rather than undefined.
        word >> 21 == 1 ? $".inst\t0x{word:x8} ; NYI" : $".inst\t0x{word:x8} ; undefined";
}

internal delegate string Formatter(Inst i);

/// <summary>A decoded instruction with its address: field access by the names the table gives them.</summary>
internal readonly record struct Inst(Encoding Encoding, uint Word, ulong Pc)
{
    public int this[string field] => (int)Encoding.Get(field, Word);
    public Op Op => Encoding.Op;
    // Rows without an sf field (REV32, SMADDL, ...) are 64-bit forms.
    public bool Sf => !Encoding.Has("sf") || Encoding.Get("sf", Word) == 1;
}
