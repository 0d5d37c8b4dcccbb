using System.Numerics;
using Jit.Runtime;
using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>
/// Pre-decoding of the AdvSIMD rows (<see cref="A64TableSimd"/>). Every form ends up as: <c>A</c> the element
/// size (log2 bytes; the narrow size of long, wide and narrowing forms), <c>B</c> how many bytes of Vd the
/// result occupies (16 or 8 for vectors, the element for scalars; the rest of Vd is zeroed), <c>C</c> the
/// "2" (upper half) variant of long and narrowing forms, <c>Sf</c> 1 for scalar forms, <c>Imm</c> the shift,
/// index or immediate.
/// </summary>
public static class SimdPredecoder
{
    public static void Predecode(ref Inst i, Encoding e, uint word)
    {
        uint F(string name) => e.Get(name, word);
        bool scalar = (word >> 28 & 1) == 1;
        int q = e.Has("Q") ? (int)F("Q") : 0;
        int vbytes = q == 1 ? 16 : 8;
        i.Sf = (byte)(scalar ? 1 : 0);
        i.Rd = (byte)F("Rd");
        if (e.Has("Rn")) i.Rn = (byte)F("Rn");
        if (e.Has("Rm")) i.Rm = (byte)F("Rm");
        // Rows that fix size in the pattern (scalar D forms, PMUL, CNT) still hold it in bits [23:22], except
        // the logic forms and RBIT, whose bits there choose the operation and which work on bytes.
        int size = e.Has("size") ? (int)F("size")
            : e.Op is (>= Op.VAnd and <= Op.VBif) or Op.VNot or Op.VRbit ? 0 : (int)(word >> 22 & 3);
        // Floating-point rows have sz instead: S or D lanes.
        if (e.Has("sz")) size = 2 + (int)F("sz");
        i.A = (byte)size;
        i.B = (byte)(scalar ? 1 << size : vbytes);
        i.C = (byte)q;

        switch (e.Op)
        {
            // Long and wide: the destination has double-width elements and fills the register.
            case Op.VSaddl: case Op.VUaddl: case Op.VSsubl: case Op.VUsubl: case Op.VSaddw: case Op.VUaddw:
            case Op.VSsubw: case Op.VUsubw: case Op.VSabal: case Op.VUabal: case Op.VSabdl: case Op.VUabdl:
            case Op.VSmlal: case Op.VUmlal: case Op.VSmlsl: case Op.VUmlsl: case Op.VSmull: case Op.VUmull:
            case Op.VPmull: case Op.VSqdmlal: case Op.VSqdmlsl: case Op.VSqdmull:
            case Op.VShll:
                i.B = (byte)(scalar ? 2 << size : 16);
                i.Imm = (ulong)(8 << size);
                break;
            // Narrowing: 8 bytes of narrow elements, into the lower half or (C = 1) the upper half.
            case Op.VAddhn: case Op.VRaddhn: case Op.VSubhn: case Op.VRsubhn:
            case Op.VXtn: case Op.VSqxtn: case Op.VUqxtn: case Op.VSqxtun:
                i.B = (byte)(scalar ? 1 << size : 8);
                break;
            case Op.VSaddlp: case Op.VUaddlp: case Op.VSadalp: case Op.VUadalp:
                break;
            case Op.VAddv: case Op.VSaddlv: case Op.VUaddlv: case Op.VSmaxv: case Op.VUmaxv: case Op.VSminv: case Op.VUminv:
                i.B = (byte)vbytes;
                break;
            case Op.VAddp when scalar:
                i.A = 3;
                i.B = 8;
                break;

            case Op.VDupElement: case Op.VDupGeneral: case Op.VSmov: case Op.VUmov: case Op.VIns: case Op.VInsElement:
            {
                uint imm5 = F("imm5");
                size = BitOperations.TrailingZeroCount(imm5);
                i.A = (byte)size;
                i.Imm = imm5 >> (size + 1);
                i.B = (byte)(scalar ? 1 << size : vbytes);
                if (e.Op == Op.VInsElement) i.Imm2 = F("imm4") >> size;
                if (e.Op is Op.VDupGeneral or Op.VIns) i.Rn = F("Rn") == 31 ? (byte)CpuState.ZeroRegister : (byte)F("Rn");
                if (e.Op is Op.VSmov or Op.VUmov)
                {
                    i.Rd = F("Rd") == 31 ? (byte)CpuState.DiscardRegister : (byte)F("Rd");
                    i.Sf = (byte)q;
                }
                break;
            }

            case Op.VMovi: case Op.VOrrImm: case Op.VBicImm:
            {
                uint abc = (F("a") << 7) | (F("b") << 6) | (F("c") << 5), defgh = (F("d") << 4) | (F("e") << 3) | (F("f") << 2) | (F("g") << 1) | F("h");
                ulong imm = AdvSimdExpandImm(F("op"), F("cmode"), abc | defgh);
                // MVNI is MOVI of the inverted value; BIC clears the immediate's bits.
                if (e.Op == Op.VMovi && F("op") == 1 && F("cmode") < 14) imm = ~imm;
                if (e.Op == Op.VBicImm) imm = ~imm;
                i.Imm = imm;
                i.B = (byte)vbytes;
                break;
            }

            case Op.VFcvtl:
                i.A = (byte)(size - 1);
                i.B = 16;
                break;
            case Op.VFcvtn: case Op.VFcvtxn:
                i.A = (byte)(size - 1);
                i.B = (byte)(scalar ? 4 : 8);
                break;
            case Op.VFmlaElem: case Op.VFmlsElem: case Op.VFmulElem: case Op.VFmulxElem:
                i.Rm = (byte)((F("M") << 4) | F("Rm"));
                i.Imm = size == 2 ? (F("H") << 1) | F("L") : F("H");
                break;
            case Op.VScvtfFixed: case Op.VUcvtfFixed: case Op.VFcvtzsFixed: case Op.VFcvtzuFixed:
            {
                uint immhb = (F("immh") << 3) | F("immb");
                size = F("immh") >= 8 ? 3 : 2;
                i.A = (byte)size;
                i.Imm = (ulong)((16 << size) - immhb);
                i.B = (byte)(scalar ? 1 << size : vbytes);
                break;
            }
            case Op.VFmovImm:
            {
                uint imm8 = (F("a") << 7) | (F("b") << 6) | (F("c") << 5) | (F("d") << 4) | (F("e") << 3) | (F("f") << 2) | (F("g") << 1) | F("h");
                ulong single = FloatingPoint.FpCore.ExpandImm(imm8, 32);
                i.Imm = F("op") == 1 ? FloatingPoint.FpCore.ExpandImm(imm8, 64) : single | (single << 32);
                i.B = (byte)vbytes;
                break;
            }

            case Op.VExt: i.Imm = F("imm4"); break;
            case Op.VTbl: case Op.VTbx: i.C = (byte)(F("len") + 1); break;

            case Op.VSshr: case Op.VUshr: case Op.VSsra: case Op.VUsra: case Op.VSrshr: case Op.VUrshr:
            case Op.VSrsra: case Op.VUrsra: case Op.VSri:
            case Op.VShrn: case Op.VRshrn: case Op.VSqshrn: case Op.VUqshrn: case Op.VSqrshrn: case Op.VUqrshrn:
            case Op.VSqshrun: case Op.VSqrshrun:
            {
                // C6: shift = 2 * esize - UInt(immh:immb), esize the (narrow) element from immh's top bit.
                uint immhb = (F("immh") << 3) | F("immb");
                size = 3 - BitOperations.LeadingZeroCount(F("immh") << 28);
                i.A = (byte)size;
                i.Imm = (ulong)((16 << size) - immhb);
                bool narrow = e.Op is Op.VShrn or Op.VRshrn or Op.VSqshrn or Op.VUqshrn or Op.VSqrshrn or Op.VUqrshrn or Op.VSqshrun or Op.VSqrshrun;
                i.B = (byte)(scalar ? 1 << size : narrow ? 8 : vbytes);
                break;
            }
            case Op.VShl: case Op.VSli: case Op.VSqshlu: case Op.VSqshlImm: case Op.VUqshlImm: case Op.VSshll: case Op.VUshll:
            {
                uint immhb = (F("immh") << 3) | F("immb");
                size = 3 - BitOperations.LeadingZeroCount(F("immh") << 28);
                i.A = (byte)size;
                i.Imm = immhb - (8u << size);
                i.B = (byte)(scalar ? 1 << size : e.Op is Op.VSshll or Op.VUshll ? 16 : vbytes);
                break;
            }

            case Op.VMulElem: case Op.VMlaElem: case Op.VMlsElem: case Op.VSqdmulhElem: case Op.VSqrdmulhElem:
            case Op.VSmullElem: case Op.VUmullElem: case Op.VSmlalElem: case Op.VUmlalElem: case Op.VSmlslElem:
            case Op.VUmlslElem: case Op.VSqdmullElem: case Op.VSqdmlalElem: case Op.VSqdmlslElem:
            {
                // H and S elements: the index is H:L:M with Rm in V0-V15, or H:L with M extending Rm.
                uint h = F("H"), l = F("L"), m = F("M");
                if (size == 1) i.Imm = (h << 2) | (l << 1) | m;
                else { i.Imm = (h << 1) | l; i.Rm = (byte)((m << 4) | F("Rm")); }
                bool isLong = e.Op is Op.VSmullElem or Op.VUmullElem or Op.VSmlalElem or Op.VUmlalElem or Op.VSmlslElem
                    or Op.VUmlslElem or Op.VSqdmullElem or Op.VSqdmlalElem or Op.VSqdmlslElem;
                if (isLong) i.B = (byte)(scalar ? 2 << size : 16);
                break;
            }
        }
    }

    /// <summary>AdvSIMDExpandImm (C2.2.x pseudocode): the 64-bit value the op:cmode:imm8 of a modified immediate names.</summary>
    public static ulong AdvSimdExpandImm(uint op, uint cmode, uint imm8)
    {
        ulong b = imm8;
        static ulong Rep32(ulong v) => v | (v << 32);
        static ulong Rep16(ulong v) => Rep32(v | (v << 16));
        switch (cmode >> 1)
        {
            case 0: return Rep32(b);
            case 1: return Rep32(b << 8);
            case 2: return Rep32(b << 16);
            case 3: return Rep32(b << 24);
            case 4: return Rep16(b);
            case 5: return Rep16(b << 8);
            case 6: return (cmode & 1) == 0 ? Rep32((b << 8) | 0xFF) : Rep32((b << 16) | 0xFFFF);
            default:
                if ((cmode & 1) == 0 && op == 0) return b * 0x0101_0101_0101_0101UL;
                if ((cmode & 1) == 0)
                {
                    ulong r = 0;
                    for (int k = 0; k < 8; k++) if ((imm8 >> k & 1) != 0) r |= 0xFFUL << (8 * k);
                    return r;
                }
                return 0;
        }
    }
}
