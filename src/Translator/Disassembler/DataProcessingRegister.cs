using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>C4.1.89 Data processing -- register.</summary>
internal static class DataProcessingRegister
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.AndReg] = i => Logical(i, "and");
        t[(int)Op.BicReg] = i => Logical(i, "bic");
        t[(int)Op.OrrReg] = i => Logical(i, "orr");
        t[(int)Op.OrnReg] = i => Logical(i, "orn");
        t[(int)Op.EorReg] = i => Logical(i, "eor");
        t[(int)Op.EonReg] = i => Logical(i, "eon");
        t[(int)Op.AndsReg] = i => Logical(i, "ands");
        t[(int)Op.BicsReg] = i => Logical(i, "bics");
        t[(int)Op.AddReg] = i => AddSubShifted(i, "add");
        t[(int)Op.AddsReg] = i => AddSubShifted(i, "adds");
        t[(int)Op.SubReg] = i => AddSubShifted(i, "sub");
        t[(int)Op.SubsReg] = i => AddSubShifted(i, "subs");
        t[(int)Op.AddExt] = i => AddSubExtended(i, "add");
        t[(int)Op.AddsExt] = i => AddSubExtended(i, "adds");
        t[(int)Op.SubExt] = i => AddSubExtended(i, "sub");
        t[(int)Op.SubsExt] = i => AddSubExtended(i, "subs");
        t[(int)Op.Adc] = i => Carry(i, "adc");
        t[(int)Op.Adcs] = i => Carry(i, "adcs");
        t[(int)Op.Sbc] = i => Carry(i, "sbc");
        t[(int)Op.Sbcs] = i => Carry(i, "sbcs");
        t[(int)Op.CcmnReg] = i => CompareRegister(i, "ccmn");
        t[(int)Op.CcmpReg] = i => CompareRegister(i, "ccmp");
        t[(int)Op.CcmnImm] = i => CompareImmediate(i, "ccmn");
        t[(int)Op.CcmpImm] = i => CompareImmediate(i, "ccmp");
        t[(int)Op.Csel] = i => Select(i, "csel", null, null);
        t[(int)Op.Csinc] = i => Select(i, "csinc", "cinc", "cset");
        t[(int)Op.Csinv] = i => Select(i, "csinv", "cinv", "csetm");
        t[(int)Op.Csneg] = i => Select(i, "csneg", "cneg", null);
        t[(int)Op.Madd] = i => MultiplyAdd(i, "madd", "mul", i.Sf, i.Sf);
        t[(int)Op.Msub] = i => MultiplyAdd(i, "msub", "mneg", i.Sf, i.Sf);
        t[(int)Op.Smaddl] = i => MultiplyAdd(i, "smaddl", "smull", true, false);
        t[(int)Op.Smsubl] = i => MultiplyAdd(i, "smsubl", "smnegl", true, false);
        t[(int)Op.Umaddl] = i => MultiplyAdd(i, "umaddl", "umull", true, false);
        t[(int)Op.Umsubl] = i => MultiplyAdd(i, "umsubl", "umnegl", true, false);
        t[(int)Op.Smulh] = i => Asm("smulh", $"{X(i["Rd"])}, {X(i["Rn"])}, {X(i["Rm"])}");
        t[(int)Op.Umulh] = i => Asm("umulh", $"{X(i["Rd"])}, {X(i["Rn"])}, {X(i["Rm"])}");
        t[(int)Op.Udiv] = i => ThreeRegister(i, "udiv");
        t[(int)Op.Sdiv] = i => ThreeRegister(i, "sdiv");
        // C6.2: the shift-by-register forms are always printed as the LSL/LSR/ASR/ROR aliases.
        t[(int)Op.Lslv] = i => ThreeRegister(i, "lsl");
        t[(int)Op.Lsrv] = i => ThreeRegister(i, "lsr");
        t[(int)Op.Asrv] = i => ThreeRegister(i, "asr");
        t[(int)Op.Rorv] = i => ThreeRegister(i, "ror");
        t[(int)Op.Crc32] = i => Crc(i, "crc32");
        t[(int)Op.Crc32c] = i => Crc(i, "crc32c");
        t[(int)Op.Rbit] = i => TwoRegister(i, "rbit");
        t[(int)Op.Rev16] = i => TwoRegister(i, "rev16");
        t[(int)Op.Rev32] = i => TwoRegister(i, "rev32");
        t[(int)Op.Rev] = i => TwoRegister(i, "rev");
        t[(int)Op.Clz] = i => TwoRegister(i, "clz");
        t[(int)Op.Cls] = i => TwoRegister(i, "cls");
    }

    private static string TwoRegister(Inst i, string mnemonic) => Asm(mnemonic, $"{R(i.Sf, i["Rd"])}, {R(i.Sf, i["Rn"])}");

    private static string ThreeRegister(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{R(i.Sf, i["Rd"])}, {R(i.Sf, i["Rn"])}, {R(i.Sf, i["Rm"])}");

    private static string Logical(Inst i, string mnemonic)
    {
        bool x = i.Sf;
        int rd = i["Rd"], rn = i["Rn"], shift = i["shift"], amount = i["imm6"];
        string rm = R(x, i["Rm"]) + Shift(shift, amount);
        if (mnemonic == "orr" && rn == 31 && shift == 0 && amount == 0) return Asm("mov", $"{R(x, rd)}, {rm}");
        if (mnemonic == "orn" && rn == 31) return Asm("mvn", $"{R(x, rd)}, {rm}");
        if (mnemonic == "ands" && rd == 31) return Asm("tst", $"{R(x, rn)}, {rm}");
        return Asm(mnemonic, $"{R(x, rd)}, {R(x, rn)}, {rm}");
    }

    private static string AddSubShifted(Inst i, string mnemonic)
    {
        bool x = i.Sf;
        int rd = i["Rd"], rn = i["Rn"];
        string rm = R(x, i["Rm"]) + Shift(i["shift"], i["imm6"]);
        if (rd == 31 && mnemonic is "adds" or "subs") return Asm(mnemonic == "adds" ? "cmn" : "cmp", $"{R(x, rn)}, {rm}");
        if (rn == 31 && mnemonic is "sub" or "subs") return Asm(mnemonic == "sub" ? "neg" : "negs", $"{R(x, rd)}, {rm}");
        return Asm(mnemonic, $"{R(x, rd)}, {R(x, rn)}, {rm}");
    }

    private static readonly string[] extends = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

    private static string AddSubExtended(Inst i, string mnemonic)
    {
        bool x = i.Sf, setFlags = mnemonic is "adds" or "subs";
        int rd = i["Rd"], rn = i["Rn"], option = i["option"], amount = i["imm3"];
        string rm = R(x && (option & 3) == 3, i["Rm"]);
        // UXTX (UXTW for 32 bits) is written LSL when an operand is SP, and then a zero shift is left out.
        bool usesSp = rn == 31 || (rd == 31 && !setFlags);
        string extend = usesSp && option == (x ? 3 : 2)
            ? (amount == 0 ? "" : $", lsl #{amount}")
            : (amount == 0 ? $", {extends[option]}" : $", {extends[option]} #{amount}");
        if (setFlags && rd == 31) return Asm(mnemonic == "adds" ? "cmn" : "cmp", $"{RSp(x, rn)}, {rm}{extend}");
        return Asm(mnemonic, $"{(setFlags ? R(x, rd) : RSp(x, rd))}, {RSp(x, rn)}, {rm}{extend}");
    }

    private static string Carry(Inst i, string mnemonic)
    {
        bool x = i.Sf;
        int rn = i["Rn"];
        if (rn == 31 && mnemonic is "sbc" or "sbcs") return Asm(mnemonic == "sbc" ? "ngc" : "ngcs", $"{R(x, i["Rd"])}, {R(x, i["Rm"])}");
        return ThreeRegister(i, mnemonic);
    }

    private static string CompareRegister(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{R(i.Sf, i["Rn"])}, {R(i.Sf, i["Rm"])}, {Hex((ulong)i["nzcv"])}, {ConditionOperand(i["cond"])}");

    private static string CompareImmediate(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{R(i.Sf, i["Rn"])}, {Hex((ulong)i["imm5"])}, {Hex((ulong)i["nzcv"])}, {ConditionOperand(i["cond"])}");

    /// <summary>
    /// CSEL and its relatives. With Rn == Rm and a condition other than AL/NV the preferred form is the alias with
    /// one source (CINC, CINV, CNEG) and the inverted condition; with both sources ZR it is CSET/CSETM.
    /// </summary>
    private static string Select(Inst i, string mnemonic, string? oneSource, string? noSource)
    {
        bool x = i.Sf;
        int rd = i["Rd"], rn = i["Rn"], rm = i["Rm"], cond = i["cond"];
        if (cond < 14 && rn == rm)
        {
            string inverted = ConditionOperand(cond ^ 1);
            if (noSource is not null && rn == 31) return Asm(noSource, $"{R(x, rd)}, {inverted}");
            if (oneSource is not null && (rn != 31 || noSource is null)) return Asm(oneSource, $"{R(x, rd)}, {R(x, rn)}, {inverted}");
        }
        return Asm(mnemonic, $"{R(x, rd)}, {R(x, rn)}, {R(x, rm)}, {ConditionOperand(cond)}");
    }

    private static string MultiplyAdd(Inst i, string mnemonic, string alias, bool xDest, bool xSources)
    {
        string rd = R(xDest, i["Rd"]), rn = R(xSources, i["Rn"]), rm = R(xSources, i["Rm"]);
        int ra = i["Ra"];
        return ra == 31 ? Asm(alias, $"{rd}, {rn}, {rm}") : Asm(mnemonic, $"{rd}, {rn}, {rm}, {R(xDest, ra)}");
    }

    private static readonly string[] crcSizes = ["b", "h", "w", "x"];

    private static string Crc(Inst i, string mnemonic)
    {
        int sz = i["sz"];
        return Asm(mnemonic + crcSizes[sz], $"{W(i["Rd"])}, {W(i["Rn"])}, {R(sz == 3, i["Rm"])}");
    }
}
