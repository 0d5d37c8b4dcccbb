using System.Runtime.CompilerServices;
using Jit.Runtime;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter.FloatingPoint;

namespace Jit.Translator.Interpreter;

/// <summary>Scalar floating point and the SIMD&amp;FP loads and stores.</summary>
public sealed unsafe partial class BlockInterpreter
{
    private int Fp(in Inst I, ulong pc)
    {
        ulong* x = s->X;
        ulong* v = s->V;
        ulong fpcr = s->Fpcr;
        int n = I.A;
        switch (I.Op)
        {
            // ---- Loads and stores ----
            case Op.LdrLitFp:
                return FpLoadStore(in I, pc + I.Imm) ? -1 : Faulted;
            case Op.LdStFpUimm: case Op.LdStFpUnscaled:
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                return FpLoadStore(in I, x[I.Rn] + I.Imm) ? -1 : Faulted;
            case Op.LdStFpReg:
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                return FpLoadStore(in I, x[I.Rn] + Alu.ExtendReg(x[I.Rm], I.C, (int)I.Imm)) ? -1 : Faulted;
            case Op.LdStFpPre: case Op.LdStFpPost:
            {
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                ulong ea = I.Op == Op.LdStFpPre ? x[I.Rn] + I.Imm : x[I.Rn];
                if (!FpLoadStore(in I, ea)) return Faulted;
                x[I.Rn] = I.Op == Op.LdStFpPre ? ea : ea + I.Imm;
                return -1;
            }
            case Op.LdStnpFp: case Op.LdStpFpOff:
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                return FpLoadStorePair(in I, x[I.Rn] + I.Imm) ? -1 : Faulted;
            case Op.LdStpFpPre: case Op.LdStpFpPost:
            {
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                ulong ea = I.Op == Op.LdStpFpPre ? x[I.Rn] + I.Imm : x[I.Rn];
                if (!FpLoadStorePair(in I, ea)) return Faulted;
                x[I.Rn] = I.Op == Op.LdStpFpPre ? ea : ea + I.Imm;
                return -1;
            }
            case Op.LdStMulti: case Op.LdStMultiPost:
            case Op.LdStSingle: case Op.LdStSinglePost:
            case Op.LdRep: case Op.LdRepPost:
            {
                if (I.Rn == 31 && SpMisaligned()) return SpAlignmentFault();
                ulong ea = x[I.Rn];
                bool ok = I.Op switch
                {
                    Op.LdStMulti or Op.LdStMultiPost => MultipleStructures(in I, ea),
                    Op.LdStSingle or Op.LdStSinglePost => SingleStructure(in I, ea),
                    _ => Replicate(in I, ea),
                };
                if (!ok) return Faulted;
                if (I.C != 0) x[I.Rn] = ea + x[I.Rm] + I.Imm;
                return -1;
            }

            // ---- Data processing, 1 source ----
            case Op.FmovReg: SetScalar(I.Rd, Scalar(I.Rn, n)); return -1;
            case Op.Fabs: SetScalar(I.Rd, FpCore.Abs(Scalar(I.Rn, n), n)); return -1;
            case Op.Fneg: SetScalar(I.Rd, FpCore.Neg(Scalar(I.Rn, n), n)); return -1;
            case Op.Fsqrt: SetScalar(I.Rd, FpCore.Sqrt(Scalar(I.Rn, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fcvt:
                SetScalar(I.Rd, FpCore.Convert(Scalar(I.Rn, n), n, I.B, FpCore.RoundingMode(fpcr), fpcr, ref s->Fpsr));
                return -1;
            case Op.Frintn: case Op.Frintp: case Op.Frintm: case Op.Frintz: case Op.Frinta: case Op.Frintx: case Op.Frinti:
            {
                var rounding = I.B == FpPredecoder.FpcrRounding ? FpCore.RoundingMode(fpcr) : (FpRounding)I.B;
                SetScalar(I.Rd, FpCore.RoundInt(Scalar(I.Rn, n), n, rounding, I.C != 0, fpcr, ref s->Fpsr));
                return -1;
            }

            // ---- Compare, select, immediate ----
            case Op.Fcmp:
                s->Nzcv = FpCore.Compare(Scalar(I.Rn, n), I.C != 0 ? 0 : Scalar(I.Rm, n), n, I.B != 0, fpcr, ref s->Fpsr);
                return -1;
            case Op.Fccmp:
                s->Nzcv = Flags.ConditionHolds(I.C, s->Nzcv)
                    ? FpCore.Compare(Scalar(I.Rn, n), Scalar(I.Rm, n), n, I.Imm != 0, fpcr, ref s->Fpsr)
                    : (ulong)I.B << 28;
                return -1;
            case Op.Fcsel:
                SetScalar(I.Rd, Flags.ConditionHolds(I.C, s->Nzcv) ? Scalar(I.Rn, n) : Scalar(I.Rm, n));
                return -1;
            case Op.FmovImm: SetScalar(I.Rd, I.Imm); return -1;

            // ---- Data processing, 2 and 3 sources ----
            case Op.Fmul: SetScalar(I.Rd, FpCore.Mul(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fdiv: SetScalar(I.Rd, FpCore.Div(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fadd: SetScalar(I.Rd, FpCore.Add(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fsub: SetScalar(I.Rd, FpCore.Sub(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fmax: SetScalar(I.Rd, FpCore.Max(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fmin: SetScalar(I.Rd, FpCore.Min(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fmaxnm: SetScalar(I.Rd, FpCore.MaxNum(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            case Op.Fminnm: SetScalar(I.Rd, FpCore.MinNum(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr)); return -1;
            // FNMUL negates the product after rounding, a NaN result included.
            case Op.Fnmul:
                SetScalar(I.Rd, FpCore.Neg(FpCore.Mul(Scalar(I.Rn, n), Scalar(I.Rm, n), n, fpcr, ref s->Fpsr), n));
                return -1;
            // C7.2: FMSUB, FNMADD and FNMSUB negate their operands (NaNs too) before the fused operation.
            case Op.Fmadd: case Op.Fmsub: case Op.Fnmadd: case Op.Fnmsub:
            {
                ulong a = Scalar(I.Ra, n), op1 = Scalar(I.Rn, n), op2 = Scalar(I.Rm, n);
                if (I.Op is Op.Fnmadd or Op.Fnmsub) a = FpCore.Neg(a, n);
                if (I.Op is Op.Fmsub or Op.Fnmadd) op1 = FpCore.Neg(op1, n);
                SetScalar(I.Rd, FpCore.MulAdd(a, op1, op2, n, fpcr, ref s->Fpsr));
                return -1;
            }

            // ---- Conversions between floating point and integer or fixed point ----
            case Op.FcvtInt: case Op.FcvtaInt: case Op.FcvtzsFixed: case Op.FcvtzuFixed:
                x[I.Rd] = FpCore.ToFixed(Scalar(I.Rn, n), n, (int)I.Imm, I.C != 0, I.Sf != 0 ? 64 : 32, (FpRounding)I.B, fpcr, ref s->Fpsr);
                return -1;
            case Op.ScvtfInt: case Op.UcvtfInt: case Op.ScvtfFixed: case Op.UcvtfFixed:
                SetScalar(I.Rd, FpCore.FromFixed(x[I.Rn], I.Sf != 0 ? 64 : 32, (int)I.Imm, I.C != 0, n, FpCore.RoundingMode(fpcr), fpcr, ref s->Fpsr));
                return -1;
            case Op.FmovToGp: x[I.Rd] = I.Sf != 0 ? v[2 * I.Rn] : (uint)v[2 * I.Rn]; return -1;
            case Op.FmovFromGp: SetScalar(I.Rd, I.Sf != 0 ? x[I.Rn] : (uint)x[I.Rn]); return -1;
            case Op.FmovToGpTop: x[I.Rd] = v[2 * I.Rn + 1]; return -1;
            // Writes only the top half: the low doubleword keeps its value.
            case Op.FmovFromGpTop: v[2 * I.Rd + 1] = x[I.Rn]; return -1;
        }
        return Undefined(in I);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Scalar(int reg, int bits) => bits == 64 ? s->V[2 * reg] : s->V[2 * reg] & ((1UL << bits) - 1);

    /// <summary>A scalar result: the rest of the 128-bit register becomes zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetScalar(int reg, ulong value)
    {
        s->V[2 * reg] = value;
        s->V[2 * reg + 1] = 0;
    }

    /// <summary>Register <paramref name="reg"/> as 16 little-endian bytes.</summary>
    private byte* VBytes(int reg) => (byte*)s->V + 16 * (reg & 31);

    /// <summary>Reads <paramref name="length"/> bytes in accesses of at most 8, as a 16-byte access is done in halves.</summary>
    private bool ReadBytes(ulong va, byte* dst, int length)
    {
        for (int at = 0; at < length;)
        {
            int chunk = length - at >= 8 ? 8 : length - at >= 4 ? 4 : length - at >= 2 ? 2 : 1;
            if (!mmu.Read(va + (ulong)at, chunk, out ulong value)) return false;
            for (int k = 0; k < chunk; k++) dst[at + k] = (byte)(value >> (8 * k));
            at += chunk;
        }
        return true;
    }

    private bool WriteBytes(ulong va, byte* src, int length)
    {
        for (int at = 0; at < length;)
        {
            int chunk = length - at >= 8 ? 8 : length - at >= 4 ? 4 : length - at >= 2 ? 2 : 1;
            ulong value = 0;
            for (int k = 0; k < chunk; k++) value |= (ulong)src[at + k] << (8 * k);
            if (!mmu.Write(va + (ulong)at, chunk, value)) return false;
            at += chunk;
        }
        return true;
    }

    /// <summary>LDR/STR (SIMD&amp;FP) of 1 &lt;&lt; I.A bytes; a load zeroes the rest of the register.</summary>
    private bool FpLoadStore(in Inst I, ulong ea)
    {
        int size = 1 << I.A;
        if (I.B == 0) return WriteBytes(ea, VBytes(I.Rd), size);
        byte* buffer = stackalloc byte[16];
        if (!ReadBytes(ea, buffer, size)) return false;
        SetFromBytes(I.Rd, buffer, size);
        return true;
    }

    private void SetFromBytes(int reg, byte* src, int size)
    {
        byte* dst = VBytes(reg);
        for (int k = 0; k < 16; k++) dst[k] = k < size ? src[k] : (byte)0;
    }

    /// <summary>LDP/STP/LDNP/STNP (SIMD&amp;FP); a load writes neither register unless both reads succeed.</summary>
    private bool FpLoadStorePair(in Inst I, ulong ea)
    {
        int size = 1 << I.A;
        if (I.B == 0) return WriteBytes(ea, VBytes(I.Rd), size) && WriteBytes(ea + (ulong)size, VBytes(I.Ra), size);
        byte* buffer = stackalloc byte[32];
        if (!ReadBytes(ea, buffer, 2 * size)) return false;
        SetFromBytes(I.Rd, buffer, size);
        SetFromBytes(I.Ra, buffer + size, size);
        return true;
    }

    /// <summary>
    /// LD1–LD4/ST1–ST4 (multiple structures): structure e of the rpt × selem registers from Rt is interleaved
    /// in memory; a load writes whole registers (the top half zeroed for 64-bit arrangements).
    /// </summary>
    private bool MultipleStructures(in Inst I, ulong ea)
    {
        int rpt = (int)(I.Imm2 & 0xFF), selem = (int)(I.Imm2 >> 8), ebytes = 1 << I.A;
        int datasize = I.Sf != 0 ? 16 : 8, elements = datasize / ebytes, total = rpt * selem * datasize;
        byte* buffer = stackalloc byte[64];
        if (I.B == 0)
        {
            for (int r = 0; r < rpt; r++)
                for (int e = 0; e < elements; e++)
                    for (int k = 0; k < selem; k++)
                    {
                        byte* src = VBytes(I.Rd + r + k) + e * ebytes;
                        byte* dst = buffer + ((r * elements + e) * selem + k) * ebytes;
                        for (int b = 0; b < ebytes; b++) dst[b] = src[b];
                    }
            return WriteBytes(ea, buffer, total);
        }
        if (!ReadBytes(ea, buffer, total)) return false;
        for (int reg = 0; reg < rpt * selem; reg++) new Span<byte>(VBytes(I.Rd + reg), 16).Clear();
        for (int r = 0; r < rpt; r++)
            for (int e = 0; e < elements; e++)
                for (int k = 0; k < selem; k++)
                {
                    byte* dst = VBytes(I.Rd + r + k) + e * ebytes;
                    byte* src = buffer + ((r * elements + e) * selem + k) * ebytes;
                    for (int b = 0; b < ebytes; b++) dst[b] = src[b];
                }
        return true;
    }

    /// <summary>LD1–LD4/ST1–ST4 (single structure): one lane of each register; the other lanes keep their values.</summary>
    private bool SingleStructure(in Inst I, ulong ea)
    {
        int selem = (int)(I.Imm2 >> 8), index = (int)(I.Imm2 & 0xFF), ebytes = 1 << I.A;
        byte* buffer = stackalloc byte[32];
        if (I.B == 0)
        {
            for (int k = 0; k < selem; k++)
                for (int b = 0; b < ebytes; b++) buffer[k * ebytes + b] = VBytes(I.Rd + k)[index * ebytes + b];
            return WriteBytes(ea, buffer, selem * ebytes);
        }
        if (!ReadBytes(ea, buffer, selem * ebytes)) return false;
        for (int k = 0; k < selem; k++)
            for (int b = 0; b < ebytes; b++) VBytes(I.Rd + k)[index * ebytes + b] = buffer[k * ebytes + b];
        return true;
    }

    /// <summary>LD1R–LD4R: each element loaded fills every lane of its register.</summary>
    private bool Replicate(in Inst I, ulong ea)
    {
        int selem = (int)(I.Imm2 >> 8), ebytes = 1 << I.A, datasize = I.Sf != 0 ? 16 : 8;
        byte* buffer = stackalloc byte[32];
        if (!ReadBytes(ea, buffer, selem * ebytes)) return false;
        for (int k = 0; k < selem; k++)
        {
            byte* dst = VBytes(I.Rd + k);
            for (int at = 0; at < 16; at++) dst[at] = at < datasize ? buffer[k * ebytes + at % ebytes] : (byte)0;
        }
        return true;
    }
}
