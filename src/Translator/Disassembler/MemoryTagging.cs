using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>FEAT_MTE: tag loads and stores, tag arithmetic.</summary>
internal static class MemoryTagging
{
    public static void Register(Formatter?[] t)
    {
        // Tag stores take SP as the register whose tag is stored; the offsets count 16-byte granules.
        t[(int)Op.Stg] = i => TagStore(i, "stg");
        t[(int)Op.Stzg] = i => TagStore(i, "stzg");
        t[(int)Op.St2g] = i => TagStore(i, "st2g");
        t[(int)Op.Stz2g] = i => TagStore(i, "stz2g");
        t[(int)Op.Ldg] = i => Asm("ldg", $"{X(i["Rt"])}, {LoadStore.Address(i["Rn"], Granules(i), LoadStore.Indexing.Offset)}");
        t[(int)Op.Stgm] = i => Asm("stgm", $"{X(i["Rt"])}, [{XSp(i["Rn"])}]");
        t[(int)Op.Stzgm] = i => Asm("stzgm", $"{X(i["Rt"])}, [{XSp(i["Rn"])}]");
        t[(int)Op.Ldgm] = i => Asm("ldgm", $"{X(i["Rt"])}, [{XSp(i["Rn"])}]");
        t[(int)Op.Stgp] = Stgp;
        t[(int)Op.Irg] = i => i["Rm"] == 31
            ? Asm("irg", $"{XSp(i["Rd"])}, {XSp(i["Rn"])}")
            : Asm("irg", $"{XSp(i["Rd"])}, {XSp(i["Rn"])}, {X(i["Rm"])}");
        t[(int)Op.Gmi] = i => Asm("gmi", $"{X(i["Rd"])}, {XSp(i["Rn"])}, {X(i["Rm"])}");
        t[(int)Op.Subp] = i => Asm("subp", $"{X(i["Rd"])}, {XSp(i["Rn"])}, {XSp(i["Rm"])}");
        t[(int)Op.Subps] = i => i["Rd"] == 31
            ? Asm("cmpp", $"{XSp(i["Rn"])}, {XSp(i["Rm"])}")
            : Asm("subps", $"{X(i["Rd"])}, {XSp(i["Rn"])}, {XSp(i["Rm"])}");
        t[(int)Op.Addg] = i => TagArithmetic(i, "addg");
        t[(int)Op.Subg] = i => TagArithmetic(i, "subg");
    }

    private static long Granules(Inst i) => (long)SignExtend(i["imm9"], 9) << 4;

    private static LoadStore.Indexing Indexing(int op2) =>
        op2 switch { 1 => LoadStore.Indexing.Post, 3 => LoadStore.Indexing.Pre, _ => LoadStore.Indexing.Offset };

    private static string TagStore(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{XSp(i["Rt"])}, {LoadStore.Address(i["Rn"], Granules(i), Indexing(i["op2"]))}");

    private static string Stgp(Inst i)
    {
        long offset = (long)SignExtend(i["imm7"], 7) << 4;
        return Asm("stgp", $"{X(i["Rt"])}, {X(i["Rt2"])}, {LoadStore.Address(i["Rn"], offset, Indexing(i["idx"]))}");
    }

    private static string TagArithmetic(Inst i, string mnemonic) =>
        Asm(mnemonic, $"{XSp(i["Rd"])}, {XSp(i["Rn"])}, {Hex((ulong)i["uimm6"] << 4)}, {Hex((ulong)i["uimm4"])}");
}
