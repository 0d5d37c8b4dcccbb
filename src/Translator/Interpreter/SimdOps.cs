using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Jit.Translator.Decoder;
using static Jit.Translator.Interpreter.SimdLanes;

namespace Jit.Translator.Interpreter;

/// <summary>
/// AdvSIMD vector and scalar instructions. Whole-register forms run on Vector128; the others go lane by lane
/// through the pseudocode's exact integer arithmetic. Results are built in a <see cref="Vec"/> and written
/// last, because Vd may also be a source.
/// </summary>
public sealed unsafe partial class BlockInterpreter
{
    private const ulong FpsrQc = 1UL << 27;

    private ulong* VReg(int n) => s->V + 2 * n;

    private Vector128<byte> VLoad(int n) => Vector128.Load((byte*)(s->V + 2 * n));

    /// <summary>Writes the low <paramref name="bytes"/> of the result to Vd and zeroes the rest of it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void VWrite(int d, ulong lo, ulong hi, int bytes)
    {
        ulong* p = s->V + 2 * d;
        if (bytes == 16) { p[0] = lo; p[1] = hi; return; }
        p[0] = bytes == 8 ? lo : lo & Ones(bytes * 8);
        p[1] = 0;
    }

    private void VWrite(int d, Vector128<byte> x, int bytes) => VWrite(d, x.AsUInt64().GetElement(0), x.AsUInt64().GetElement(1), bytes);

    private void VWrite(int d, in Vec r, int bytes) => VWrite(d, r.Lo, r.Hi, bytes);

    /// <summary>A narrowing result (8 bytes, or one element for scalars) goes to the lower half, or with C = 1 the upper half.</summary>
    private void VWriteNarrow(in Inst I, ulong lo)
    {
        ulong* p = VReg(I.Rd);
        if (I.C == 1 && I.Sf == 0) p[1] = lo;
        else VWrite(I.Rd, lo, 0, I.B);
    }

    private int Simd(in Inst I, ulong pc) => SimdCompute(in I) ? -1 : Undefined(in I);

    /// <summary>
    /// Runs an AdvSIMD data-processing instruction: false, with nothing changed, for an opcode no case
    /// implements. None of these reads or writes a general-purpose register but DUP, INS (general), UMOV and
    /// SMOV, and none faults (see <see cref="ExecuteVector"/>).
    /// </summary>
    private bool SimdCompute(in Inst I)
    {
        bool qc = false;
        switch (I.Op)
        {
            case >= Op.VAnd and <= Op.VBif: Logic(in I); break;
            case >= Op.VFadd and <= Op.VFmovImm: SimdFloat(in I); break;
            case Op.VAdd: VWrite(I.Rd, Unsigned<AddOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VSub: VWrite(I.Rd, Unsigned<SubOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VMul: VWrite(I.Rd, Unsigned<MulOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VMla: VWrite(I.Rd, Unsigned<AddOp>(I.A, VLoad(I.Rd), Unsigned<MulOp>(I.A, VLoad(I.Rn), VLoad(I.Rm))), I.B); break;
            case Op.VMls: VWrite(I.Rd, Unsigned<SubOp>(I.A, VLoad(I.Rd), Unsigned<MulOp>(I.A, VLoad(I.Rn), VLoad(I.Rm))), I.B); break;
            case Op.VCmeq: VWrite(I.Rd, Unsigned<EqOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmtst: VWrite(I.Rd, Unsigned<TstOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmgt: VWrite(I.Rd, Signed<GtOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmge: VWrite(I.Rd, Signed<GeOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmhi: VWrite(I.Rd, Unsigned<GtOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmhs: VWrite(I.Rd, Unsigned<GeOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VSmax: VWrite(I.Rd, Signed<MaxOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VUmax: VWrite(I.Rd, Unsigned<MaxOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VSmin: VWrite(I.Rd, Signed<MinOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VUmin: VWrite(I.Rd, Unsigned<MinOp>(I.A, VLoad(I.Rn), VLoad(I.Rm)), I.B); break;
            case Op.VCmeqZ: VWrite(I.Rd, Unsigned<EqOp>(I.A, VLoad(I.Rn), Vector128<byte>.Zero), I.B); break;
            case Op.VCmgtZ: VWrite(I.Rd, Signed<GtOp>(I.A, VLoad(I.Rn), Vector128<byte>.Zero), I.B); break;
            case Op.VCmgeZ: VWrite(I.Rd, Signed<GeOp>(I.A, VLoad(I.Rn), Vector128<byte>.Zero), I.B); break;
            case Op.VCmleZ: VWrite(I.Rd, Signed<GeOp>(I.A, Vector128<byte>.Zero, VLoad(I.Rn)), I.B); break;
            case Op.VCmltZ: VWrite(I.Rd, Signed<GtOp>(I.A, Vector128<byte>.Zero, VLoad(I.Rn)), I.B); break;
            case Op.VNeg: VWrite(I.Rd, Unsigned<SubOp>(I.A, Vector128<byte>.Zero, VLoad(I.Rn)), I.B); break;
            case Op.VNot: VWrite(I.Rd, ~VLoad(I.Rn), I.B); break;
            case Op.VCnt:
            {
                ulong* n = VReg(I.Rn);
                VWrite(I.Rd, BytePopCount(n[0]), BytePopCount(n[1]), I.B);
                break;
            }

            case Op.VSmaxp: case Op.VUmaxp: case Op.VSminp: case Op.VUminp:
            case Op.VAddp when I.Sf == 0:
            {
                var (even, odd) = Deinterleave(in I);
                Vector128<byte> r = I.Op switch
                {
                    Op.VAddp => Unsigned<AddOp>(I.A, even, odd),
                    Op.VUmaxp => Unsigned<MaxOp>(I.A, even, odd),
                    Op.VUminp => Unsigned<MinOp>(I.A, even, odd),
                    Op.VSmaxp => Signed<MaxOp>(I.A, even, odd),
                    _ => Signed<MinOp>(I.A, even, odd),
                };
                VWrite(I.Rd, r, I.B);
                break;
            }
            case Op.VAddp:
            {
                ulong* n = VReg(I.Rn);
                VWrite(I.Rd, n[0] + n[1], 0, 8);
                break;
            }

            case Op.VMovi: VWrite(I.Rd, I.Imm, I.Imm, I.B); break;
            case Op.VOrrImm: { ulong* d = VReg(I.Rd); VWrite(I.Rd, d[0] | I.Imm, d[1] | I.Imm, I.B); break; }
            case Op.VBicImm: { ulong* d = VReg(I.Rd); VWrite(I.Rd, d[0] & I.Imm, d[1] & I.Imm, I.B); break; }
            case Op.VDupGeneral:
            {
                ulong x = s->X[I.Rn] & Ones(8 << I.A);
                ulong r = I.A switch { 0 => x * 0x0101_0101_0101_0101UL, 1 => x * 0x0001_0001_0001_0001UL, 2 => x | (x << 32), _ => x };
                VWrite(I.Rd, r, r, I.B);
                break;
            }
            case Op.VDupElement:
            {
                ulong x = Get(VReg(I.Rn), I.A, (int)I.Imm);
                ulong r = I.A switch { 0 => x * 0x0101_0101_0101_0101UL, 1 => x * 0x0001_0001_0001_0001UL, 2 => x | (x << 32), _ => x };
                VWrite(I.Rd, r, r, I.B);
                break;
            }
            case Op.VIns: Set(VReg(I.Rd), I.A, (int)I.Imm, s->X[I.Rn]); break;
            case Op.VInsElement: Set(VReg(I.Rd), I.A, (int)I.Imm, Get(VReg(I.Rn), I.A, (int)I.Imm2)); break;
            case Op.VUmov: s->X[I.Rd] = Get(VReg(I.Rn), I.A, (int)I.Imm); break;
            case Op.VSmov:
            {
                long x = GetS(VReg(I.Rn), I.A, (int)I.Imm);
                s->X[I.Rd] = I.Sf != 0 ? (ulong)x : (uint)x;
                break;
            }

            case Op.VExt:
            {
                // Bytes imm4 onwards of Vm:Vn; out-of-range shuffle indices give zero, so two shuffles OR together.
                Vector128<byte> at = Iota + Vector128.Create((byte)I.Imm);
                Vector128<byte> r = I.B == 16
                    ? Vector128.Shuffle(VLoad(I.Rn), at) | Vector128.Shuffle(VLoad(I.Rm), at - Vector128.Create((byte)16))
                    : Vector128.Shuffle(Vector128.Create(VReg(I.Rn)[0], VReg(I.Rm)[0]).AsByte(), at);
                VWrite(I.Rd, r, I.B);
                break;
            }
            case Op.VTbl: case Op.VTbx:
            {
                // Each table register answers the indices in its 16-byte window; the others shuffle to zero.
                Vector128<byte> idx = VLoad(I.Rm), r = Vector128<byte>.Zero;
                for (int k = 0; k < I.C; k++)
                    r |= Vector128.Shuffle(VLoad((I.Rn + k) % 32), idx - Vector128.Create((byte)(16 * k)));
                if (I.Op == Op.VTbx)
                    r = Vector128.ConditionalSelect(Vector128.LessThan(idx, Vector128.Create((byte)(16 * I.C))), r, VLoad(I.Rd));
                VWrite(I.Rd, r, I.B);
                break;
            }
            case Op.VUzp1: case Op.VUzp2:
            {
                var (even, odd) = Deinterleave(in I);
                VWrite(I.Rd, I.Op == Op.VUzp1 ? even : odd, I.B);
                break;
            }
            case Op.VRev64: case Op.VRev32: case Op.VRev16:
            {
                // Reversing the elements of a container is an XOR of the byte index.
                int container = I.Op == Op.VRev64 ? 8 : I.Op == Op.VRev32 ? 4 : 2;
                var at = Iota ^ Vector128.Create((byte)((container - 1) & ~((1 << I.A) - 1)));
                VWrite(I.Rd, Vector128.Shuffle(VLoad(I.Rn), at), I.B);
                break;
            }
            case Op.VShrn when I.Sf == 0: case Op.VXtn:
            {
                Vector128<byte> n = VLoad(I.Rn);
                int shift = I.Op == Op.VShrn ? (int)I.Imm : 0;
                Vector128<byte> r = I.A switch
                {
                    0 => Vector128.Narrow(Vector128.ShiftRightLogical(n.AsUInt16(), shift), Vector128<ushort>.Zero),
                    1 => Vector128.Narrow(Vector128.ShiftRightLogical(n.AsUInt32(), shift), Vector128<uint>.Zero).AsByte(),
                    _ => Vector128.Narrow(Vector128.ShiftRightLogical(n.AsUInt64(), shift), Vector128<ulong>.Zero).AsByte(),
                };
                VWriteNarrow(in I, r.AsUInt64().ToScalar());
                break;
            }
            case Op.VSshll: case Op.VUshll:
            {
                // SXTL/UXTL and their shifted forms: widen the lower (or, for the "2" forms, upper) half.
                Vector128<byte> n = VLoad(I.Rn);
                bool upper = I.C == 1;
                int shift = (int)I.Imm;
                Vector128<byte> r = (I.A, I.Op == Op.VSshll) switch
                {
                    (0, true) => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n.AsSByte()) : Vector128.WidenLower(n.AsSByte()), shift).AsByte(),
                    (0, false) => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n) : Vector128.WidenLower(n), shift).AsByte(),
                    (1, true) => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n.AsInt16()) : Vector128.WidenLower(n.AsInt16()), shift).AsByte(),
                    (1, false) => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n.AsUInt16()) : Vector128.WidenLower(n.AsUInt16()), shift).AsByte(),
                    (_, true) => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n.AsInt32()) : Vector128.WidenLower(n.AsInt32()), shift).AsByte(),
                    _ => Vector128.ShiftLeft(upper ? Vector128.WidenUpper(n.AsUInt32()) : Vector128.WidenLower(n.AsUInt32()), shift).AsByte(),
                };
                VWrite(I.Rd, r, 16);
                break;
            }
            case Op.VAddv when I.A < 3:
            {
                Vector128<byte> n = VLoad(I.Rn);
                if (I.B == 8) n = n.AsUInt64().WithElement(1, 0UL).AsByte();
                ulong sum = I.A switch
                {
                    0 => Vector128.Sum(n),
                    1 => Vector128.Sum(n.AsUInt16()),
                    _ => Vector128.Sum(n.AsUInt32()),
                };
                VWrite(I.Rd, sum, 0, 1 << I.A);
                break;
            }
            case >= Op.VZip1 and <= Op.VTrn2: Permute(in I); break;

            case Op.VShl:
                VWrite(I.Rd, I.A switch
                {
                    0 => Vector128.ShiftLeft(VLoad(I.Rn), (int)I.Imm),
                    1 => Vector128.ShiftLeft(VLoad(I.Rn).AsUInt16(), (int)I.Imm).AsByte(),
                    2 => Vector128.ShiftLeft(VLoad(I.Rn).AsUInt32(), (int)I.Imm).AsByte(),
                    _ => Vector128.ShiftLeft(VLoad(I.Rn).AsUInt64(), (int)I.Imm).AsByte(),
                }, I.B);
                break;
            case Op.VUshr when I.Imm < (8u << I.A):
                VWrite(I.Rd, I.A switch
                {
                    0 => Vector128.ShiftRightLogical(VLoad(I.Rn), (int)I.Imm),
                    1 => Vector128.ShiftRightLogical(VLoad(I.Rn).AsUInt16(), (int)I.Imm).AsByte(),
                    2 => Vector128.ShiftRightLogical(VLoad(I.Rn).AsUInt32(), (int)I.Imm).AsByte(),
                    _ => Vector128.ShiftRightLogical(VLoad(I.Rn).AsUInt64(), (int)I.Imm).AsByte(),
                }, I.B);
                break;

            default:
                if (!Lanes(in I, ref qc)) return false;
                break;
        }
        if (qc) s->Fpsr |= FpsrQc;
        return true;
    }

    private static ulong BytePopCount(ulong x)
    {
        x -= (x >> 1) & 0x5555_5555_5555_5555UL;
        x = (x & 0x3333_3333_3333_3333UL) + ((x >> 2) & 0x3333_3333_3333_3333UL);
        return (x + (x >> 4)) & 0x0F0F_0F0F_0F0F_0F0FUL;
    }

    private void Logic(in Inst I)
    {
        Vector128<byte> n = VLoad(I.Rn), m = VLoad(I.Rm), d = VLoad(I.Rd);
        Vector128<byte> r = I.Op switch
        {
            Op.VAnd => n & m,
            Op.VBic => Vector128.AndNot(n, m),
            Op.VOrr => n | m,
            Op.VOrn => n | ~m,
            Op.VEor => n ^ m,
            // BSL selects by Vd, BIT inserts Vn where Vm is set, BIF where it is clear.
            Op.VBsl => Vector128.ConditionalSelect(d, n, m),
            Op.VBit => Vector128.ConditionalSelect(m, n, d),
            _ => Vector128.ConditionalSelect(m, d, n),
        };
        VWrite(I.Rd, r, I.B);
    }

    private static readonly Vector128<byte> Iota = Vector128.Create((byte)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    /// <summary>
    /// The even and the odd elements of Vn:Vm (Vn's first), as UZP1 and UZP2 give them and the pairwise forms
    /// combine them. Narrowing keeps the low half of each double-width lane, which is the even element.
    /// </summary>
    private (Vector128<byte> Even, Vector128<byte> Odd) Deinterleave(in Inst I)
    {
        Vector128<byte> x, y;
        if (I.B == 16) { x = VLoad(I.Rn); y = VLoad(I.Rm); }
        else { x = Vector128.Create(VReg(I.Rn)[0], VReg(I.Rm)[0]).AsByte(); y = Vector128<byte>.Zero; }
        switch (I.A)
        {
            case 0:
                return (Vector128.Narrow(x.AsUInt16(), y.AsUInt16()),
                        Vector128.Narrow(x.AsUInt16() >> 8, y.AsUInt16() >> 8));
            case 1:
                return (Vector128.Narrow(x.AsUInt32(), y.AsUInt32()).AsByte(),
                        Vector128.Narrow(x.AsUInt32() >> 16, y.AsUInt32() >> 16).AsByte());
            case 2:
                return (Vector128.Narrow(x.AsUInt64(), y.AsUInt64()).AsByte(),
                        Vector128.Narrow(x.AsUInt64() >> 32, y.AsUInt64() >> 32).AsByte());
            default:
                return (Vector128.Create(x.AsUInt64().GetElement(0), y.AsUInt64().GetElement(0)).AsByte(),
                        Vector128.Create(x.AsUInt64().GetElement(1), y.AsUInt64().GetElement(1)).AsByte());
        }
    }

    private void Permute(in Inst I)
    {
        ulong* n = VReg(I.Rn), m = VReg(I.Rm);
        Vec r = default;
        int count = I.B >> I.A, half = count / 2;
        for (int k = 0; k < count; k++)
        {
            ulong x;
            switch (I.Op)
            {
                case Op.VZip1: case Op.VZip2:
                {
                    int j = k / 2 + (I.Op == Op.VZip2 ? half : 0);
                    x = Get((k & 1) == 0 ? n : m, I.A, j);
                    break;
                }
                default:
                {
                    int j = (k & ~1) + (I.Op == Op.VTrn2 ? 1 : 0);
                    x = Get((k & 1) == 0 ? n : m, I.A, j);
                    break;
                }
            }
            Set(&r.Lo, I.A, k, x);
        }
        VWrite(I.Rd, in r, I.B);
    }
}
