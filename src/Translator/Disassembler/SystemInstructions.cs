using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;
using static Jit.Translator.Disassembler.Operands;

namespace Jit.Translator.Disassembler;

/// <summary>C4.1.87 System instructions: hints, barriers, PSTATE, system register moves and SYS.</summary>
internal static class SystemInstructions
{
    public static void Register(Formatter?[] t)
    {
        t[(int)Op.Hint] = Hint;
        t[(int)Op.Clrex] = i => i["CRm"] == 15 ? "clrex" : Asm("clrex", Hex((ulong)i["CRm"]));
        t[(int)Op.Dsb] = Dsb;
        t[(int)Op.Dmb] = i => Asm("dmb", BarrierOption(i["CRm"]));
        t[(int)Op.Isb] = i => i["CRm"] == 15 ? "isb" : Asm("isb", Hex((ulong)i["CRm"]));
        t[(int)Op.MsrImm] = MsrImmediate;
        t[(int)Op.MsrReg] = i => Asm("msr", $"{RegisterName(i, write: true)}, {X(i["Rt"])}");
        t[(int)Op.Mrs] = i => Asm("mrs", $"{X(i["Rt"])}, {RegisterName(i, write: false)}");
        t[(int)Op.Sys] = Sys;
        t[(int)Op.Sb] = _ => "sb";
        t[(int)Op.DsbNxs] = i => Asm("dsb", ((string[])["oshnxs", "nshnxs", "ishnxs", "synxs"])[i["imm2"]]);
        t[(int)Op.Wfet] = i => Asm("wfet", X(i["Rt"]));
        t[(int)Op.Wfit] = i => Asm("wfit", X(i["Rt"]));
        t[(int)Op.Sysl] = i => Asm("sysl", $"{X(i["Rt"])}, #{i["op1"]}, C{i["CRn"]}, C{i["CRm"]}, #{i["op2"]}");
    }

    // The hint space (CRm:op2) up to BTI; objdump prints the rest as "hint #n". Allocated hints that take an
    // operand (PSB CSYNC, TSB CSYNC, BTI targets) carry it after a tab.
    private static readonly string?[] hints =
    [
        "nop", "yield", "wfe", "wfi", "sev", "sevl", null, "xpaclri",
        "pacia1716", null, "pacib1716", null, "autia1716", null, "autib1716", null,
        "esb", "psb\tcsync", "tsb\tcsync", null, "csdb", null, "clearbhb", null,
        "paciaz", "paciasp", "pacibz", "pacibsp", "autiaz", "autiasp", "autibz", "autibsp",
        "bti", null, "bti\tc", null, "bti\tj", null, "bti\tjc", null,
    ];

    private static string Hint(Inst i)
    {
        int n = i["CRm"] << 3 | i["op2"];
        return n < hints.Length && hints[n] is { } name ? name : Asm("hint", Hex((ulong)n));
    }

    private static readonly string?[] barrierOptions =
        [null, "oshld", "oshst", "osh", null, "nshld", "nshst", "nsh", null, "ishld", "ishst", "ish", null, "ld", "st", "sy"];

    private static string BarrierOption(int crm) => barrierOptions[crm] ?? $"#0x{crm:x2}";

    private static string Dsb(Inst i) => i["CRm"] switch
    {
        0 => "ssbb",
        4 => "pssbb",
        var crm => Asm("dsb", BarrierOption(crm)),
    };

    private static string MsrImmediate(Inst i)
    {
        int op1 = i["op1"], crm = i["CRm"], op2 = i["op2"];
        string? field = (op1, op2) switch
        {
            (0, 3) => "uao",
            (0, 4) => "pan",
            (0, 5) => "spsel",
            (1, 0) => "allint",
            (3, 1) => "ssbs",
            (3, 2) => "dit",
            (3, 4) => "tco",
            (3, 6) => "daifset",
            (3, 7) => "daifclr",
            _ => null,
        };
        // Single-bit PSTATE fields take #0 or #1; the DAIF masks take all four bits.
        if (field is not null && (crm <= 1 || field.StartsWith("daif", StringComparison.Ordinal)))
            return Asm("msr", $"{field}, {Hex((ulong)crm)}");
        if (op1 == 0 && crm == 0 && op2 <= 2)
            return op2 switch { 0 => "cfinv", 1 => "xaflag", _ => "axflag" };
        // SMSTART/SMSTOP: MSR SVCR* with CRm<3:1> choosing SM, ZA or both and CRm<0> the value.
        if (op1 == 3 && op2 == 3 && crm is >= 2 and <= 7)
        {
            string mnemonic = (crm & 1) == 1 ? "smstart" : "smstop";
            return (crm >> 1) switch { 1 => Asm(mnemonic, "sm"), 2 => Asm(mnemonic, "za"), _ => mnemonic };
        }
        return Asm("msr", $"s0_{op1}_c4_c{crm}_{op2}, xzr");
    }

    /// <summary>
    /// objdump's MRS/MSR (register) patterns do not exclude op0 = 0, so it prints an unallocated word of the
    /// op0 = 0 system space (C5.2: not a hint, barrier or PSTATE access) as a move of the generic register
    /// S0_op1_Cn_Cm_op2. Null for any other word.
    /// </summary>
    public static string? UnallocatedSystemMove(uint word)
    {
        const uint mask = 0xFFF8_0000, msr = 0xD500_0000, mrs = 0xD520_0000;
        if ((word & mask) is not (msr or mrs)) return null;
        string name = $"s0_{word >> 16 & 7}_c{word >> 12 & 15}_c{word >> 8 & 15}_{word >> 5 & 7}";
        string rt = X((int)(word & 31));
        return (word & mask) == msr ? Asm("msr", $"{name}, {rt}") : Asm("mrs", $"{rt}, {name}");
    }

    private static string RegisterName(Inst i, bool write)
    {
        int op0 = 2 | i["o0"], op1 = i["op1"], crn = i["CRn"], crm = i["CRm"], op2 = i["op2"];
        return SystemRegisterNames.Name(op0, op1, crn, crm, op2, write) is { } name
            ? name.ToLowerInvariant()
            : $"s{op0}_{op1}_c{crn}_c{crm}_{op2}";
    }

    private static string Sys(Inst i)
    {
        int rt = i["Rt"];
        if (SystemOperations.Find(i["op1"], i["CRn"], i["CRm"], i["op2"]) is { } op)
            return Asm(op.Mnemonic, op.Register ? $"{op.Name}, {X(rt)}" : op.Name);
        string operands = $"#{i["op1"]}, C{i["CRn"]}, C{i["CRm"]}, #{i["op2"]}";
        return Asm("sys", rt == 31 ? operands : $"{operands}, {X(rt)}");
    }
}
