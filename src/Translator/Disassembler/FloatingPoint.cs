using System.Globalization;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter.FloatingPoint;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>objdump syntax of the scalar FP instructions and the SIMD&amp;FP loads and stores.</summary>
internal static class FloatingPoint
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.LdrLitFp] = i => Asm("ldr", $"{FpRegister(i["opc"] + 2, i["Rt"])}, {Literal(i)}");
        t[(int)Op.LdStnpFp] = i => Pair(i, i["L"] == 1 ? "ldnp" : "stnp", LoadStore.Indexing.Offset);
        t[(int)Op.LdStpFpPost] = i => Pair(i, i["L"] == 1 ? "ldp" : "stp", LoadStore.Indexing.Post);
        t[(int)Op.LdStpFpOff] = i => Pair(i, i["L"] == 1 ? "ldp" : "stp", LoadStore.Indexing.Offset);
        t[(int)Op.LdStpFpPre] = i => Pair(i, i["L"] == 1 ? "ldp" : "stp", LoadStore.Indexing.Pre);
        t[(int)Op.LdStFpUimm] = i => Single(i, "r", LoadStore.Address(i["Rn"], (long)i["imm12"] << SizeLog2(i), LoadStore.Indexing.Offset));
        t[(int)Op.LdStFpUnscaled] = i => Single(i, "ur", LoadStore.Address(i["Rn"], Imm9(i), LoadStore.Indexing.Offset));
        t[(int)Op.LdStFpPost] = i => Single(i, "r", LoadStore.Address(i["Rn"], Imm9(i), LoadStore.Indexing.Post));
        t[(int)Op.LdStFpPre] = i => Single(i, "r", LoadStore.Address(i["Rn"], Imm9(i), LoadStore.Indexing.Pre));
        t[(int)Op.LdStFpReg] = i => Single(i, "r", RegisterOffset(i));
        t[(int)Op.LdStMulti] = MultipleStructures;
        t[(int)Op.LdStMultiPost] = MultipleStructures;
        t[(int)Op.LdStSingle] = SingleStructure;
        t[(int)Op.LdStSinglePost] = SingleStructure;
        t[(int)Op.LdRep] = Replicate;
        t[(int)Op.LdRepPost] = Replicate;

        t[(int)Op.FmovReg] = i => OneSource(i, "fmov");
        t[(int)Op.Fabs] = i => OneSource(i, "fabs");
        t[(int)Op.Fneg] = i => OneSource(i, "fneg");
        t[(int)Op.Fsqrt] = i => OneSource(i, "fsqrt");
        t[(int)Op.Fcvt] = i => Asm("fcvt", $"{Scalar(i["opc"], i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}");
        t[(int)Op.Frintn] = i => OneSource(i, "frintn");
        t[(int)Op.Frintp] = i => OneSource(i, "frintp");
        t[(int)Op.Frintm] = i => OneSource(i, "frintm");
        t[(int)Op.Frintz] = i => OneSource(i, "frintz");
        t[(int)Op.Frinta] = i => OneSource(i, "frinta");
        t[(int)Op.Frintx] = i => OneSource(i, "frintx");
        t[(int)Op.Frinti] = i => OneSource(i, "frinti");
        t[(int)Op.Fcmp] = i => Asm(i["E"] == 1 ? "fcmpe" : "fcmp",
            $"{Scalar(i["ftype"], i["Rn"])}, {(i["Z"] == 1 ? "#0.0" : Scalar(i["ftype"], i["Rm"]))}");
        t[(int)Op.Fccmp] = i => Asm(i["E"] == 1 ? "fccmpe" : "fccmp",
            $"{Scalar(i["ftype"], i["Rn"])}, {Scalar(i["ftype"], i["Rm"])}, {Hex((ulong)i["nzcv"])}, {ConditionOperand(i["cond"])}");
        t[(int)Op.Fcsel] = i => Asm("fcsel",
            $"{Scalar(i["ftype"], i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}, {Scalar(i["ftype"], i["Rm"])}, {ConditionOperand(i["cond"])}");
        t[(int)Op.FmovImm] = i => Asm("fmov", $"{Scalar(i["ftype"], i["Rd"])}, #{Immediate(i["imm8"])}");
        t[(int)Op.Fmul] = i => TwoSource(i, "fmul");
        t[(int)Op.Fdiv] = i => TwoSource(i, "fdiv");
        t[(int)Op.Fadd] = i => TwoSource(i, "fadd");
        t[(int)Op.Fsub] = i => TwoSource(i, "fsub");
        t[(int)Op.Fmax] = i => TwoSource(i, "fmax");
        t[(int)Op.Fmin] = i => TwoSource(i, "fmin");
        t[(int)Op.Fmaxnm] = i => TwoSource(i, "fmaxnm");
        t[(int)Op.Fminnm] = i => TwoSource(i, "fminnm");
        t[(int)Op.Fnmul] = i => TwoSource(i, "fnmul");
        t[(int)Op.Fmadd] = i => ThreeSource(i, "fmadd");
        t[(int)Op.Fmsub] = i => ThreeSource(i, "fmsub");
        t[(int)Op.Fnmadd] = i => ThreeSource(i, "fnmadd");
        t[(int)Op.Fnmsub] = i => ThreeSource(i, "fnmsub");

        t[(int)Op.FcvtInt] = i => ToInteger(i, "fcvt" + "npmz"[i["rmode"]] + (i["U"] == 1 ? "u" : "s"));
        t[(int)Op.FcvtaInt] = i => ToInteger(i, i["U"] == 1 ? "fcvtau" : "fcvtas");
        t[(int)Op.ScvtfInt] = i => FromInteger(i, "scvtf");
        t[(int)Op.UcvtfInt] = i => FromInteger(i, "ucvtf");
        t[(int)Op.FmovToGp] = i => ToInteger(i, "fmov");
        t[(int)Op.FmovFromGp] = i => FromInteger(i, "fmov");
        t[(int)Op.FmovToGpTop] = i => Asm("fmov", $"{X(i["Rd"])}, v{i["Rn"]}.d[1]");
        t[(int)Op.FmovFromGpTop] = i => Asm("fmov", $"v{i["Rd"]}.d[1], {X(i["Rn"])}");
        t[(int)Op.FcvtzsFixed] = i => ToInteger(i, "fcvtzs") + $", #{64 - i["scale"]}";
        t[(int)Op.FcvtzuFixed] = i => ToInteger(i, "fcvtzu") + $", #{64 - i["scale"]}";
        t[(int)Op.ScvtfFixed] = i => FromInteger(i, "scvtf") + $", #{64 - i["scale"]}";
        t[(int)Op.UcvtfFixed] = i => FromInteger(i, "ucvtf") + $", #{64 - i["scale"]}";
    }

    private static readonly string[] sizePrefix = ["b", "h", "s", "d", "q"];

    /// <summary>A SIMD&amp;FP register named by the log2 of its size in bytes: b0, h0, s0, d0, q0.</summary>
    private static string FpRegister(int sizeLog2, int n) => sizePrefix[sizeLog2] + n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A scalar FP register named by ftype: 00 single, 01 double, 11 half.</summary>
    private static string Scalar(int ftype, int n) => FpRegister(ftype switch { 0 => 2, 1 => 3, _ => 1 }, n);

    private static string OneSource(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{Scalar(i["ftype"], i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}");

    private static string TwoSource(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{Scalar(i["ftype"], i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}, {Scalar(i["ftype"], i["Rm"])}");

    private static string ThreeSource(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{Scalar(i["ftype"], i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}, {Scalar(i["ftype"], i["Rm"])}, {Scalar(i["ftype"], i["Ra"])}");

    private static string ToInteger(Inst i, string mnemonic) => Asm(mnemonic, $"{R(i.Sf, i["Rd"])}, {Scalar(i["ftype"], i["Rn"])}");

    private static string FromInteger(Inst i, string mnemonic) => Asm(mnemonic, $"{Scalar(i["ftype"], i["Rd"])}, {R(i.Sf, i["Rn"])}");

    /// <summary>objdump prints an FP immediate with C's "%.18e", whatever the precision of the instruction.</summary>
    private static string Immediate(int imm8)
    {
        double value = BitConverter.UInt64BitsToDouble(FpCore.ExpandImm((uint)imm8, 64));
        return value.ToString("0.000000000000000000e+00", CultureInfo.InvariantCulture);
    }

    private static string Literal(Inst i) => Address(i.Pc + (SignExtend(i["imm19"], 19) << 2));

    private static long Imm9(Inst i) => (long)SignExtend(i["imm9"], 9);

    private static int SizeLog2(Inst i) => i["opc"] >= 2 ? 4 : i["size"];

    private static string Single(Inst i, string kind, string address) =>
        Asm(((i["opc"] & 1) == 1 ? "ld" : "st") + kind, $"{FpRegister(SizeLog2(i), i["Rt"])}, {address}");

    private static readonly string[] extends = ["uxtb", "uxth", "uxtw", "lsl", "sxtb", "sxth", "sxtw", "sxtx"];

    private static string RegisterOffset(Inst i)
    {
        int option = i["option"], amount = i["S"] == 1 ? SizeLog2(i) : 0;
        string rm = R((option & 1) == 1, i["Rm"]);
        string extend = option == 3 && i["S"] == 0 ? "" : i["S"] == 1 ? $", {extends[option]} #{amount}" : $", {extends[option]}";
        return $"[{XSp(i["Rn"])}, {rm}{extend}]";
    }

    private static string Pair(Inst i, string mnemonic, LoadStore.Indexing indexing)
    {
        int scale = i["opc"] + 2;
        long offset = (long)SignExtend(i["imm7"], 7) << scale;
        return Asm(mnemonic, $"{FpRegister(scale, i["Rt"])}, {FpRegister(scale, i["Rt2"])}, {LoadStore.Address(i["Rn"], offset, indexing)}");
    }

    private static readonly string[] arrangements = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];

    /// <summary>"{v0.4s, v1.4s}", or "{v0.4s-v2.4s}" for three or more registers that do not wrap past v31.</summary>
    private static string List(int first, int count, string suffix)
    {
        if (count >= 3 && first + count - 1 <= 31) return $"{{v{first}.{suffix}-v{first + count - 1}.{suffix}}}";
        return "{" + string.Join(", ", Enumerable.Range(0, count).Select(k => $"v{(first + k) & 31}.{suffix}")) + "}";
    }

    /// <summary>", #32" or ", x2" after the address of a post-indexed structure load or store.</summary>
    private static string PostIndex(Inst i, int bytes) =>
        !i.Encoding.Has("Rm") ? "" : i["Rm"] == 31 ? $", #{bytes}" : $", {X(i["Rm"])}";

    private static string MultipleStructures(Inst i)
    {
        (int rpt, int selem) = i["opcode"] switch
        {
            0b0000 => (1, 4), 0b0010 => (4, 1), 0b0100 => (1, 3), 0b0110 => (3, 1), 0b0111 => (1, 1), 0b1000 => (1, 2), _ => (2, 1),
        };
        int q = i["Q"];
        string mnemonic = (i["L"] == 1 ? "ld" : "st") + selem.ToString(CultureInfo.InvariantCulture);
        return Asm(mnemonic, $"{List(i["Rt"], rpt * selem, arrangements[i["size"] * 2 + q])}, [{XSp(i["Rn"])}]{PostIndex(i, rpt * selem * (q == 1 ? 16 : 8))}");
    }

    private static string SingleStructure(Inst i)
    {
        int scale = i["opcode"] >> 1, selem = ((i["opcode"] & 1) << 1 | i["R"]) + 1;
        int size = i["size"], q = i["Q"], s = i["S"];
        int index = scale switch
        {
            0 => q << 3 | s << 2 | size,
            1 => q << 2 | s << 1 | size >> 1,
            _ => size == 0 ? q << 1 | s : q,
        };
        if (scale == 2 && size == 1) scale = 3;
        string mnemonic = (i["L"] == 1 ? "ld" : "st") + selem.ToString(CultureInfo.InvariantCulture);
        string list = List(i["Rt"], selem, "bhsd"[scale].ToString());
        return Asm(mnemonic, $"{list}[{index}], [{XSp(i["Rn"])}]{PostIndex(i, selem << scale)}");
    }

    private static string Replicate(Inst i)
    {
        int selem = (i["o"] << 1 | i["R"]) + 1, size = i["size"];
        string mnemonic = "ld" + selem.ToString(CultureInfo.InvariantCulture) + "r";
        return Asm(mnemonic, $"{List(i["Rt"], selem, arrangements[size * 2 + i["Q"]])}, [{XSp(i["Rn"])}]{PostIndex(i, selem << size)}");
    }
}
