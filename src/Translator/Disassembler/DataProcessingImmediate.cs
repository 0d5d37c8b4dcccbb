using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>C4.1.86 Data processing -- immediate.</summary>
internal static class DataProcessingImmediate
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.Adr] = Adr;
        t[(int)Op.Adrp] = Adrp;
        t[(int)Op.AddImm] = i => AddSub(i, "add", setFlags: false);
        t[(int)Op.AddsImm] = i => AddSub(i, "adds", setFlags: true);
        t[(int)Op.SubImm] = i => AddSub(i, "sub", setFlags: false);
        t[(int)Op.SubsImm] = i => AddSub(i, "subs", setFlags: true);
        t[(int)Op.AndImm] = i => Logical(i, "and");
        t[(int)Op.OrrImm] = i => Logical(i, "orr");
        t[(int)Op.EorImm] = i => Logical(i, "eor");
        t[(int)Op.AndsImm] = i => Logical(i, "ands");
        t[(int)Op.Movn] = Movn;
        t[(int)Op.Movz] = Movz;
        t[(int)Op.Movk] = i => Asm("movk", $"{R(i.Sf, i["Rd"])}, {Hex((ulong)i["imm16"])}{Lsl16(i)}");
        t[(int)Op.Sbfm] = Sbfm;
        t[(int)Op.Ubfm] = Ubfm;
        t[(int)Op.Bfm] = Bfm;
        t[(int)Op.Extr] = Extr;
    }

    private static string Adr(Inst i)
    {
        ulong offset = SignExtend(i["immhi"] << 2 | i["immlo"], 21);
        return Asm("adr", $"{X(i["Rd"])}, {Address(i.Pc + offset)}");
    }

    private static string Adrp(Inst i)
    {
        ulong offset = SignExtend(i["immhi"] << 2 | i["immlo"], 21) << 12;
        return Asm("adrp", $"{X(i["Rd"])}, {Address((i.Pc & ~0xFFFUL) + offset)}");
    }

    private static string AddSub(Inst i, string mnemonic, bool setFlags)
    {
        bool x = i.Sf;
        int rd = i["Rd"], rn = i["Rn"], imm = i["imm12"];
        string shift = i["sh"] == 1 ? ", lsl #12" : "";
        string source = RSp(x, rn);
        // C6.2: MOV (to/from SP) is the preferred form of ADD #0 when either register is SP.
        if (mnemonic == "add" && imm == 0 && shift == "" && (rd == 31 || rn == 31))
            return Asm("mov", $"{RSp(x, rd)}, {source}");
        if (setFlags && rd == 31)
            return Asm(mnemonic == "adds" ? "cmn" : "cmp", $"{source}, {Hex((ulong)imm)}{shift}");
        string dest = setFlags ? R(x, rd) : RSp(x, rd);
        return Asm(mnemonic, $"{dest}, {source}, {Hex((ulong)imm)}{shift}");
    }

    private static string Logical(Inst i, string mnemonic)
    {
        bool x = i.Sf;
        int rd = i["Rd"], rn = i["Rn"];
        uint n = (uint)i["N"], imms = (uint)i["imms"], immr = (uint)i["immr"];
        Bits.DecodeBitMasks(n, imms, immr, true, x ? 64 : 32, out ulong imm, out _);
        if (mnemonic == "ands" && rd == 31)
            return Asm("tst", $"{R(x, rn)}, {Hex(imm)}");
        if (mnemonic == "orr" && rn == 31 && (rd == 31 || !MoveWideCanMake(imm, x)))
            return Asm("mov", $"{RSp(x, rd)}, {MoveImmediate(imm, x)}");
        string dest = mnemonic == "ands" ? R(x, rd) : RSp(x, rd);
        return Asm(mnemonic, $"{dest}, {R(x, rn)}, {Hex(imm)}");
    }

    // objdump keeps ORR when MOVZ or MOVN could make the same value (as it would print that instead), except
    // when the destination is SP, which MOVZ/MOVN cannot write.
    private static bool MoveWideCanMake(ulong value, bool x)
    {
        return IsMoveWide(value, x) || IsMoveWide(x ? ~value : ~value & 0xFFFF_FFFF, x);
    }

    private static bool IsMoveWide(ulong value, bool x)
    {
        for (int shift = 0; shift < (x ? 64 : 32); shift += 16)
            if ((value & ~(0xFFFFUL << shift)) == 0) return true;
        return false;
    }

    private static string Lsl16(Inst i) => i["hw"] == 0 ? "" : $", lsl #{i["hw"] * 16}";

    private static string Movz(Inst i)
    {
        int imm16 = i["imm16"], hw = i["hw"];
        if (imm16 == 0 && hw != 0)
            return Asm("movz", $"{R(i.Sf, i["Rd"])}, {Hex(0)}{Lsl16(i)}");
        return Asm("mov", $"{R(i.Sf, i["Rd"])}, {MoveImmediate((ulong)imm16 << (hw * 16), i.Sf)}");
    }

    private static string Movn(Inst i)
    {
        int imm16 = i["imm16"], hw = i["hw"];
        if ((imm16 == 0 && hw != 0) || (!i.Sf && imm16 == 0xFFFF))
            return Asm("movn", $"{R(i.Sf, i["Rd"])}, {Hex((ulong)imm16)}{Lsl16(i)}");
        ulong value = ~((ulong)imm16 << (hw * 16));
        return Asm("mov", $"{R(i.Sf, i["Rd"])}, {MoveImmediate(i.Sf ? value : (uint)value, i.Sf)}");
    }

    // J1 BFXPreferred: whether SBFX/UBFX is the preferred alias of SBFM/UBFM.
    private static bool BfxPreferred(bool x, bool unsigned, int imms, int immr)
    {
        if (imms < immr) return false;
        if (imms == (x ? 63 : 31)) return false;
        if (immr == 0)
        {
            if (!x && imms is 7 or 15) return false;
            if (x && !unsigned && imms is 7 or 15 or 31) return false;
        }
        return true;
    }

    private static string Sbfm(Inst i)
    {
        bool x = i.Sf;
        int width = x ? 64 : 32, r = i["immr"], s = i["imms"];
        string rd = R(x, i["Rd"]), rn = R(x, i["Rn"]);
        if (s == width - 1) return Asm("asr", $"{rd}, {rn}, #{r}");
        if (r == 0 && s is 7 or 15 || (x && r == 0 && s == 31))
            return Asm(s == 7 ? "sxtb" : s == 15 ? "sxth" : "sxtw", $"{rd}, {W(i["Rn"])}");
        if (s < r) return Asm("sbfiz", $"{rd}, {rn}, #{width - r}, #{s + 1}");
        if (BfxPreferred(x, false, s, r)) return Asm("sbfx", $"{rd}, {rn}, #{r}, #{s - r + 1}");
        return Asm("sbfm", $"{rd}, {rn}, #{r}, #{s}");
    }

    private static string Ubfm(Inst i)
    {
        bool x = i.Sf;
        int width = x ? 64 : 32, r = i["immr"], s = i["imms"];
        string rd = R(x, i["Rd"]), rn = R(x, i["Rn"]);
        if (s == width - 1) return Asm("lsr", $"{rd}, {rn}, #{r}");
        if (s + 1 == r) return Asm("lsl", $"{rd}, {rn}, #{width - r}");
        if (!x && r == 0 && s is 7 or 15) return Asm(s == 7 ? "uxtb" : "uxth", $"{rd}, {rn}");
        if (s < r) return Asm("ubfiz", $"{rd}, {rn}, #{width - r}, #{s + 1}");
        if (BfxPreferred(x, true, s, r)) return Asm("ubfx", $"{rd}, {rn}, #{r}, #{s - r + 1}");
        return Asm("ubfm", $"{rd}, {rn}, #{r}, #{s}");
    }

    private static string Bfm(Inst i)
    {
        bool x = i.Sf;
        int width = x ? 64 : 32, r = i["immr"], s = i["imms"], n = i["Rn"];
        string rd = R(x, i["Rd"]), rn = R(x, n);
        if (s < r)
            return n == 31 ? Asm("bfc", $"{rd}, #{width - r}, #{s + 1}") : Asm("bfi", $"{rd}, {rn}, #{width - r}, #{s + 1}");
        return Asm("bfxil", $"{rd}, {rn}, #{r}, #{s - r + 1}");
    }

    private static string Extr(Inst i)
    {
        bool x = i.Sf;
        int rn = i["Rn"], rm = i["Rm"];
        return rn == rm
            ? Asm("ror", $"{R(x, i["Rd"])}, {R(x, rn)}, #{i["imms"]}")
            : Asm("extr", $"{R(x, i["Rd"])}, {R(x, rn)}, {R(x, rm)}, #{i["imms"]}");
    }
}
