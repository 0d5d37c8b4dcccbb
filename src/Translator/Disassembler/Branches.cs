using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>C4.1.87 Branches and exception generating instructions.</summary>
internal static class Branches
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.B] = i => Asm("b", Target(i, "imm26", 26));
        t[(int)Op.Bl] = i => Asm("bl", Target(i, "imm26", 26));
        t[(int)Op.BCond] = i => $"b.{Conditions[i["cond"]]}\t{Target(i, "imm19", 19)}{BranchConditionComment(i["cond"])}";
        t[(int)Op.Cbz] = i => Asm("cbz", $"{R(i.Sf, i["Rt"])}, {Target(i, "imm19", 19)}");
        t[(int)Op.Cbnz] = i => Asm("cbnz", $"{R(i.Sf, i["Rt"])}, {Target(i, "imm19", 19)}");
        t[(int)Op.Tbz] = i => TestBit(i, "tbz");
        t[(int)Op.Tbnz] = i => TestBit(i, "tbnz");
        t[(int)Op.Br] = i => Asm("br", X(i["Rn"]));
        t[(int)Op.Blr] = i => Asm("blr", X(i["Rn"]));
        t[(int)Op.Ret] = i => i["Rn"] == 30 ? "ret" : Asm("ret", X(i["Rn"]));
        t[(int)Op.Eret] = _ => "eret";
        t[(int)Op.Drps] = _ => "drps";

        t[(int)Op.Svc] = i => Asm("svc", Hex((ulong)i["imm16"]));
        t[(int)Op.Hvc] = i => Asm("hvc", Hex((ulong)i["imm16"]));
        t[(int)Op.Smc] = i => Asm("smc", Hex((ulong)i["imm16"]));
        t[(int)Op.Brk] = i => Asm("brk", Hex((ulong)i["imm16"]));
        t[(int)Op.Hlt] = i => Asm("hlt", Hex((ulong)i["imm16"]));
        t[(int)Op.Dcps1] = i => Debug(i, "dcps1");
        t[(int)Op.Dcps2] = i => Debug(i, "dcps2");
        t[(int)Op.Dcps3] = i => Debug(i, "dcps3");
        t[(int)Op.Udf] = i => Asm("udf", Dec(i["imm16"]));
    }

    private static string Target(Inst i, string field, int bits) => Address(i.Pc + (SignExtend(i[field], bits) << 2));

    private static string TestBit(Inst i, string mnemonic)
    {
        int b5 = i["b5"], bit = b5 << 5 | i["b40"];
        return Asm(mnemonic, $"{R(b5 == 1, i["Rt"])}, #{bit}, {Target(i, "imm14", 14)}");
    }

    // The immediate of DCPSn is optional and objdump leaves out a zero.
    private static string Debug(Inst i, string mnemonic) => i["imm16"] == 0 ? mnemonic : Asm(mnemonic, Hex((ulong)i["imm16"]));
}
