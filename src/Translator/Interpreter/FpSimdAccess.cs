using Jit.Runtime.Exceptions;
using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>The gate in front of every FP and AdvSIMD instruction: CPACR_EL1.FPEN, then the class's executor.</summary>
public sealed unsafe partial class BlockInterpreter
{
    private int FpSimd(in Inst I, ulong pc)
    {
        if (!FpEnabled()) return FpAccessTrap();
        return I.Op < Op.SimdFirst ? Fp(in I, pc) : Simd(in I, pc);
    }

    /// <summary>CPACR_EL1.FPEN (D17.2.30): 0b11 enables FP/SIMD at EL0 and EL1, 0b01 at EL1 only, else neither.</summary>
    private bool FpEnabled()
    {
        ulong fpen = (s->CpacrEl1 >> 20) & 3;
        return fpen == 3 || (fpen == 1 && s->EL == 1);
    }

    /// <summary>EC 0x07 with ISS CV = 1, COND = 0b1110, as for an unconditional A64 instruction.</summary>
    private int FpAccessTrap()
    {
        ExceptionEntry.TakeToEl1(s, ExceptionClass.FpAccess, (1u << 24) | (0xEu << 20), s->PC);
        return Faulted;
    }
}
