using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>FEAT_MOPS: the CPY* and SET* prologue/main/epilogue triples.</summary>
internal static class MemoryCopySet
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.Cpyf] = i => Copy(i, "cpyf");
        t[(int)Op.Cpy] = i => Copy(i, "cpy");
        t[(int)Op.Set] = i => Set(i, "set");
        t[(int)Op.Setg] = i => Set(i, "setg");
    }

    private static readonly string[] stages = ["p", "m", "e"];

    // op2 of CPY: bits <1:0> choose the write and bits <3:2> the read access (unprivileged, non-temporal).
    private static readonly string[] copyOptions =
        ["", "wt", "rt", "t", "wn", "wtwn", "rtwn", "twn", "rn", "wtrn", "rtrn", "trn", "n", "wtn", "rtn", "tn"];

    private static readonly string[] setOptions = ["", "t", "n", "tn"];

    private static string Copy(Inst i, string mnemonic) =>
        Asm(mnemonic + stages[i["op1"]] + copyOptions[i["op2"]], $"[{X(i["Rd"])}]!, [{X(i["Rs"])}]!, {X(i["Rn"])}!");

    private static string Set(Inst i, string mnemonic) =>
        Asm(mnemonic + stages[i["op2"] >> 2] + setOptions[i["op2"] & 3], $"[{X(i["Rd"])}]!, {X(i["Rn"])}!, {X(i["Rs"])}");
}
