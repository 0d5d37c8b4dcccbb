using Jit.Runtime;
using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;
using Jit.Runtime.Startup;

namespace Jit.Translator.Interpreter;

/// <summary>Turns a decoded <see cref="Encoding"/> into an <see cref="Inst"/> the interpreter executes.</summary>
[CompiledEarly]
public static class Predecoder
{
    private static byte ZrRead(uint r) => r == 31 ? (byte)CpuState.ZeroRegister : (byte)r;
    private static byte ZrWrite(uint r) => r == 31 ? (byte)CpuState.DiscardRegister : (byte)r;

    public static Inst Predecode(uint word)
    {
        var e = A64Decoder.Decode(word);
        var i = new Inst { Op = e.Op, Word = word };
        uint F(string name) => e.Get(name, word);
        int size;

        switch (e.Op)
        {
            case Op.Adr:
                i.Rd = ZrWrite(F("Rd"));
                i.Imm = (ulong)Bits.SignExtend((F("immhi") << 2) | F("immlo"), 21);
                break;
            case Op.Adrp:
                i.Rd = ZrWrite(F("Rd"));
                i.Imm = (ulong)(Bits.SignExtend((F("immhi") << 2) | F("immlo"), 21) << 12);
                break;
            case Op.AddImm: case Op.SubImm:
                i.Sf = (byte)F("sf"); i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn");
                i.Imm = (ulong)F("imm12") << (F("sh") == 1 ? 12 : 0);
                break;
            case Op.AddsImm: case Op.SubsImm:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = (byte)F("Rn");
                i.Imm = (ulong)F("imm12") << (F("sh") == 1 ? 12 : 0);
                break;
            case Op.AndImm: case Op.OrrImm: case Op.EorImm: case Op.AndsImm:
            {
                i.Sf = (byte)F("sf");
                i.Rd = e.Op == Op.AndsImm ? ZrWrite(F("Rd")) : (byte)F("Rd");
                i.Rn = ZrRead(F("Rn"));
                Bits.DecodeBitMasks(F("N"), F("imms"), F("immr"), true, i.Sf == 1 ? 64 : 32, out i.Imm, out _);
                break;
            }
            case Op.Movn: case Op.Movz: case Op.Movk:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd"));
                i.A = (byte)(F("hw") * 16);
                i.Imm = (ulong)F("imm16") << i.A;
                break;
            case Op.Sbfm: case Op.Bfm: case Op.Ubfm:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn"));
                i.A = (byte)F("immr"); i.B = (byte)F("imms");
                Bits.DecodeBitMasks(F("N"), F("imms"), F("immr"), false, i.Sf == 1 ? 64 : 32, out i.Imm, out i.Imm2);
                // BFM reads its destination: keep the real register number for that read.
                i.Ra = ZrRead(F("Rd"));
                break;
            case Op.Extr:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                i.A = (byte)F("imms");
                break;

            case Op.BCond:
                i.C = (byte)F("cond");
                i.Imm = (ulong)(Bits.SignExtend(F("imm19"), 19) << 2);
                break;
            case Op.Svc: case Op.Hvc: case Op.Smc: case Op.Brk: case Op.Hlt: case Op.Udf:
                i.Imm = F("imm16");
                break;
            case Op.Hint:
                i.A = (byte)((F("CRm") << 3) | F("op2"));
                break;
            case Op.MsrImm:
                i.A = (byte)F("op1"); i.B = (byte)F("op2"); i.C = (byte)F("CRm");
                break;
            case Op.Sys: case Op.Sysl:
                i.Rd = ZrRead(F("Rt"));
                i.Imm = (ulong)SystemRegisterFile.Key(1, (int)F("op1"), (int)F("CRn"), (int)F("CRm"), (int)F("op2"));
                break;
            case Op.MsrReg:
                i.Rd = ZrRead(F("Rt"));
                i.Imm = (ulong)SystemRegisterFile.Key(2 + (int)F("o0"), (int)F("op1"), (int)F("CRn"), (int)F("CRm"), (int)F("op2"));
                break;
            case Op.Mrs:
                i.Rd = ZrWrite(F("Rt"));
                i.Imm = (ulong)SystemRegisterFile.Key(2 + (int)F("o0"), (int)F("op1"), (int)F("CRn"), (int)F("CRm"), (int)F("op2"));
                break;
            case Op.Br: case Op.Blr: case Op.Ret:
                i.Rn = ZrRead(F("Rn"));
                break;
            case Op.B: case Op.Bl:
                i.Imm = (ulong)(Bits.SignExtend(F("imm26"), 26) << 2);
                break;
            case Op.Cbz: case Op.Cbnz:
                i.Sf = (byte)F("sf"); i.Rd = ZrRead(F("Rt"));
                i.Imm = (ulong)(Bits.SignExtend(F("imm19"), 19) << 2);
                break;
            case Op.Tbz: case Op.Tbnz:
                i.Rd = ZrRead(F("Rt")); i.A = (byte)((F("b5") << 5) | F("b40"));
                i.Imm = (ulong)(Bits.SignExtend(F("imm14"), 14) << 2);
                break;

            case Op.Stxr: case Op.Stlxr:
                i.A = (byte)F("size"); i.Rd = ZrRead(F("Rt")); i.Rn = (byte)F("Rn"); i.Ra = ZrWrite(F("Rs"));
                break;
            case Op.Ldxr: case Op.Ldaxr: case Op.Ldar:
                i.A = (byte)F("size"); i.Rd = ZrWrite(F("Rt")); i.Rn = (byte)F("Rn");
                break;
            case Op.Stlr:
                i.A = (byte)F("size"); i.Rd = ZrRead(F("Rt")); i.Rn = (byte)F("Rn");
                break;
            case Op.Stxp: case Op.Stlxp:
                i.A = (byte)(2 + F("sz")); i.Rd = ZrRead(F("Rt")); i.Ra = ZrRead(F("Rt2")); i.Rn = (byte)F("Rn");
                i.Rm = ZrWrite(F("Rs"));
                break;
            case Op.Ldxp: case Op.Ldaxp:
                i.A = (byte)(2 + F("sz")); i.Rd = ZrWrite(F("Rt")); i.Ra = ZrWrite(F("Rt2")); i.Rn = (byte)F("Rn");
                break;
            case Op.Cas:
                i.A = (byte)F("size"); i.Rn = (byte)F("Rn");
                i.Rm = ZrRead(F("Rs")); i.Ra = ZrWrite(F("Rs")); i.Rd = ZrRead(F("Rt"));
                break;
            case Op.Casp:
                i.A = (byte)(2 + F("sz")); i.Rn = (byte)F("Rn");
                // Even register pairs only: the table's row rejects odd ones as unallocated.
                i.Rm = (byte)F("Rs"); i.Rd = (byte)F("Rt");
                break;

            case Op.LdrLit:
                i.Rd = ZrWrite(F("Rt")); i.A = (byte)(F("sf") == 1 ? 3 : 2); i.B = LoadKind.Zero;
                i.Imm = (ulong)(Bits.SignExtend(F("imm19"), 19) << 2);
                break;
            case Op.LdrswLit:
                i.Rd = ZrWrite(F("Rt")); i.A = 2; i.B = LoadKind.Signed64;
                i.Imm = (ulong)(Bits.SignExtend(F("imm19"), 19) << 2);
                break;

            case Op.Stnp: case Op.StpPost: case Op.StpOff: case Op.StpPre:
                size = F("opc") == 2 ? 3 : 2;
                i.A = (byte)size; i.B = LoadKind.Store; i.Rd = ZrRead(F("Rt")); i.Ra = ZrRead(F("Rt2")); i.Rn = (byte)F("Rn");
                i.Imm = (ulong)(Bits.SignExtend(F("imm7"), 7) << size);
                break;
            case Op.Ldnp: case Op.LdpPost: case Op.LdpOff: case Op.LdpPre:
                size = F("opc") == 2 ? 3 : 2;
                i.A = (byte)size; i.B = LoadKind.Zero; i.Rd = ZrWrite(F("Rt")); i.Ra = ZrWrite(F("Rt2")); i.Rn = (byte)F("Rn");
                i.Imm = (ulong)(Bits.SignExtend(F("imm7"), 7) << size);
                break;
            case Op.LdpswPost: case Op.LdpswOff: case Op.LdpswPre:
                i.A = 2; i.B = LoadKind.Signed64; i.Rd = ZrWrite(F("Rt")); i.Ra = ZrWrite(F("Rt2")); i.Rn = (byte)F("Rn");
                i.Imm = (ulong)(Bits.SignExtend(F("imm7"), 7) << 2);
                break;

            case Op.LdStUimm:
                SingleRegister(ref i, e, word);
                i.Imm = (ulong)F("imm12") << i.A;
                break;
            case Op.LdStUnscaled: case Op.LdStPost: case Op.LdStPre: case Op.LdStUnpriv:
                SingleRegister(ref i, e, word);
                i.Imm = (ulong)Bits.SignExtend(F("imm9"), 9);
                break;
            case Op.LdStReg:
                SingleRegister(ref i, e, word);
                i.Rm = ZrRead(F("Rm"));
                i.C = (byte)F("option");
                i.Imm = F("S") == 1 ? i.A : 0u;
                break;
            case Op.PrfmImm: case Op.PrfmReg: case Op.Prfum: case Op.PrfmLit:
                break;

            case Op.Ldadd: case Op.Ldclr: case Op.Ldeor: case Op.Ldset:
            case Op.Ldsmax: case Op.Ldsmin: case Op.Ldumax: case Op.Ldumin: case Op.Swp:
                i.A = (byte)F("size"); i.Rn = (byte)F("Rn"); i.Rm = ZrRead(F("Rs")); i.Rd = ZrWrite(F("Rt"));
                i.C = (byte)((F("A") << 1) | F("R"));
                break;

            case Op.AndReg: case Op.BicReg: case Op.OrrReg: case Op.OrnReg:
            case Op.EorReg: case Op.EonReg: case Op.AndsReg: case Op.BicsReg:
            case Op.AddReg: case Op.AddsReg: case Op.SubReg: case Op.SubsReg:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                i.A = (byte)F("shift"); i.B = (byte)F("imm6");
                break;
            case Op.AddExt: case Op.SubExt:
                i.Sf = (byte)F("sf"); i.Rd = (byte)F("Rd"); i.Rn = (byte)F("Rn"); i.Rm = ZrRead(F("Rm"));
                i.A = (byte)F("option"); i.B = (byte)F("imm3");
                break;
            case Op.AddsExt: case Op.SubsExt:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = (byte)F("Rn"); i.Rm = ZrRead(F("Rm"));
                i.A = (byte)F("option"); i.B = (byte)F("imm3");
                break;
            case Op.Adc: case Op.Adcs: case Op.Sbc: case Op.Sbcs:
            case Op.Udiv: case Op.Sdiv: case Op.Lslv: case Op.Lsrv: case Op.Asrv: case Op.Rorv:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                break;
            case Op.CcmnReg: case Op.CcmpReg:
                i.Sf = (byte)F("sf"); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                i.C = (byte)F("cond"); i.B = (byte)F("nzcv");
                break;
            case Op.CcmnImm: case Op.CcmpImm:
                i.Sf = (byte)F("sf"); i.Rn = ZrRead(F("Rn")); i.Imm = F("imm5");
                i.C = (byte)F("cond"); i.B = (byte)F("nzcv");
                break;
            case Op.Csel: case Op.Csinc: case Op.Csinv: case Op.Csneg:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                i.C = (byte)F("cond");
                break;
            case Op.Madd: case Op.Msub:
                i.Sf = (byte)F("sf");
                goto case Op.Smaddl;
            case Op.Smaddl: case Op.Smsubl: case Op.Smulh: case Op.Umaddl: case Op.Umsubl: case Op.Umulh:
                if (e.Op is not (Op.Madd or Op.Msub)) i.Sf = 1;
                i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm")); i.Ra = ZrRead(F("Ra"));
                break;
            case Op.Crc32: case Op.Crc32c:
                i.Sf = (byte)F("sf"); i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn")); i.Rm = ZrRead(F("Rm"));
                i.A = (byte)F("sz");
                break;
            case Op.Rbit: case Op.Rev16: case Op.Rev32: case Op.Rev: case Op.Clz: case Op.Cls:
                i.Sf = e.Has("sf") ? (byte)F("sf") : (byte)1;
                i.Rd = ZrWrite(F("Rd")); i.Rn = ZrRead(F("Rn"));
                break;
            case >= Op.FpFirst and < Op.SimdFirst:
                FpPredecoder.Predecode(ref i, e, word);
                break;
            case >= Op.SimdFirst and < Op.OpsEnd:
                SimdPredecoder.Predecode(ref i, e, word);
                break;
        }
        return i;
    }

    private static void SingleRegister(ref Inst i, Encoding e, uint word)
    {
        uint size = e.Get("size", word), opc = e.Get("opc", word);
        i.A = (byte)size;
        i.Rn = (byte)e.Get("Rn", word);
        uint rt = e.Get("Rt", word);
        i.B = opc switch { 0 => LoadKind.Store, 1 => LoadKind.Zero, 2 => LoadKind.Signed64, _ => LoadKind.Signed32 };
        i.Rd = i.B == LoadKind.Store ? ZrRead(rt) : ZrWrite(rt);
    }

    /// <summary>True when the instruction ends a block: it may branch, change exception level or context, or leave to the hypervisor.</summary>
    public static bool EndsBlock(in Inst i) => i.Op switch
    {
        Op.Hint => i.A is 2 or 3, // WFE, WFI
        Op.BCond or Op.B or Op.Bl or Op.Br or Op.Blr or Op.Ret or Op.Cbz or Op.Cbnz or Op.Tbz or Op.Tbnz => true,
        Op.Svc or Op.Hvc or Op.Smc or Op.Brk or Op.Hlt or Op.Dcps1 or Op.Dcps2 or Op.Dcps3 or Op.Eret or Op.Drps => true,
        Op.MsrImm or Op.MsrReg or Op.Sys or Op.Sysl or Op.Isb => true,
        Op.Undefined or Op.Udf or Op.Sve or Op.SimdFp or Op.SimdFpLoadStore => true,
        _ => false,
    };
}
