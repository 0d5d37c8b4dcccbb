using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>objdump syntax of the AdvSIMD instructions (C4.1.95); scalar forms are told apart by bit 28.</summary>
internal static class AdvSimd
{
    public static void Register(Formatter?[] t)
    {
        Op[] same =
        [
            Op.VShadd, Op.VUhadd, Op.VSqadd, Op.VUqadd, Op.VSrhadd, Op.VUrhadd, Op.VShsub, Op.VUhsub, Op.VSqsub, Op.VUqsub,
            Op.VCmgt, Op.VCmhi, Op.VCmge, Op.VCmhs, Op.VSshl, Op.VUshl, Op.VSqshl, Op.VUqshl, Op.VSrshl, Op.VUrshl,
            Op.VSqrshl, Op.VUqrshl, Op.VSmax, Op.VUmax, Op.VSmin, Op.VUmin, Op.VSabd, Op.VUabd, Op.VSaba, Op.VUaba,
            Op.VAdd, Op.VSub, Op.VCmtst, Op.VCmeq, Op.VMla, Op.VMls, Op.VMul, Op.VPmul, Op.VSmaxp, Op.VUmaxp,
            Op.VSminp, Op.VUminp, Op.VSqdmulh, Op.VSqrdmulh,
            Op.VUzp1, Op.VUzp2, Op.VZip1, Op.VZip2, Op.VTrn1, Op.VTrn2,
        ];
        foreach (var op in same) t[(int)op] = ThreeSame;
        t[(int)Op.VAddp] = i => Scalar(i) ? Asm("addp", $"d{i["Rd"]}, v{i["Rn"]}.2d") : ThreeSame(i);
        foreach (var op in new[] { Op.VAnd, Op.VBic, Op.VOrn, Op.VEor, Op.VBsl, Op.VBit, Op.VBif }) t[(int)op] = Logic;
        t[(int)Op.VOrr] = i => i["Rn"] == i["Rm"] ? Asm("mov", $"{V(i["Rd"], Bytes(i))}, {V(i["Rn"], Bytes(i))}") : Logic(i);

        Op[] long3 =
        [
            Op.VSaddl, Op.VUaddl, Op.VSsubl, Op.VUsubl, Op.VSabal, Op.VUabal, Op.VSabdl, Op.VUabdl, Op.VSmlal, Op.VUmlal,
            Op.VSmlsl, Op.VUmlsl, Op.VSmull, Op.VUmull, Op.VPmull, Op.VSqdmlal, Op.VSqdmlsl, Op.VSqdmull,
        ];
        foreach (var op in long3) t[(int)op] = Long;
        foreach (var op in new[] { Op.VSaddw, Op.VUaddw, Op.VSsubw, Op.VUsubw }) t[(int)op] = Wide;
        foreach (var op in new[] { Op.VAddhn, Op.VRaddhn, Op.VSubhn, Op.VRsubhn }) t[(int)op] = NarrowHigh;

        Op[] misc =
        [
            Op.VRev64, Op.VRev32, Op.VRev16, Op.VSuqadd, Op.VUsqadd, Op.VCls, Op.VClz, Op.VCnt, Op.VRbit,
            Op.VSqabs, Op.VSqneg, Op.VAbs, Op.VNeg,
        ];
        foreach (var op in misc) t[(int)op] = TwoSame;
        t[(int)Op.VNot] = i => Asm("mvn", $"{V(i["Rd"], Bytes(i))}, {V(i["Rn"], Bytes(i))}");
        foreach (var op in new[] { Op.VCmgtZ, Op.VCmgeZ, Op.VCmeqZ, Op.VCmleZ, Op.VCmltZ }) t[(int)op] = i => TwoSame(i) + ", #0";
        foreach (var op in new[] { Op.VXtn, Op.VSqxtn, Op.VUqxtn, Op.VSqxtun }) t[(int)op] = Narrow;
        foreach (var op in new[] { Op.VSaddlp, Op.VUaddlp, Op.VSadalp, Op.VUadalp })
            t[(int)op] = i => Asm(Name(i.Op), $"{V(i["Rd"], Arrangement(Size(i) + 1, i["Q"]))}, {V(i["Rn"], Arrangement(Size(i), i["Q"]))}");
        t[(int)Op.VShll] = i => Asm(Part("shll", i), $"{V(i["Rd"], Arrangement(Size(i) + 1, 1))}, {V(i["Rn"], Arrangement(Size(i), i["Q"]))}, #{8 << Size(i)}");

        foreach (var op in new[] { Op.VAddv, Op.VSmaxv, Op.VUmaxv, Op.VSminv, Op.VUminv })
            t[(int)op] = i => Asm(Name(i.Op), $"{ScalarName(Size(i))}{i["Rd"]}, {V(i["Rn"], Arrangement(Size(i), i["Q"]))}");
        foreach (var op in new[] { Op.VSaddlv, Op.VUaddlv })
            t[(int)op] = i => Asm(Name(i.Op), $"{ScalarName(Size(i) + 1)}{i["Rd"]}, {V(i["Rn"], Arrangement(Size(i), i["Q"]))}");

        t[(int)Op.VDupElement] = DupElement;
        t[(int)Op.VDupGeneral] = i => Asm("dup", $"{V(i["Rd"], Arrangement(Imm5Size(i), i["Q"]))}, {R(Imm5Size(i) == 3, i["Rn"])}");
        t[(int)Op.VSmov] = i => Asm("smov", $"{R(i["Q"] == 1, i["Rd"])}, {Element(i["Rn"], Imm5Size(i), Imm5Index(i))}");
        t[(int)Op.VUmov] = i => Asm(Imm5Size(i) >= 2 ? "mov" : "umov", $"{R(i["Q"] == 1, i["Rd"])}, {Element(i["Rn"], Imm5Size(i), Imm5Index(i))}");
        t[(int)Op.VIns] = i => Asm("mov", $"{Element(i["Rd"], Imm5Size(i), Imm5Index(i))}, {R(Imm5Size(i) == 3, i["Rn"])}");
        t[(int)Op.VInsElement] = i => Asm("mov",
            $"{Element(i["Rd"], Imm5Size(i), Imm5Index(i))}, {Element(i["Rn"], Imm5Size(i), i["imm4"] >> Imm5Size(i))}");

        t[(int)Op.VMovi] = ModifiedImmediate;
        t[(int)Op.VOrrImm] = ModifiedImmediate;
        t[(int)Op.VBicImm] = ModifiedImmediate;

        t[(int)Op.VExt] = i => Asm("ext", $"{V(i["Rd"], Bytes(i))}, {V(i["Rn"], Bytes(i))}, {V(i["Rm"], Bytes(i))}, #{i["imm4"]}");
        t[(int)Op.VTbl] = i => Table(i, "tbl");
        t[(int)Op.VTbx] = i => Table(i, "tbx");

        Op[] shifts =
        [
            Op.VSshr, Op.VUshr, Op.VSsra, Op.VUsra, Op.VSrshr, Op.VUrshr, Op.VSrsra, Op.VUrsra, Op.VSri,
            Op.VShl, Op.VSli, Op.VSqshlu, Op.VSqshlImm, Op.VUqshlImm,
        ];
        foreach (var op in shifts) t[(int)op] = ShiftImmediate;
        Op[] narrowShifts =
        [
            Op.VShrn, Op.VRshrn, Op.VSqshrn, Op.VUqshrn, Op.VSqrshrn, Op.VUqrshrn, Op.VSqshrun, Op.VSqrshrun,
        ];
        foreach (var op in narrowShifts) t[(int)op] = NarrowShift;
        t[(int)Op.VSshll] = i => LongShift(i, "sshll", "sxtl");
        t[(int)Op.VUshll] = i => LongShift(i, "ushll", "uxtl");

        foreach (var op in new[] { Op.VMulElem, Op.VMlaElem, Op.VMlsElem, Op.VSqdmulhElem, Op.VSqrdmulhElem }) t[(int)op] = ByElement;
        Op[] longByElement =
        [
            Op.VSmullElem, Op.VUmullElem, Op.VSmlalElem, Op.VUmlalElem, Op.VSmlslElem, Op.VUmlslElem,
            Op.VSqdmullElem, Op.VSqdmlalElem, Op.VSqdmlslElem,
        ];
        foreach (var op in longByElement) t[(int)op] = LongByElement;

        Op[] floatSame =
        [
            Op.VFadd, Op.VFsub, Op.VFmul, Op.VFdiv, Op.VFmla, Op.VFmls, Op.VFmulx, Op.VFmax, Op.VFmin, Op.VFmaxnm, Op.VFminnm,
            Op.VFabd, Op.VFcmeq, Op.VFcmge, Op.VFcmgt, Op.VFacge, Op.VFacgt, Op.VFrecps, Op.VFrsqrts,
        ];
        foreach (var op in floatSame) t[(int)op] = FloatSame;
        foreach (var op in new[] { Op.VFaddp, Op.VFmaxp, Op.VFminp, Op.VFmaxnmp, Op.VFminnmp })
            t[(int)op] = i => Scalar(i) ? Asm(Name(i.Op), $"{FloatScalar(i)}{i["Rd"]}, {V(i["Rn"], i["sz"] == 1 ? "2d" : "2s")}") : FloatSame(i);
        Op[] floatMisc =
        [
            Op.VFabs, Op.VFneg, Op.VFsqrt, Op.VFrintn, Op.VFrintp, Op.VFrintm, Op.VFrintz, Op.VFrinta, Op.VFrintx, Op.VFrinti,
            Op.VFcvtns, Op.VFcvtnu, Op.VFcvtps, Op.VFcvtpu, Op.VFcvtms, Op.VFcvtmu, Op.VFcvtzs, Op.VFcvtzu, Op.VFcvtas,
            Op.VFcvtau, Op.VScvtf, Op.VUcvtf, Op.VFrecpe, Op.VFrsqrte, Op.VFrecpx,
        ];
        foreach (var op in floatMisc) t[(int)op] = FloatTwo;
        foreach (var op in new[] { Op.VFcmeqZ, Op.VFcmgeZ, Op.VFcmgtZ, Op.VFcmleZ, Op.VFcmltZ }) t[(int)op] = i => FloatTwo(i) + ", #0.0";
        t[(int)Op.VFcvtl] = i => Asm(Part("fcvtl", i), $"{V(i["Rd"], i["sz"] == 1 ? "2d" : "4s")}, {V(i["Rn"], Arrangement(1 + i["sz"], i["Q"]))}");
        t[(int)Op.VFcvtn] = i => Asm(Part("fcvtn", i), $"{V(i["Rd"], Arrangement(1 + i["sz"], i["Q"]))}, {V(i["Rn"], i["sz"] == 1 ? "2d" : "4s")}");
        t[(int)Op.VFcvtxn] = i => Scalar(i)
            ? Asm("fcvtxn", $"s{i["Rd"]}, d{i["Rn"]}")
            : Asm(Part("fcvtxn", i), $"{V(i["Rd"], Arrangement(2, i["Q"]))}, {V(i["Rn"], "2d")}");
        foreach (var op in new[] { Op.VFmaxv, Op.VFminv, Op.VFmaxnmv, Op.VFminnmv })
            t[(int)op] = i => Asm(Name(i.Op), $"s{i["Rd"]}, {V(i["Rn"], "4s")}");
        foreach (var op in new[] { Op.VFmlaElem, Op.VFmlsElem, Op.VFmulElem, Op.VFmulxElem }) t[(int)op] = FloatByElement;
        foreach (var op in new[] { Op.VScvtfFixed, Op.VUcvtfFixed, Op.VFcvtzsFixed, Op.VFcvtzuFixed }) t[(int)op] = FloatFixed;
        t[(int)Op.VFmovImm] = FloatMoveImmediate;
        t[(int)Op.VUrecpe] = i => Asm("urecpe", $"{V(i["Rd"], Arrangement(2, i["Q"]))}, {V(i["Rn"], Arrangement(2, i["Q"]))}");
        t[(int)Op.VUrsqrte] = i => Asm("ursqrte", $"{V(i["Rd"], Arrangement(2, i["Q"]))}, {V(i["Rn"], Arrangement(2, i["Q"]))}");
    }

    private static string FloatScalar(Inst i) => i["sz"] == 1 ? "d" : "s";
    private static string FloatArrangement(Inst i) => i["sz"] == 1 ? (i["Q"] == 1 ? "2d" : "1d") : (i["Q"] == 1 ? "4s" : "2s");

    private static string FloatSame(Inst i)
    {
        if (Scalar(i))
        {
            string s = FloatScalar(i);
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, {s}{i["Rm"]}");
        }
        string t = FloatArrangement(i);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, {V(i["Rm"], t)}");
    }

    private static string FloatTwo(Inst i)
    {
        if (Scalar(i)) return Asm(Name(i.Op), $"{FloatScalar(i)}{i["Rd"]}, {FloatScalar(i)}{i["Rn"]}");
        string t = FloatArrangement(i);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}");
    }

    private static string FloatByElement(Inst i)
    {
        int size = 2 + i["sz"];
        int rm = (i["M"] << 4) | i["Rm"], index = size == 2 ? (i["H"] << 1) | i["L"] : i["H"];
        if (Scalar(i))
        {
            string s = FloatScalar(i);
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, {Element(rm, size, index)}");
        }
        string t = FloatArrangement(i);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, {Element(rm, size, index)}");
    }

    private static string FloatFixed(Inst i)
    {
        int size = i["immh"] >= 8 ? 3 : 2, fbits = (16 << size) - ((i["immh"] << 3) | i["immb"]);
        if (Scalar(i))
        {
            string s = ScalarName(size);
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, #{fbits}");
        }
        string t = Arrangement(size, i["Q"]);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, #{fbits}");
    }

    /// <summary>objdump prints the immediate with C's "%.18e" whatever the lane size.</summary>
    private static string FloatMoveImmediate(Inst i)
    {
        uint imm8 = (uint)((i["a"] << 7) | (i["b"] << 6) | (i["c"] << 5) | (i["d"] << 4) | (i["e"] << 3) | (i["f"] << 2) | (i["g"] << 1) | i["h"]);
        double value = BitConverter.UInt64BitsToDouble(Interpreter.FloatingPoint.FpCore.ExpandImm(imm8, 64));
        string text = value.ToString("0.000000000000000000e+00", System.Globalization.CultureInfo.InvariantCulture);
        string t = i["op"] == 1 ? "2d" : i["Q"] == 1 ? "4s" : "2s";
        return Asm("fmov", $"{V(i["Rd"], t)}, #{text}");
    }

    private static readonly string[] arrangements = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];

    private static string Arrangement(int size, int q) => arrangements[size * 2 + q];
    private static string V(int n, string arrangement) => $"v{n}.{arrangement}";
    private static string ScalarName(int size) => "bhsdq"[size].ToString();
    private static string Element(int n, int size, int index) => $"v{n}.{"bhsd"[size]}[{index}]";
    private static bool Scalar(Inst i) => (i.Word >> 28 & 1) == 1;
    // Rows that fix size in the pattern (scalar D forms, PMUL, CNT) still hold it in bits [23:22], except the
    // logic forms and RBIT, whose bits there choose the operation and which work on bytes.
    private static int Size(Inst i) => i.Encoding.Has("size") ? i["size"]
        : i.Op is (>= Op.VAnd and <= Op.VBif) or Op.VNot or Op.VRbit ? 0 : (int)(i.Word >> 22 & 3);
    private static string Bytes(Inst i) => i["Q"] == 1 ? "16b" : "8b";

    /// <summary>The mnemonic from the Op's name: VSqshlImm, VCmeqZ and VMulElem print as sqshl, cmeq and mul.</summary>
    private static string Name(Op op)
    {
        string name = op.ToString()[1..];
        foreach (var suffix in new[] { "Elem", "Imm", "Fixed", "Z" })
            if (name.EndsWith(suffix, StringComparison.Ordinal)) { name = name[..^suffix.Length]; break; }
        return name.ToLowerInvariant();
    }

    /// <summary>Long and narrowing forms add "2" when they take or fill the upper half (Q = 1).</summary>
    private static string Part(string mnemonic, Inst i) => i["Q"] == 1 ? mnemonic + "2" : mnemonic;

    private static string ThreeSame(Inst i)
    {
        if (Scalar(i))
        {
            string s = ScalarName(Size(i));
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, {s}{i["Rm"]}");
        }
        string t = Arrangement(Size(i), i["Q"]);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, {V(i["Rm"], t)}");
    }

    private static string Logic(Inst i) => Asm(Name(i.Op), $"{V(i["Rd"], Bytes(i))}, {V(i["Rn"], Bytes(i))}, {V(i["Rm"], Bytes(i))}");

    private static string TwoSame(Inst i)
    {
        int size = Size(i);
        if (Scalar(i)) return Asm(Name(i.Op), $"{ScalarName(size)}{i["Rd"]}, {ScalarName(size)}{i["Rn"]}");
        string t = Arrangement(size, i["Q"]);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}");
    }

    private static string Narrow(Inst i)
    {
        int size = Size(i);
        if (Scalar(i)) return Asm(Name(i.Op), $"{ScalarName(size)}{i["Rd"]}, {ScalarName(size + 1)}{i["Rn"]}");
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], Arrangement(size, i["Q"]))}, {V(i["Rn"], Arrangement(size + 1, 1))}");
    }

    private static string Long(Inst i)
    {
        int size = Size(i);
        if (Scalar(i))
            return Asm(Name(i.Op), $"{ScalarName(size + 1)}{i["Rd"]}, {ScalarName(size)}{i["Rn"]}, {ScalarName(size)}{i["Rm"]}");
        string narrow = Arrangement(size, i["Q"]);
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], Arrangement(size + 1, 1))}, {V(i["Rn"], narrow)}, {V(i["Rm"], narrow)}");
    }

    private static string Wide(Inst i)
    {
        int size = Size(i);
        string wide = Arrangement(size + 1, 1);
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], wide)}, {V(i["Rn"], wide)}, {V(i["Rm"], Arrangement(size, i["Q"]))}");
    }

    private static string NarrowHigh(Inst i)
    {
        int size = Size(i);
        string wide = Arrangement(size + 1, 1);
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], Arrangement(size, i["Q"]))}, {V(i["Rn"], wide)}, {V(i["Rm"], wide)}");
    }

    private static int Imm5Size(Inst i) => System.Numerics.BitOperations.TrailingZeroCount(i["imm5"]);
    private static int Imm5Index(Inst i) => i["imm5"] >> (Imm5Size(i) + 1);

    private static string DupElement(Inst i)
    {
        int size = Imm5Size(i);
        if (Scalar(i)) return Asm("mov", $"{ScalarName(size)}{i["Rd"]}, {Element(i["Rn"], size, Imm5Index(i))}");
        return Asm("dup", $"{V(i["Rd"], Arrangement(size, i["Q"]))}, {Element(i["Rn"], size, Imm5Index(i))}");
    }

    private static string ModifiedImmediate(Inst i)
    {
        int cmode = i["cmode"], op = i["op"], q = i["Q"];
        uint imm8 = (uint)((i["a"] << 7) | (i["b"] << 6) | (i["c"] << 5) | (i["d"] << 4) | (i["e"] << 3) | (i["f"] << 2) | (i["g"] << 1) | i["h"]);
        string mnemonic = i.Op switch { Op.VOrrImm => "orr", Op.VBicImm => "bic", _ => op == 1 && cmode != 14 ? "mvni" : "movi" };
        string rd;
        string tail = "";
        if (cmode < 8)
        {
            rd = V(i["Rd"], Arrangement(2, q));
            int amount = 8 * ((cmode >> 1) & 3);
            if (amount != 0) tail = $", lsl #{amount}";
        }
        else if (cmode < 12)
        {
            rd = V(i["Rd"], Arrangement(1, q));
            if ((cmode & 2) != 0) tail = ", lsl #8";
        }
        else if (cmode < 14)
        {
            rd = V(i["Rd"], Arrangement(2, q));
            tail = $", msl #{((cmode & 1) + 1) * 8}";
        }
        else if (op == 0)
        {
            rd = V(i["Rd"], Arrangement(0, q));
        }
        else
        {
            // The 64-bit form prints the expanded value: a scalar D destination, or 2D.
            ulong value = Interpreter.SimdPredecoder.AdvSimdExpandImm(1, 14, imm8);
            return Asm("movi", $"{(q == 1 ? V(i["Rd"], "2d") : $"d{i["Rd"]}")}, {Hex(value)}");
        }
        return Asm(mnemonic, $"{rd}, {Hex(imm8)}{tail}");
    }

    private static string Table(Inst i, string mnemonic)
    {
        int count = i["len"] + 1, n = i["Rn"];
        // objdump writes three or four registers as a range unless the list wraps past V31.
        string list = count > 2 && n + count <= 32
            ? $"{V(n, "16b")}-{V(n + count - 1, "16b")}"
            : string.Join(", ", Enumerable.Range(0, count).Select(k => V((n + k) % 32, "16b")));
        return Asm(mnemonic, $"{V(i["Rd"], Bytes(i))}, {{{list}}}, {V(i["Rm"], Bytes(i))}");
    }

    private static int ImmhSize(Inst i) => 3 - System.Numerics.BitOperations.LeadingZeroCount((uint)i["immh"] << 28);

    /// <summary>The shift amount: right shifts count down from 2 × esize, left shifts up from esize.</summary>
    private static int ShiftAmount(Inst i, bool right)
    {
        int size = ImmhSize(i), immhb = (i["immh"] << 3) | i["immb"];
        return right ? (16 << size) - immhb : immhb - (8 << size);
    }

    private static bool IsLeftShift(Op op) => op is Op.VShl or Op.VSli or Op.VSqshlu or Op.VSqshlImm or Op.VUqshlImm;

    private static string ShiftImmediate(Inst i)
    {
        int size = ImmhSize(i), shift = ShiftAmount(i, !IsLeftShift(i.Op));
        if (Scalar(i))
        {
            string s = ScalarName(size);
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, #{shift}");
        }
        string t = Arrangement(size, i["Q"]);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, #{shift}");
    }

    private static string NarrowShift(Inst i)
    {
        int size = ImmhSize(i), shift = ShiftAmount(i, true);
        if (Scalar(i)) return Asm(Name(i.Op), $"{ScalarName(size)}{i["Rd"]}, {ScalarName(size + 1)}{i["Rn"]}, #{shift}");
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], Arrangement(size, i["Q"]))}, {V(i["Rn"], Arrangement(size + 1, 1))}, #{shift}");
    }

    private static string LongShift(Inst i, string mnemonic, string alias)
    {
        int size = ImmhSize(i), shift = ShiftAmount(i, false);
        string operands = $"{V(i["Rd"], Arrangement(size + 1, 1))}, {V(i["Rn"], Arrangement(size, i["Q"]))}";
        return shift == 0 ? Asm(Part(alias, i), operands) : Asm(Part(mnemonic, i), $"{operands}, #{shift}");
    }

    private static (int Rm, int Index) IndexedElement(Inst i)
    {
        int size = Size(i);
        return size == 1 ? (i["Rm"], (i["H"] << 2) | (i["L"] << 1) | i["M"]) : ((i["M"] << 4) | i["Rm"], (i["H"] << 1) | i["L"]);
    }

    private static string ByElement(Inst i)
    {
        int size = Size(i);
        var (rm, index) = IndexedElement(i);
        if (Scalar(i))
        {
            string s = ScalarName(size);
            return Asm(Name(i.Op), $"{s}{i["Rd"]}, {s}{i["Rn"]}, {Element(rm, size, index)}");
        }
        string t = Arrangement(size, i["Q"]);
        return Asm(Name(i.Op), $"{V(i["Rd"], t)}, {V(i["Rn"], t)}, {Element(rm, size, index)}");
    }

    private static string LongByElement(Inst i)
    {
        int size = Size(i);
        var (rm, index) = IndexedElement(i);
        if (Scalar(i))
            return Asm(Name(i.Op), $"{ScalarName(size + 1)}{i["Rd"]}, {ScalarName(size)}{i["Rn"]}, {Element(rm, size, index)}");
        return Asm(Part(Name(i.Op), i), $"{V(i["Rd"], Arrangement(size + 1, 1))}, {V(i["Rn"], Arrangement(size, i["Q"]))}, {Element(rm, size, index)}");
    }
}
