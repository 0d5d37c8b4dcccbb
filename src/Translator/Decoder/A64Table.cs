namespace Jit.Translator.Decoder;

/// <summary>
/// The A64 instruction table: one row per instruction form, written as the Arm ARM (C4) prints the encoding,
/// most significant bit first. Tokens are literal bits (0, 1, x for "any") or named fields "name:width".
/// Rows are ordered most specific first; <see cref="A64Decoder"/> takes the first row that matches.
/// </summary>
public static class A64Table
{
    private static bool Sf64OrImm6Small(Encoding e, uint w) => e.Get("sf", w) == 1 || e.Get("imm6", w) < 32;
    private static bool LogicalImmValid(Encoding e, uint w) =>
        (e.Get("sf", w) == 1 || e.Get("N", w) == 0) &&
        Bits.DecodeBitMasks(e.Get("N", w), e.Get("imms", w), e.Get("immr", w), true, e.Get("sf", w) == 1 ? 64 : 32, out _, out _);
    private static bool BitfieldValid(Encoding e, uint w) =>
        e.Get("N", w) == e.Get("sf", w) && (e.Get("sf", w) == 1 || (e.Get("immr", w) < 32 && e.Get("imms", w) < 32));
    private static bool PairOpc32Or64(Encoding e, uint w) => e.Get("opc", w) is 0 or 2;
    // size:opc combinations of the single-register forms: 10:11 and 11:11 are unallocated, 11:10 is PRFM.
    private static bool SingleRegisterValid(Encoding e, uint w)
    {
        uint size = e.Get("size", w), opc = e.Get("opc", w);
        return !(opc == 3 && size >= 2) && !(size == 3 && opc == 2);
    }
    // C6.2 CASP: Rs and Rt name the first of a pair of registers and must be even, else UNDEFINED.
    private static bool RegisterPairsEven(Encoding e, uint w) => (e.Get("Rs", w) & 1) == 0 && (e.Get("Rt", w) & 1) == 0;
    private static bool RegisterOffsetValid(Encoding e, uint w) => SingleRegisterValid(e, w) && (e.Get("option", w) & 2) != 0;
    private static bool OptionValid(Encoding e, uint w) => (e.Get("option", w) & 2) != 0;

    // MOPS: only byte-sized operations are allocated, and the three registers must be distinct (Rd and Rn are
    // updated as the operation proceeds); SET's source value may be XZR.
    private static bool MemoryCopyValid(Encoding e, uint w)
    {
        uint d = e.Get("Rd", w), s = e.Get("Rs", w), n = e.Get("Rn", w);
        return e.Get("sz", w) == 0 && e.Get("op1", w) != 3 && d != s && d != n && s != n && d != 31 && s != 31 && n != 31;
    }
    private static bool MemorySetValid(Encoding e, uint w)
    {
        uint d = e.Get("Rd", w), s = e.Get("Rs", w), n = e.Get("Rn", w);
        return e.Get("sz", w) == 0 && e.Get("op2", w) >> 2 != 3 && d != s && d != n && s != n && d != 31 && n != 31;
    }

    public static readonly Encoding[] Rows =
    [
        // C4.1.86 Data processing -- immediate
        new(Op.Adr,      "0 immlo:2 10000 immhi:19 Rd:5"),
        new(Op.Adrp,     "1 immlo:2 10000 immhi:19 Rd:5"),
        new(Op.AddImm,   "sf:1 0 0 100010 sh:1 imm12:12 Rn:5 Rd:5"),
        new(Op.AddsImm,  "sf:1 0 1 100010 sh:1 imm12:12 Rn:5 Rd:5"),
        new(Op.SubImm,   "sf:1 1 0 100010 sh:1 imm12:12 Rn:5 Rd:5"),
        new(Op.SubsImm,  "sf:1 1 1 100010 sh:1 imm12:12 Rn:5 Rd:5"),
        new(Op.AndImm,   "sf:1 00 100100 N:1 immr:6 imms:6 Rn:5 Rd:5", LogicalImmValid),
        new(Op.OrrImm,   "sf:1 01 100100 N:1 immr:6 imms:6 Rn:5 Rd:5", LogicalImmValid),
        new(Op.EorImm,   "sf:1 10 100100 N:1 immr:6 imms:6 Rn:5 Rd:5", LogicalImmValid),
        new(Op.AndsImm,  "sf:1 11 100100 N:1 immr:6 imms:6 Rn:5 Rd:5", LogicalImmValid),
        new(Op.Movn,     "sf:1 00 100101 hw:2 imm16:16 Rd:5", (e, w) => e.Get("sf", w) == 1 || e.Get("hw", w) < 2),
        new(Op.Movz,     "sf:1 10 100101 hw:2 imm16:16 Rd:5", (e, w) => e.Get("sf", w) == 1 || e.Get("hw", w) < 2),
        new(Op.Movk,     "sf:1 11 100101 hw:2 imm16:16 Rd:5", (e, w) => e.Get("sf", w) == 1 || e.Get("hw", w) < 2),
        new(Op.Sbfm,     "sf:1 00 100110 N:1 immr:6 imms:6 Rn:5 Rd:5", BitfieldValid),
        new(Op.Bfm,      "sf:1 01 100110 N:1 immr:6 imms:6 Rn:5 Rd:5", BitfieldValid),
        new(Op.Ubfm,     "sf:1 10 100110 N:1 immr:6 imms:6 Rn:5 Rd:5", BitfieldValid),
        new(Op.Extr,     "sf:1 00 100111 N:1 0 Rm:5 imms:6 Rn:5 Rd:5",
            (e, w) => e.Get("N", w) == e.Get("sf", w) && (e.Get("sf", w) == 1 || e.Get("imms", w) < 32)),

        // C4.1.87 Branches, exception generating and system instructions
        new(Op.BCond,    "0101010 0 imm19:19 0 cond:4"),
        new(Op.Svc,      "11010100 000 imm16:16 000 01"),
        new(Op.Hvc,      "11010100 000 imm16:16 000 10"),
        new(Op.Smc,      "11010100 000 imm16:16 000 11"),
        new(Op.Brk,      "11010100 001 imm16:16 000 00"),
        new(Op.Hlt,      "11010100 010 imm16:16 000 00"),
        new(Op.Dcps1,    "11010100 101 imm16:16 000 01"),
        new(Op.Dcps2,    "11010100 101 imm16:16 000 10"),
        new(Op.Dcps3,    "11010100 101 imm16:16 000 11"),
        new(Op.Hint,     "11010101 00000011 0010 CRm:4 op2:3 11111"),
        new(Op.Clrex,    "11010101 00000011 0011 CRm:4 010 11111"),
        new(Op.Dsb,      "11010101 00000011 0011 CRm:4 100 11111"),
        new(Op.Dmb,      "11010101 00000011 0011 CRm:4 101 11111"),
        new(Op.Isb,      "11010101 00000011 0011 CRm:4 110 11111"),
        new(Op.MsrImm,   "11010101 00000 op1:3 0100 CRm:4 op2:3 11111"),
        new(Op.Sys,      "11010101 00001 op1:3 CRn:4 CRm:4 op2:3 Rt:5"),
        new(Op.Sysl,     "11010101 00101 op1:3 CRn:4 CRm:4 op2:3 Rt:5"),
        new(Op.MsrReg,   "11010101 0001 o0:1 op1:3 CRn:4 CRm:4 op2:3 Rt:5"),
        new(Op.Mrs,      "11010101 0011 o0:1 op1:3 CRn:4 CRm:4 op2:3 Rt:5"),
        new(Op.Br,       "1101011 0000 11111 000000 Rn:5 00000"),
        new(Op.Blr,      "1101011 0001 11111 000000 Rn:5 00000"),
        new(Op.Ret,      "1101011 0010 11111 000000 Rn:5 00000"),
        new(Op.Eret,     "1101011 0100 11111 000000 11111 00000"),
        new(Op.Drps,     "1101011 0101 11111 000000 11111 00000"),
        new(Op.B,        "000101 imm26:26"),
        new(Op.Bl,       "100101 imm26:26"),
        new(Op.Cbz,      "sf:1 011010 0 imm19:19 Rt:5"),
        new(Op.Cbnz,     "sf:1 011010 1 imm19:19 Rt:5"),
        new(Op.Tbz,      "b5:1 011011 0 b40:5 imm14:14 Rt:5"),
        new(Op.Tbnz,     "b5:1 011011 1 b40:5 imm14:14 Rt:5"),

        // C4.1.88 Loads and stores: exclusive, ordered and compare-and-swap (o2 L o1 o0)
        new(Op.Stxr,     "size:2 001000 0 0 0 Rs:5 0 Rt2:5 Rn:5 Rt:5"),
        new(Op.Stlxr,    "size:2 001000 0 0 0 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Ldxr,     "size:2 001000 0 1 0 Rs:5 0 Rt2:5 Rn:5 Rt:5"),
        new(Op.Ldaxr,    "size:2 001000 0 1 0 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Stxp,     "1 sz:1 001000 0 0 1 Rs:5 0 Rt2:5 Rn:5 Rt:5"),
        new(Op.Stlxp,    "1 sz:1 001000 0 0 1 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Ldxp,     "1 sz:1 001000 0 1 1 Rs:5 0 Rt2:5 Rn:5 Rt:5"),
        new(Op.Ldaxp,    "1 sz:1 001000 0 1 1 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Casp,     "0 sz:1 001000 0 L:1 1 Rs:5 o0:1 11111 Rn:5 Rt:5", RegisterPairsEven),
        new(Op.Stlr,     "size:2 001000 1 0 0 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Ldar,     "size:2 001000 1 1 0 Rs:5 1 Rt2:5 Rn:5 Rt:5"),
        new(Op.Cas,      "size:2 001000 1 L:1 1 Rs:5 o0:1 11111 Rn:5 Rt:5"),

        // Load register (literal)
        new(Op.LdrLit,   "0 sf:1 011 0 00 imm19:19 Rt:5"),
        new(Op.LdrswLit, "10 011 0 00 imm19:19 Rt:5"),
        new(Op.PrfmLit,  "11 011 0 00 imm19:19 Rt:5"),

        // Load/store pair: no-allocate, post-indexed, signed offset, pre-indexed
        new(Op.Stnp,     "opc:2 101 0 000 0 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.Ldnp,     "opc:2 101 0 000 1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.LdpswPost,"01 101 0 001 1 imm7:7 Rt2:5 Rn:5 Rt:5"),
        new(Op.LdpswOff, "01 101 0 010 1 imm7:7 Rt2:5 Rn:5 Rt:5"),
        new(Op.LdpswPre, "01 101 0 011 1 imm7:7 Rt2:5 Rn:5 Rt:5"),
        new(Op.StpPost,  "opc:2 101 0 001 0 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.LdpPost,  "opc:2 101 0 001 1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.StpOff,   "opc:2 101 0 010 0 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.LdpOff,   "opc:2 101 0 010 1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.StpPre,   "opc:2 101 0 011 0 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),
        new(Op.LdpPre,   "opc:2 101 0 011 1 imm7:7 Rt2:5 Rn:5 Rt:5", PairOpc32Or64),

        // Load/store single register (opc: 00 store, 01 load, 10 load signed to 64, 11 load signed to 32)
        new(Op.PrfmImm,  "11 111 0 01 10 imm12:12 Rn:5 Rt:5"),
        new(Op.LdStUimm, "size:2 111 0 01 opc:2 imm12:12 Rn:5 Rt:5", SingleRegisterValid),
        new(Op.PrfmReg,  "11 111 0 00 10 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5", OptionValid),
        new(Op.LdStReg,  "size:2 111 0 00 opc:2 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5", RegisterOffsetValid),
        new(Op.Prfum,    "11 111 0 00 10 0 imm9:9 00 Rn:5 Rt:5"),
        new(Op.LdStUnscaled, "size:2 111 0 00 opc:2 0 imm9:9 00 Rn:5 Rt:5", SingleRegisterValid),
        new(Op.LdStPost, "size:2 111 0 00 opc:2 0 imm9:9 01 Rn:5 Rt:5", SingleRegisterValid),
        new(Op.LdStUnpriv, "size:2 111 0 00 opc:2 0 imm9:9 10 Rn:5 Rt:5", SingleRegisterValid),
        new(Op.LdStPre,  "size:2 111 0 00 opc:2 0 imm9:9 11 Rn:5 Rt:5", SingleRegisterValid),

        // ARMv8.1 LSE atomic memory operations (A: acquire, R: release)
        new(Op.Ldadd,    "size:2 111 0 00 A:1 R:1 1 Rs:5 0 000 00 Rn:5 Rt:5"),
        new(Op.Ldclr,    "size:2 111 0 00 A:1 R:1 1 Rs:5 0 001 00 Rn:5 Rt:5"),
        new(Op.Ldeor,    "size:2 111 0 00 A:1 R:1 1 Rs:5 0 010 00 Rn:5 Rt:5"),
        new(Op.Ldset,    "size:2 111 0 00 A:1 R:1 1 Rs:5 0 011 00 Rn:5 Rt:5"),
        new(Op.Ldsmax,   "size:2 111 0 00 A:1 R:1 1 Rs:5 0 100 00 Rn:5 Rt:5"),
        new(Op.Ldsmin,   "size:2 111 0 00 A:1 R:1 1 Rs:5 0 101 00 Rn:5 Rt:5"),
        new(Op.Ldumax,   "size:2 111 0 00 A:1 R:1 1 Rs:5 0 110 00 Rn:5 Rt:5"),
        new(Op.Ldumin,   "size:2 111 0 00 A:1 R:1 1 Rs:5 0 111 00 Rn:5 Rt:5"),
        new(Op.Swp,      "size:2 111 0 00 A:1 R:1 1 Rs:5 1 000 00 Rn:5 Rt:5"),

        // C4.1.89 Data processing -- register
        new(Op.AndReg,   "sf:1 00 01010 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.BicReg,   "sf:1 00 01010 shift:2 1 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.OrrReg,   "sf:1 01 01010 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.OrnReg,   "sf:1 01 01010 shift:2 1 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.EorReg,   "sf:1 10 01010 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.EonReg,   "sf:1 10 01010 shift:2 1 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.AndsReg,  "sf:1 11 01010 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.BicsReg,  "sf:1 11 01010 shift:2 1 Rm:5 imm6:6 Rn:5 Rd:5", Sf64OrImm6Small),
        new(Op.AddReg,   "sf:1 0 0 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", (e, w) => e.Get("shift", w) != 3 && Sf64OrImm6Small(e, w)),
        new(Op.AddsReg,  "sf:1 0 1 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", (e, w) => e.Get("shift", w) != 3 && Sf64OrImm6Small(e, w)),
        new(Op.SubReg,   "sf:1 1 0 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", (e, w) => e.Get("shift", w) != 3 && Sf64OrImm6Small(e, w)),
        new(Op.SubsReg,  "sf:1 1 1 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5", (e, w) => e.Get("shift", w) != 3 && Sf64OrImm6Small(e, w)),
        new(Op.AddExt,   "sf:1 0 0 01011 00 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5", (e, w) => e.Get("imm3", w) <= 4),
        new(Op.AddsExt,  "sf:1 0 1 01011 00 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5", (e, w) => e.Get("imm3", w) <= 4),
        new(Op.SubExt,   "sf:1 1 0 01011 00 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5", (e, w) => e.Get("imm3", w) <= 4),
        new(Op.SubsExt,  "sf:1 1 1 01011 00 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5", (e, w) => e.Get("imm3", w) <= 4),
        new(Op.Adc,      "sf:1 0 0 11010000 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.Adcs,     "sf:1 0 1 11010000 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.Sbc,      "sf:1 1 0 11010000 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.Sbcs,     "sf:1 1 1 11010000 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.CcmnReg,  "sf:1 0 1 11010010 Rm:5 cond:4 0 0 Rn:5 0 nzcv:4"),
        new(Op.CcmpReg,  "sf:1 1 1 11010010 Rm:5 cond:4 0 0 Rn:5 0 nzcv:4"),
        new(Op.CcmnImm,  "sf:1 0 1 11010010 imm5:5 cond:4 1 0 Rn:5 0 nzcv:4"),
        new(Op.CcmpImm,  "sf:1 1 1 11010010 imm5:5 cond:4 1 0 Rn:5 0 nzcv:4"),
        new(Op.Csel,     "sf:1 0 0 11010100 Rm:5 cond:4 00 Rn:5 Rd:5"),
        new(Op.Csinc,    "sf:1 0 0 11010100 Rm:5 cond:4 01 Rn:5 Rd:5"),
        new(Op.Csinv,    "sf:1 1 0 11010100 Rm:5 cond:4 00 Rn:5 Rd:5"),
        new(Op.Csneg,    "sf:1 1 0 11010100 Rm:5 cond:4 01 Rn:5 Rd:5"),
        new(Op.Madd,     "sf:1 00 11011 000 Rm:5 0 Ra:5 Rn:5 Rd:5"),
        new(Op.Msub,     "sf:1 00 11011 000 Rm:5 1 Ra:5 Rn:5 Rd:5"),
        new(Op.Smaddl,   "1 00 11011 001 Rm:5 0 Ra:5 Rn:5 Rd:5"),
        new(Op.Smsubl,   "1 00 11011 001 Rm:5 1 Ra:5 Rn:5 Rd:5"),
        new(Op.Smulh,    "1 00 11011 010 Rm:5 0 Ra:5 Rn:5 Rd:5"),
        new(Op.Umaddl,   "1 00 11011 101 Rm:5 0 Ra:5 Rn:5 Rd:5"),
        new(Op.Umsubl,   "1 00 11011 101 Rm:5 1 Ra:5 Rn:5 Rd:5"),
        new(Op.Umulh,    "1 00 11011 110 Rm:5 0 Ra:5 Rn:5 Rd:5"),
        new(Op.Udiv,     "sf:1 0 0 11010110 Rm:5 000010 Rn:5 Rd:5"),
        new(Op.Sdiv,     "sf:1 0 0 11010110 Rm:5 000011 Rn:5 Rd:5"),
        new(Op.Lslv,     "sf:1 0 0 11010110 Rm:5 001000 Rn:5 Rd:5"),
        new(Op.Lsrv,     "sf:1 0 0 11010110 Rm:5 001001 Rn:5 Rd:5"),
        new(Op.Asrv,     "sf:1 0 0 11010110 Rm:5 001010 Rn:5 Rd:5"),
        new(Op.Rorv,     "sf:1 0 0 11010110 Rm:5 001011 Rn:5 Rd:5"),
        new(Op.Crc32,    "sf:1 0 0 11010110 Rm:5 010 0 sz:2 Rn:5 Rd:5", (e, w) => (e.Get("sz", w) == 3) == (e.Get("sf", w) == 1)),
        new(Op.Crc32c,   "sf:1 0 0 11010110 Rm:5 010 1 sz:2 Rn:5 Rd:5", (e, w) => (e.Get("sz", w) == 3) == (e.Get("sf", w) == 1)),
        new(Op.Rbit,     "sf:1 1 0 11010110 00000 000000 Rn:5 Rd:5"),
        new(Op.Rev16,    "sf:1 1 0 11010110 00000 000001 Rn:5 Rd:5"),
        new(Op.Rev32,    "1 1 0 11010110 00000 000010 Rn:5 Rd:5"),
        new(Op.Rev,      "sf:1 1 0 11010110 00000 00001 opc0:1 Rn:5 Rd:5", (e, w) => e.Get("sf", w) == e.Get("opc0", w)),
        new(Op.Clz,      "sf:1 1 0 11010110 00000 000100 Rn:5 Rd:5"),
        new(Op.Cls,      "sf:1 1 0 11010110 00000 000101 Rn:5 Rd:5"),

        // ---- Later extensions: decoded so that they disassemble, executed as Undefined (see Op.cs) ----
        // FEAT_MTE (C4.1.88 "Load/store memory tags", C4.1.89 data processing, C4.1.86 "Add/subtract (immediate,
        // with tags)"). In the tag stores op2 chooses post-index (01), signed offset (10) or pre-index (11); op2 = 00
        // with a zero offset is the multiple-tag form.
        new(Op.Stzgm,    "11011001 00 1 000000000 00 Rn:5 Rt:5"),
        new(Op.Stg,      "11011001 00 1 imm9:9 op2:2 Rn:5 Rt:5", (e, w) => e.Get("op2", w) != 0),
        new(Op.Ldg,      "11011001 01 1 imm9:9 00 Rn:5 Rt:5"),
        new(Op.Stzg,     "11011001 01 1 imm9:9 op2:2 Rn:5 Rt:5", (e, w) => e.Get("op2", w) != 0),
        new(Op.Stgm,     "11011001 10 1 000000000 00 Rn:5 Rt:5"),
        new(Op.St2g,     "11011001 10 1 imm9:9 op2:2 Rn:5 Rt:5", (e, w) => e.Get("op2", w) != 0),
        new(Op.Ldgm,     "11011001 11 1 000000000 00 Rn:5 Rt:5"),
        new(Op.Stz2g,    "11011001 11 1 imm9:9 op2:2 Rn:5 Rt:5", (e, w) => e.Get("op2", w) != 0),
        new(Op.Stgp,     "01 101 0 0 idx:2 0 imm7:7 Rt2:5 Rn:5 Rt:5", (e, w) => e.Get("idx", w) != 0),
        new(Op.Irg,      "1 0 0 11010110 Rm:5 000100 Rn:5 Rd:5"),
        new(Op.Gmi,      "1 0 0 11010110 Rm:5 000101 Rn:5 Rd:5"),
        new(Op.Subp,     "1 0 0 11010110 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.Subps,    "1 0 1 11010110 Rm:5 000000 Rn:5 Rd:5"),
        new(Op.Addg,     "1 0 0 100011 0 uimm6:6 00 uimm4:4 Rn:5 Rd:5"),
        new(Op.Subg,     "1 1 0 100011 0 uimm6:6 00 uimm4:4 Rn:5 Rd:5"),
        // FEAT_MOPS (C4.1.88 "Memory Copy and Memory Set"): op1 (CPY) is prologue/main/epilogue, op2 the options;
        // for SET op2<3:2> is prologue/main/epilogue. CPYF is the forward-only copy, SETG also sets tags.
        new(Op.Set,      "sz:2 011 0 01 11 0 Rs:5 op2:4 01 Rn:5 Rd:5", MemorySetValid),
        new(Op.Setg,     "sz:2 011 1 01 11 0 Rs:5 op2:4 01 Rn:5 Rd:5", MemorySetValid),
        new(Op.Cpyf,     "sz:2 011 0 01 op1:2 0 Rs:5 op2:4 01 Rn:5 Rd:5", MemoryCopyValid),
        new(Op.Cpy,      "sz:2 011 1 01 op1:2 0 Rs:5 op2:4 01 Rn:5 Rd:5", MemoryCopyValid),
        // FEAT_SB speculation barrier, FEAT_XS barrier (imm2 chooses OSH/NSH/ISH/SY), FEAT_WFxT timed waits.
        new(Op.Sb,       "11010101 00000011 0011 0000 111 11111"),
        new(Op.DsbNxs,   "11010101 00000011 0011 imm2:2 10 001 11111"),
        new(Op.Wfet,     "11010101 00000011 0001 0000 000 Rt:5"),
        new(Op.Wfit,     "11010101 00000011 0001 0000 001 Rt:5"),

        // Permanently undefined (UDF) is allocated as an Undefined instruction with an immediate.
        new(Op.Udf,      "0000000000000000 imm16:16"),

        // Classes that are not implemented yet: they decode, disassemble where known, and execute as Undefined.
        new(Op.Sve,      "xxx 0010 xxxxxxxxxxxxxxxxxxxxxxxxx"),
        new(Op.SimdFp,   "xxxx 111 xxxxxxxxxxxxxxxxxxxxxxxxx"),
        new(Op.SimdFpLoadStore, "xxxx 110 xxxxxxxxxxxxxxxxxxxxxxxxx"),
    ];
}
