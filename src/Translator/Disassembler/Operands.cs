using System.Globalization;

namespace Jit.Translator.Disassembler;

/// <summary>Operand spelling shared by the instruction classes, in objdump's conventions.</summary>
internal static class Operands
{
    private static readonly string[] xNames = Enumerable.Range(0, 31).Select(n => $"x{n}").Append("xzr").ToArray();
    private static readonly string[] wNames = Enumerable.Range(0, 31).Select(n => $"w{n}").Append("wzr").ToArray();

    /// <summary>A general register where 31 is the zero register.</summary>
    public static string R(bool x, int n) => x ? xNames[n] : wNames[n];
    public static string X(int n) => xNames[n];
    public static string W(int n) => wNames[n];

    /// <summary>A general register where 31 is the stack pointer.</summary>
    public static string RSp(bool x, int n) => n == 31 ? (x ? "sp" : "wsp") : R(x, n);
    public static string XSp(int n) => RSp(true, n);

    public static string Hex(ulong value) => "#0x" + value.ToString("x", CultureInfo.InvariantCulture);
    public static string Dec(long value) => "#" + value.ToString(CultureInfo.InvariantCulture);
    public static string Address(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);

    public static readonly string[] Conditions = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

    // The SVE names of the conditions (Arm ARM C1.2.4), which objdump lists in a comment after the condition.
    private static readonly string[][] conditionAliases =
    [
        ["none"], ["any"], ["hs", "nlast"], ["lo", "ul", "last"], ["first"], ["nfrst"], [], [], ["pmore"], ["plast"],
        ["tcont"], ["tstop"], [], [], [], [],
    ];

    /// <summary>The condition as a final operand, with objdump's "// ne = any" comment where it has one.</summary>
    public static string ConditionOperand(int cond)
    {
        var aliases = conditionAliases[cond];
        return aliases.Length == 0 ? Conditions[cond] : $"{Conditions[cond]}\t// {Conditions[cond]} = {string.Join(", ", aliases)}";
    }

    /// <summary>The "  // b.none" comment objdump puts after a conditional branch's target.</summary>
    public static string BranchConditionComment(int cond)
    {
        var aliases = conditionAliases[cond];
        return aliases.Length == 0 ? "" : "  // " + string.Join(", ", aliases.Select(a => "b." + a));
    }

    public static readonly string[] Shifts = ["lsl", "lsr", "asr", "ror"];

    /// <summary>", lsl #2" for a shifted register operand; nothing for LSL #0.</summary>
    public static string Shift(int type, int amount) => type == 0 && amount == 0 ? "" : $", {Shifts[type]} #{amount}";

    /// <summary>
    /// A move immediate followed by its decimal value. objdump pads the immediate operand to 23 columns
    /// before the comment.
    /// </summary>
    public static string MoveImmediate(ulong value, bool x)
    {
        long signed = x ? (long)value : (int)(uint)value;
        return $"{Hex(x ? value : (uint)value),-23}\t// #{signed.ToString(CultureInfo.InvariantCulture)}";
    }

    public static string Asm(string mnemonic, string operands) => mnemonic + "\t" + operands;

    public static ulong SignExtend(int value, int bits) => (ulong)Bits.SignExtend((ulong)(uint)value, bits);
}
