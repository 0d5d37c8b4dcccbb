using System.Numerics;
using Jit.Translator.Decoder;
using static Jit.Translator.Interpreter.SimdLanes;

namespace Jit.Translator.Interpreter;

/// <summary>
/// The AdvSIMD forms computed lane by lane with the Arm ARM's exact integer arithmetic (C7 pseudocode):
/// halving, absolute-difference, saturating, rounding, long, wide, narrowing, pairwise-long, across-lanes and
/// by-element forms.
/// </summary>
public sealed unsafe partial class BlockInterpreter
{
    private bool Lanes(in Inst I, ref bool qc)
    {
        ulong* n = VReg(I.Rn), m = VReg(I.Rm), d = VReg(I.Rd);
        Vec r = default;
        ulong* p = &r.Lo;
        int size = I.A, bits = 8 << size;
        int shift = (int)I.Imm;
        switch (I.Op)
        {
            case Op.VShadd: case Op.VUhadd: case Op.VSrhadd: case Op.VUrhadd: case Op.VShsub: case Op.VUhsub:
            case Op.VSqadd: case Op.VUqadd: case Op.VSqsub: case Op.VUqsub:
            case Op.VSshl: case Op.VUshl: case Op.VSrshl: case Op.VUrshl: case Op.VSqshl: case Op.VUqshl:
            case Op.VSqrshl: case Op.VUqrshl: case Op.VSabd: case Op.VUabd: case Op.VSaba: case Op.VUaba:
            case Op.VPmul: case Op.VSqdmulh: case Op.VSqrdmulh:
            {
                int count = I.B >> size;
                for (int k = 0; k < count; k++)
                    Set(p, size, k, Same(I.Op, Get(n, size, k), Get(m, size, k), Get(d, size, k), bits, ref qc));
                break;
            }
            case Op.VSqdmulhElem: case Op.VSqrdmulhElem: case Op.VMulElem: case Op.VMlaElem: case Op.VMlsElem:
            {
                int count = I.B >> size;
                ulong b = Get(m, size, shift);
                Op op = I.Op switch
                {
                    Op.VSqdmulhElem => Op.VSqdmulh, Op.VSqrdmulhElem => Op.VSqrdmulh, Op.VMulElem => Op.VMul,
                    Op.VMlaElem => Op.VMla, _ => Op.VMls,
                };
                for (int k = 0; k < count; k++)
                    Set(p, size, k, Same(op, Get(n, size, k), b, Get(d, size, k), bits, ref qc));
                break;
            }

            case Op.VClz: case Op.VCls: case Op.VRbit: case Op.VAbs: case Op.VSqabs: case Op.VSqneg:
            case Op.VSuqadd: case Op.VUsqadd:
            {
                int count = I.B >> size;
                for (int k = 0; k < count; k++)
                    Set(p, size, k, Unary(I.Op, Get(n, size, k), Get(d, size, k), bits, ref qc));
                break;
            }
            case Op.VSaddlp: case Op.VUaddlp: case Op.VSadalp: case Op.VUadalp:
            {
                int count = I.B >> (size + 1);
                bool signed = I.Op is Op.VSaddlp or Op.VSadalp;
                for (int k = 0; k < count; k++)
                {
                    ulong a = Get(n, size, 2 * k), b = Get(n, size, 2 * k + 1);
                    ulong sum = signed ? (ulong)(Sx(a, bits) + Sx(b, bits)) : a + b;
                    if (I.Op is Op.VSadalp or Op.VUadalp) sum += Get(d, size + 1, k);
                    Set(p, size + 1, k, sum);
                }
                break;
            }

            case Op.VAddv: case Op.VSaddlv: case Op.VUaddlv: case Op.VSmaxv: case Op.VUmaxv: case Op.VSminv: case Op.VUminv:
            {
                int count = I.B >> size;
                ulong acc = I.Op is Op.VSmaxv or Op.VUmaxv or Op.VSminv or Op.VUminv ? Get(n, size, 0) : 0;
                for (int k = 0; k < count; k++)
                {
                    ulong a = Get(n, size, k);
                    acc = I.Op switch
                    {
                        Op.VSaddlv => acc + (ulong)Sx(a, bits),
                        Op.VSmaxv => Sx(a, bits) > Sx(acc, bits) ? a : acc,
                        Op.VSminv => Sx(a, bits) < Sx(acc, bits) ? a : acc,
                        Op.VUmaxv => Math.Max(a, acc),
                        Op.VUminv => Math.Min(a, acc),
                        _ => acc + a,
                    };
                }
                VWrite(I.Rd, acc, 0, I.Op is Op.VSaddlv or Op.VUaddlv ? 2 << size : 1 << size);
                return true;
            }

            case Op.VSshr: case Op.VUshr: case Op.VSsra: case Op.VUsra: case Op.VSrshr: case Op.VUrshr:
            case Op.VSrsra: case Op.VUrsra: case Op.VSri: case Op.VSli: case Op.VSqshlImm: case Op.VUqshlImm: case Op.VSqshlu:
            {
                int count = I.B >> size;
                for (int k = 0; k < count; k++)
                    Set(p, size, k, ShiftImmediate(I.Op, Get(n, size, k), Get(d, size, k), shift, bits, ref qc));
                break;
            }

            case Op.VShrn: case Op.VRshrn: case Op.VSqshrn: case Op.VUqshrn: case Op.VSqrshrn: case Op.VUqrshrn:
            case Op.VSqshrun: case Op.VSqrshrun: case Op.VSqxtn: case Op.VUqxtn: case Op.VSqxtun:
            case Op.VAddhn: case Op.VRaddhn: case Op.VSubhn: case Op.VRsubhn:
            {
                int count = I.B >> size;
                ulong lo = 0;
                for (int k = 0; k < count; k++)
                {
                    ulong a = Get(n, size + 1, k);
                    ulong x = I.Op switch
                    {
                        Op.VAddhn => (a + Get(m, size + 1, k)) >> bits,
                        Op.VSubhn => (a - Get(m, size + 1, k)) >> bits,
                        // Only bits [2 × esize − 1 : esize] of the sum are kept, so 64-bit wrap-around is harmless.
                        Op.VRaddhn => (a + Get(m, size + 1, k) + (1UL << (bits - 1))) >> bits,
                        Op.VRsubhn => (a - Get(m, size + 1, k) + (1UL << (bits - 1))) >> bits,
                        _ => NarrowShift(I.Op, a, shift, bits, ref qc),
                    };
                    lo |= (x & Ones(bits)) << (k * bits);
                }
                VWriteNarrow(in I, lo);
                return true;
            }

            case Op.VShll: case Op.VSshll: case Op.VUshll:
            case Op.VSaddl: case Op.VUaddl: case Op.VSsubl: case Op.VUsubl: case Op.VSaddw: case Op.VUaddw:
            case Op.VSsubw: case Op.VUsubw: case Op.VSabal: case Op.VUabal: case Op.VSabdl: case Op.VUabdl:
            case Op.VSmlal: case Op.VUmlal: case Op.VSmlsl: case Op.VUmlsl: case Op.VSmull: case Op.VUmull:
            case Op.VPmull: case Op.VSqdmlal: case Op.VSqdmlsl: case Op.VSqdmull:
            case Op.VSmullElem: case Op.VUmullElem: case Op.VSmlalElem: case Op.VUmlalElem: case Op.VSmlslElem:
            case Op.VUmlslElem: case Op.VSqdmullElem: case Op.VSqdmlalElem: case Op.VSqdmlslElem:
            {
                int count = I.B >> (size + 1);
                int part = I.C == 1 && I.Sf == 0 ? count : 0;
                bool wide = I.Op is Op.VSaddw or Op.VUaddw or Op.VSsubw or Op.VUsubw;
                Op op = I.Op switch
                {
                    Op.VSmullElem => Op.VSmull, Op.VUmullElem => Op.VUmull, Op.VSmlalElem => Op.VSmlal,
                    Op.VUmlalElem => Op.VUmlal, Op.VSmlslElem => Op.VSmlsl, Op.VUmlslElem => Op.VUmlsl,
                    Op.VSqdmullElem => Op.VSqdmull, Op.VSqdmlalElem => Op.VSqdmlal, Op.VSqdmlslElem => Op.VSqdmlsl,
                    _ => I.Op,
                };
                bool byElement = op != I.Op;
                for (int k = 0; k < count; k++)
                {
                    ulong a = wide ? Get(n, size + 1, k) : Get(n, size, part + k);
                    ulong b = byElement ? Get(m, size, shift) : Get(m, size, part + k);
                    Set(p, size + 1, k, Long(op, a, b, Get(d, size + 1, k), shift, bits, ref qc));
                }
                break;
            }

            default:
                return false;
        }
        VWrite(I.Rd, in r, I.B);
        return true;
    }

    /// <summary>One lane of the three-same forms; <paramref name="acc"/> is Vd's lane for the accumulating ones.</summary>
    private static ulong Same(Op op, ulong a, ulong b, ulong acc, int bits, ref bool qc)
    {
        long sa = Sx(a, bits), sb = Sx(b, bits);
        switch (op)
        {
            case Op.VShadd: return (ulong)(((Int128)sa + sb) >> 1);
            case Op.VUhadd: return (ulong)(((UInt128)a + b) >> 1);
            case Op.VSrhadd: return (ulong)(((Int128)sa + sb + 1) >> 1);
            case Op.VUrhadd: return (ulong)(((UInt128)a + b + 1) >> 1);
            case Op.VShsub: return (ulong)(((Int128)sa - sb) >> 1);
            case Op.VUhsub: return (ulong)(((Int128)a - b) >> 1);
            case Op.VSqadd: return SatS((Int128)sa + sb, bits, ref qc);
            case Op.VUqadd: return SatU((Int128)a + b, bits, ref qc);
            case Op.VSqsub: return SatS((Int128)sa - sb, bits, ref qc);
            case Op.VUqsub: return SatU((Int128)a - b, bits, ref qc);
            case Op.VSshl: return ShiftByRegister(a, b, bits, false, false, false, ref qc);
            case Op.VUshl: return ShiftByRegister(a, b, bits, true, false, false, ref qc);
            case Op.VSrshl: return ShiftByRegister(a, b, bits, false, true, false, ref qc);
            case Op.VUrshl: return ShiftByRegister(a, b, bits, true, true, false, ref qc);
            case Op.VSqshl: return ShiftByRegister(a, b, bits, false, false, true, ref qc);
            case Op.VUqshl: return ShiftByRegister(a, b, bits, true, false, true, ref qc);
            case Op.VSqrshl: return ShiftByRegister(a, b, bits, false, true, true, ref qc);
            case Op.VUqrshl: return ShiftByRegister(a, b, bits, true, true, true, ref qc);
            case Op.VSabd: return (ulong)Int128.Abs((Int128)sa - sb);
            case Op.VUabd: return a > b ? a - b : b - a;
            case Op.VSaba: return acc + (ulong)Int128.Abs((Int128)sa - sb);
            case Op.VUaba: return acc + (a > b ? a - b : b - a);
            case Op.VMul: return a * b;
            case Op.VMla: return acc + a * b;
            case Op.VMls: return acc - a * b;
            case Op.VPmul: return PolyMul(a, b, 8);
            case Op.VSqdmulh: return SatS((Int128)2 * sa * sb >> bits, bits, ref qc);
            default: return SatS(((Int128)2 * sa * sb + ((Int128)1 << (bits - 1))) >> bits, bits, ref qc);
        }
    }

    private static ulong Unary(Op op, ulong a, ulong acc, int bits, ref bool qc)
    {
        long sa = Sx(a, bits);
        switch (op)
        {
            case Op.VClz: return CountLeadingZeros(a, bits);
            case Op.VCls: return CountLeadingSignBits(a, bits);
            case Op.VRbit: return ReverseBits8(a);
            case Op.VAbs: return sa < 0 ? 0 - a : a;
            case Op.VSqabs: return SatS(Int128.Abs(sa), bits, ref qc);
            case Op.VSqneg: return SatS(-(Int128)sa, bits, ref qc);
            // SUQADD adds the unsigned Vn to the signed Vd; USQADD the signed Vn to the unsigned Vd.
            case Op.VSuqadd: return SatS((Int128)Sx(acc, bits) + a, bits, ref qc);
            default: return SatU((Int128)acc + sa, bits, ref qc);
        }
    }

    private static ulong ShiftImmediate(Op op, ulong a, ulong acc, int shift, int bits, ref bool qc)
    {
        long sa = Sx(a, bits);
        switch (op)
        {
            case Op.VSshr: return (ulong)(sa >> Math.Min(shift, 63));
            case Op.VUshr: return shift >= 64 ? 0 : a >> shift;
            case Op.VSsra: return acc + (ulong)(sa >> Math.Min(shift, 63));
            case Op.VUsra: return acc + (shift >= 64 ? 0 : a >> shift);
            case Op.VSrshr: return (ulong)RoundShift(sa, shift);
            case Op.VUrshr: return (ulong)RoundShift(a, shift);
            case Op.VSrsra: return acc + (ulong)RoundShift(sa, shift);
            case Op.VUrsra: return acc + (ulong)RoundShift(a, shift);
            case Op.VSri:
            {
                // Vd keeps the top <shift> bits of each lane.
                if (shift >= bits) return acc;
                ulong mask = Ones(bits) >> shift;
                return (acc & ~mask) | (a >> shift);
            }
            case Op.VSli: return (acc & Ones(shift)) | (a << shift);
            case Op.VSqshlImm: return SatS((Int128)sa << shift, bits, ref qc);
            case Op.VUqshlImm: return SatU((Int128)a << shift, bits, ref qc);
            default: return SatU((Int128)sa << shift, bits, ref qc); // SQSHLU
        }
    }

    /// <summary>A narrowing shift or extract: <paramref name="a"/> has 2 × <paramref name="bits"/> bits.</summary>
    private static ulong NarrowShift(Op op, ulong a, int shift, int bits, ref bool qc)
    {
        long sa = Sx(a, 2 * bits);
        return op switch
        {
            Op.VShrn => a >> shift,
            Op.VRshrn => (ulong)RoundShift(a, shift),
            Op.VSqshrn => SatS((Int128)sa >> shift, bits, ref qc),
            Op.VSqrshrn => SatS(RoundShift(sa, shift), bits, ref qc),
            Op.VUqshrn => SatU((Int128)a >> shift, bits, ref qc),
            Op.VUqrshrn => SatU(RoundShift(a, shift), bits, ref qc),
            Op.VSqshrun => SatU((Int128)sa >> shift, bits, ref qc),
            Op.VSqrshrun => SatU(RoundShift(sa, shift), bits, ref qc),
            Op.VSqxtn => SatS(sa, bits, ref qc),
            Op.VUqxtn => SatU(a, bits, ref qc),
            _ => SatU(sa, bits, ref qc), // SQXTUN
        };
    }

    /// <summary>One lane of the long and wide forms: <paramref name="bits"/> is the narrow element size.</summary>
    private static ulong Long(Op op, ulong a, ulong b, ulong acc, int shift, int bits, ref bool qc)
    {
        long sa = Sx(a, bits), sb = Sx(b, bits);
        int wide = 2 * bits;
        switch (op)
        {
            case Op.VShll: case Op.VSshll: return (ulong)sa << shift;
            case Op.VUshll: return a << shift;
            case Op.VSaddl: return (ulong)(sa + sb);
            case Op.VUaddl: return a + b;
            case Op.VSsubl: return (ulong)(sa - sb);
            case Op.VUsubl: return a - b;
            case Op.VSaddw: return a + (ulong)sb;
            case Op.VUaddw: return a + b;
            case Op.VSsubw: return a - (ulong)sb;
            case Op.VUsubw: return a - b;
            case Op.VSabal: return acc + (ulong)Math.Abs(sa - sb);
            case Op.VUabal: return acc + (a > b ? a - b : b - a);
            case Op.VSabdl: return (ulong)Math.Abs(sa - sb);
            case Op.VUabdl: return a > b ? a - b : b - a;
            case Op.VSmlal: return acc + (ulong)(sa * sb);
            case Op.VUmlal: return acc + a * b;
            case Op.VSmlsl: return acc - (ulong)(sa * sb);
            case Op.VUmlsl: return acc - a * b;
            case Op.VSmull: return (ulong)(sa * sb);
            case Op.VUmull: return a * b;
            case Op.VPmull: return PolyMul(a, b, bits);
            case Op.VSqdmull: return SatS((Int128)2 * sa * sb, wide, ref qc);
            case Op.VSqdmlal:
            {
                long product = (long)SatS((Int128)2 * sa * sb, wide, ref qc);
                return SatS((Int128)Sx(acc, wide) + Sx((ulong)product, wide), wide, ref qc);
            }
            default:
            {
                long product = (long)SatS((Int128)2 * sa * sb, wide, ref qc);
                return SatS((Int128)Sx(acc, wide) - Sx((ulong)product, wide), wide, ref qc);
            }
        }
    }
}
