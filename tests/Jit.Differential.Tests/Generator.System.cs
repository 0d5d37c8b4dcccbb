using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    /// <summary>
    /// NZCV (and TPIDR_EL0) through MRS/MSR, mixed with flag-setting arithmetic and with the hints and barriers that user
    /// code may execute (no WFE/WFI, which would leave the run loop, and no pointer-authentication hints).
    /// </summary>
    private static void SystemInstructions(CaseBuilder b)
    {
        var r = b.R;
        int n = r.Range(1, 4);
        for (int i = 0; i < n; i++)
        {
            switch (r.Below(7))
            {
                case 6:
                    // TPIDR_EL0 (3,3,13,0,2), written before it is read: its value on entry is the harness's.
                    b.Emit(Op.MsrReg, ("o0", 1), ("op1", 3), ("CRn", 13), ("CRm", 0), ("op2", 2), ("Rt", b.Reg()));
                    b.Emit(Op.Mrs, ("o0", 1), ("op1", 3), ("CRn", 13), ("CRm", 0), ("op2", 2), ("Rt", b.Reg()));
                    break;
                case 0: case 1:
                    // op0=3 (o0=1), op1=3, CRn=4, CRm=2, op2=0: NZCV.
                    b.Emit(Op.Mrs, ("o0", 1), ("op1", 3), ("CRn", 4), ("CRm", 2), ("op2", 0), ("Rt", b.Reg()));
                    break;
                case 2: case 3:
                    b.Emit(Op.MsrReg, ("o0", 1), ("op1", 3), ("CRn", 4), ("CRm", 2), ("op2", 0), ("Rt", b.Reg()));
                    break;
                case 4:
                    b.Emit(Op.SubsImm, ("sf", r.Bits(1)), ("sh", 0), ("imm12", Imm12(r)), ("Rn", b.Reg()), ("Rd", b.Reg()));
                    break;
                default:
                    switch (r.Below(5))
                    {
                        case 0: b.Emit(Op.Hint, ("CRm", 0), ("op2", r.Pick([0u, 1u, 4u, 5u]))); break; // NOP, YIELD, SEV, SEVL
                        case 1: b.Emit(Op.Dmb, ("CRm", r.Bits(4))); break;
                        case 2: b.Emit(Op.Dsb, ("CRm", r.Pick([1u, 2u, 3u, 5u, 6u, 7u, 9u, 10u, 11u, 13u, 14u, 15u]))); break;
                        case 3: b.Emit(Op.Isb, ("CRm", 15)); break;
                        default: b.Emit(Op.Clrex, ("CRm", r.Bits(4))); break;
                    }
                    break;
            }
        }
    }
}
