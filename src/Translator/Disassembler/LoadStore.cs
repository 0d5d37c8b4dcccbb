using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>C4.1.88 Loads and stores (general registers).</summary>
internal static class LoadStore
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.Stxr] = i => Exclusive(i, "stxr", status: true);
        t[(int)Op.Stlxr] = i => Exclusive(i, "stlxr", status: true);
        t[(int)Op.Ldxr] = i => Exclusive(i, "ldxr", status: false);
        t[(int)Op.Ldaxr] = i => Exclusive(i, "ldaxr", status: false);
        t[(int)Op.Stlr] = i => Exclusive(i, "stlr", status: false);
        // objdump decodes LDAR only with its should-be-one fields (Rs, Rt2) all ones, although the Arm ARM makes
        // other values CONSTRAINED UNPREDICTABLE rather than unallocated; print what objdump prints.
        t[(int)Op.Ldar] = i => i["Rs"] == 31 && i["Rt2"] == 31
            ? Exclusive(i, "ldar", status: false)
            : A64Disassembler.Undefined(i.Word);
        t[(int)Op.Stxp] = i => ExclusivePair(i, "stxp", status: true);
        t[(int)Op.Stlxp] = i => ExclusivePair(i, "stlxp", status: true);
        t[(int)Op.Ldxp] = i => ExclusivePair(i, "ldxp", status: false);
        t[(int)Op.Ldaxp] = i => ExclusivePair(i, "ldaxp", status: false);
        t[(int)Op.Cas] = Cas;
        t[(int)Op.Casp] = Casp;

        t[(int)Op.LdrLit] = i => Asm("ldr", $"{R(i.Sf, i["Rt"])}, {Literal(i)}");
        t[(int)Op.LdrswLit] = i => Asm("ldrsw", $"{X(i["Rt"])}, {Literal(i)}");
        t[(int)Op.PrfmLit] = i => Asm("prfm", $"{PrefetchOperation(i["Rt"])}, {Literal(i)}");

        t[(int)Op.Stnp] = i => Pair(i, "stnp", Indexing.Offset);
        t[(int)Op.Ldnp] = i => Pair(i, "ldnp", Indexing.Offset);
        t[(int)Op.StpPost] = i => Pair(i, "stp", Indexing.Post);
        t[(int)Op.LdpPost] = i => Pair(i, "ldp", Indexing.Post);
        t[(int)Op.StpOff] = i => Pair(i, "stp", Indexing.Offset);
        t[(int)Op.LdpOff] = i => Pair(i, "ldp", Indexing.Offset);
        t[(int)Op.StpPre] = i => Pair(i, "stp", Indexing.Pre);
        t[(int)Op.LdpPre] = i => Pair(i, "ldp", Indexing.Pre);
        t[(int)Op.LdpswPost] = i => Ldpsw(i, Indexing.Post);
        t[(int)Op.LdpswOff] = i => Ldpsw(i, Indexing.Offset);
        t[(int)Op.LdpswPre] = i => Ldpsw(i, Indexing.Pre);

        t[(int)Op.LdStUimm] = i => Single(i, "r", Address(i["Rn"], i["imm12"] << i["size"], Indexing.Offset));
        t[(int)Op.LdStUnscaled] = i => Single(i, "ur", Address(i["Rn"], Imm9(i), Indexing.Offset));
        t[(int)Op.LdStUnpriv] = i => Single(i, "tr", Address(i["Rn"], Imm9(i), Indexing.Offset));
        t[(int)Op.LdStPost] = i => Single(i, "r", Address(i["Rn"], Imm9(i), Indexing.Post));
        t[(int)Op.LdStPre] = i => Single(i, "r", Address(i["Rn"], Imm9(i), Indexing.Pre));
        t[(int)Op.LdStReg] = i => Single(i, "r", RegisterOffset(i, i["size"]));
        t[(int)Op.PrfmImm] = i => Asm("prfm", $"{PrefetchOperation(i["Rt"])}, {Address(i["Rn"], i["imm12"] << 3, Indexing.Offset)}");
        t[(int)Op.Prfum] = i => Asm("prfum", $"{PrefetchOperation(i["Rt"])}, {Address(i["Rn"], Imm9(i), Indexing.Offset)}");
        t[(int)Op.PrfmReg] = i => Asm("prfm", $"{PrefetchOperation(i["Rt"])}, {RegisterOffset(i, 3)}");

        t[(int)Op.Ldadd] = i => Atomic(i, "add");
        t[(int)Op.Ldclr] = i => Atomic(i, "clr");
        t[(int)Op.Ldeor] = i => Atomic(i, "eor");
        t[(int)Op.Ldset] = i => Atomic(i, "set");
        t[(int)Op.Ldsmax] = i => Atomic(i, "smax");
        t[(int)Op.Ldsmin] = i => Atomic(i, "smin");
        t[(int)Op.Ldumax] = i => Atomic(i, "umax");
        t[(int)Op.Ldumin] = i => Atomic(i, "umin");
        t[(int)Op.Swp] = i => Atomic(i, "swp");
    }

    internal enum Indexing { Offset, Pre, Post }

    /// <summary>"[x1]", "[x1, #8]", "[x1, #8]!" or "[x1], #8".</summary>
    internal static string Address(int rn, long offset, Indexing indexing) => indexing switch
    {
        Indexing.Offset => offset == 0 ? $"[{XSp(rn)}]" : $"[{XSp(rn)}, {Dec(offset)}]",
        Indexing.Pre => $"[{XSp(rn)}, {Dec(offset)}]!",
        _ => $"[{XSp(rn)}], {Dec(offset)}",
    };

    private static long Imm9(Inst i) => (long)SignExtend(i["imm9"], 9);

    private static string Literal(Inst i) => Operands.Address(i.Pc + (SignExtend(i["imm19"], 19) << 2));

    // B/H suffix of the byte and halfword forms, by size.
    private static readonly string[] sizeSuffix = ["b", "h", "", ""];

    /// <summary>
    /// LDR/STR and their unscaled (LDUR) and unprivileged (LDTR) forms; <paramref name="kind"/> is the middle of the
    /// mnemonic ("r", "ur", "tr"). opc: 00 store, 01 load, 10 signed load to X, 11 signed load to W.
    /// </summary>
    private static string Single(Inst i, string kind, string address)
    {
        int size = i["size"], opc = i["opc"];
        bool signed = opc >= 2;
        bool x = size == 3 || opc == 2;
        string mnemonic = (opc == 0 ? "st" : "ld") + kind + (signed ? "s" : "") + (size == 2 && signed ? "w" : sizeSuffix[size]);
        return Asm(mnemonic, $"{R(x, i["Rt"])}, {address}");
    }

    private static readonly string[] extends = ["uxtb", "uxth", "uxtw", "lsl", "sxtb", "sxth", "sxtw", "sxtx"];

    private static string RegisterOffset(Inst i, int scale)
    {
        int option = i["option"], amount = i["S"] == 1 ? scale : 0;
        string rm = R((option & 1) == 1, i["Rm"]);
        string extend = option == 3 && i["S"] == 0 ? "" : i["S"] == 1 ? $", {extends[option]} #{amount}" : $", {extends[option]}";
        return $"[{XSp(i["Rn"])}, {rm}{extend}]";
    }

    private static readonly string[] prefetchTargets = ["pld", "pli", "pst"];

    private static string PrefetchOperation(int rt)
    {
        int type = rt >> 3, target = (rt >> 1) & 3;
        if (type > 2 || target == 3) return $"#0x{rt:x2}";
        return $"{prefetchTargets[type]}l{target + 1}{((rt & 1) == 0 ? "keep" : "strm")}";
    }

    private static string Pair(Inst i, string mnemonic, Indexing indexing)
    {
        bool signed = mnemonic == "ldpsw";
        bool x = signed || i["opc"] == 2;
        int scale = x && !signed ? 3 : 2;
        long offset = (long)SignExtend(i["imm7"], 7) << scale;
        return Asm(mnemonic, $"{R(x, i["Rt"])}, {R(x, i["Rt2"])}, {Address(i["Rn"], offset, indexing)}");
    }

    // objdump treats the CONSTRAINED UNPREDICTABLE register overlaps of LDPSW (Rt == Rt2; Rn == Rt or Rt2 with
    // writeback and Rn not SP) as undefined, while it prints the same overlaps of LDP.
    private static string Ldpsw(Inst i, Indexing indexing)
    {
        int rt = i["Rt"], rt2 = i["Rt2"], rn = i["Rn"];
        bool overlap = rt == rt2 || (indexing != Indexing.Offset && rn != 31 && (rn == rt || rn == rt2));
        return overlap ? A64Disassembler.Undefined(i.Word) : Pair(i, "ldpsw", indexing);
    }

    private static string Exclusive(Inst i, string mnemonic, bool status)
    {
        int size = i["size"];
        string rt = R(size == 3, i["Rt"]), address = $"[{XSp(i["Rn"])}]";
        mnemonic += sizeSuffix[size];
        return status ? Asm(mnemonic, $"{W(i["Rs"])}, {rt}, {address}") : Asm(mnemonic, $"{rt}, {address}");
    }

    private static string ExclusivePair(Inst i, string mnemonic, bool status)
    {
        bool x = i["sz"] == 1;
        string pair = $"{R(x, i["Rt"])}, {R(x, i["Rt2"])}, [{XSp(i["Rn"])}]";
        return status ? Asm(mnemonic, $"{W(i["Rs"])}, {pair}") : Asm(mnemonic, pair);
    }

    private static string Ordering(Inst i, string acquire, string release) =>
        (i[acquire] == 1 ? "a" : "") + (i[release] == 1 ? "l" : "");

    private static string Cas(Inst i)
    {
        int size = i["size"];
        bool x = size == 3;
        return Asm("cas" + Ordering(i, "L", "o0") + sizeSuffix[size], $"{R(x, i["Rs"])}, {R(x, i["Rt"])}, [{XSp(i["Rn"])}]");
    }

    private static string Casp(Inst i)
    {
        bool x = i["sz"] == 1;
        int rs = i["Rs"], rt = i["Rt"];
        return Asm("casp" + Ordering(i, "L", "o0"),
            $"{R(x, rs)}, {R(x, (rs + 1) & 31)}, {R(x, rt)}, {R(x, (rt + 1) & 31)}, [{XSp(i["Rn"])}]");
    }

    private static string Atomic(Inst i, string operation)
    {
        int size = i["size"], rt = i["Rt"];
        bool x = size == 3;
        string address = $"[{XSp(i["Rn"])}]", rs = R(x, i["Rs"]);
        // C6.2: STADD and friends are the preferred form when the loaded value is discarded (Rt = ZR), unless
        // the load has acquire semantics.
        if (operation != "swp" && rt == 31 && i["A"] == 0)
            return Asm("st" + operation + (i["R"] == 1 ? "l" : "") + sizeSuffix[size], $"{rs}, {address}");
        string mnemonic = (operation == "swp" ? "swp" : "ld" + operation) + Ordering(i, "A", "R") + sizeSuffix[size];
        return Asm(mnemonic, $"{rs}, {R(x, rt)}, {address}");
    }
}
