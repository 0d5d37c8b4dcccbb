using Jit.Runtime.Startup;


namespace Jit.Runtime.SystemRegisters;

/// <summary>Outcome of an MRS/MSR: done, UNDEFINED (EC 0) or trapped to EL1 as a system-register access (EC 0x18).</summary>
public enum SysRegResult { Ok, Undefined, Trapped }

/// <summary>
/// MRS/MSR of the system registers this CPU implements, keyed by the 16-bit encoding op0:op1:CRn:CRm:op2
/// (the same key the decoder computes). Registers not listed here are UNDEFINED and logged once.
/// </summary>
[CompiledEarly]
public static unsafe class SystemRegisterFile
{
    public static int Key(int op0, int op1, int crn, int crm, int op2) => (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;

    public const int MIDR_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (0 << 3) | 0;
    public const int MPIDR_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (0 << 3) | 5;
    public const int REVIDR_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (0 << 3) | 6;
    public const int ID_AA64PFR0_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (4 << 3) | 0;
    public const int ID_AA64PFR1_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (4 << 3) | 1;
    public const int ID_AA64DFR0_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (5 << 3) | 0;
    public const int ID_AA64ISAR0_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (6 << 3) | 0;
    public const int ID_AA64ISAR1_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (6 << 3) | 1;
    public const int ID_AA64MMFR0_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (7 << 3) | 0;
    public const int ID_AA64MMFR1_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (7 << 3) | 1;
    public const int ID_AA64MMFR2_EL1 = (3 << 14) | (0 << 11) | (0 << 7) | (7 << 3) | 2;
    public const int CTR_EL0 = (3 << 14) | (3 << 11) | (0 << 7) | (0 << 3) | 1;
    public const int DCZID_EL0 = (3 << 14) | (3 << 11) | (0 << 7) | (0 << 3) | 7;
    public const int SCTLR_EL1 = (3 << 14) | (0 << 11) | (1 << 7) | (0 << 3) | 0;
    public const int ACTLR_EL1 = (3 << 14) | (0 << 11) | (1 << 7) | (0 << 3) | 1;
    public const int CPACR_EL1 = (3 << 14) | (0 << 11) | (1 << 7) | (0 << 3) | 2;
    public const int TTBR0_EL1 = (3 << 14) | (0 << 11) | (2 << 7) | (0 << 3) | 0;
    public const int TTBR1_EL1 = (3 << 14) | (0 << 11) | (2 << 7) | (0 << 3) | 1;
    public const int TCR_EL1 = (3 << 14) | (0 << 11) | (2 << 7) | (0 << 3) | 2;
    public const int PAR_EL1 = (3 << 14) | (0 << 11) | (7 << 7) | (4 << 3) | 0;
    public const int MAIR_EL1 = (3 << 14) | (0 << 11) | (10 << 7) | (2 << 3) | 0;
    public const int AMAIR_EL1 = (3 << 14) | (0 << 11) | (10 << 7) | (3 << 3) | 0;
    public const int SPSR_EL1 = (3 << 14) | (0 << 11) | (4 << 7) | (0 << 3) | 0;
    public const int ELR_EL1 = (3 << 14) | (0 << 11) | (4 << 7) | (0 << 3) | 1;
    public const int SP_EL0 = (3 << 14) | (0 << 11) | (4 << 7) | (1 << 3) | 0;
    public const int SPSEL = (3 << 14) | (0 << 11) | (4 << 7) | (2 << 3) | 0;
    public const int CURRENTEL = (3 << 14) | (0 << 11) | (4 << 7) | (2 << 3) | 2;
    public const int NZCV = (3 << 14) | (3 << 11) | (4 << 7) | (2 << 3) | 0;
    public const int DAIF = (3 << 14) | (3 << 11) | (4 << 7) | (2 << 3) | 1;
    public const int FPCR = (3 << 14) | (3 << 11) | (4 << 7) | (4 << 3) | 0;
    public const int FPSR = (3 << 14) | (3 << 11) | (4 << 7) | (4 << 3) | 1;
    public const int ESR_EL1 = (3 << 14) | (0 << 11) | (5 << 7) | (2 << 3) | 0;
    public const int FAR_EL1 = (3 << 14) | (0 << 11) | (6 << 7) | (0 << 3) | 0;
    public const int VBAR_EL1 = (3 << 14) | (0 << 11) | (12 << 7) | (0 << 3) | 0;
    public const int CONTEXTIDR_EL1 = (3 << 14) | (0 << 11) | (13 << 7) | (0 << 3) | 1;
    public const int TPIDR_EL1 = (3 << 14) | (0 << 11) | (13 << 7) | (0 << 3) | 4;
    public const int TPIDR_EL0 = (3 << 14) | (3 << 11) | (13 << 7) | (0 << 3) | 2;
    public const int TPIDRRO_EL0 = (3 << 14) | (3 << 11) | (13 << 7) | (0 << 3) | 3;
    /// <summary>
    /// Whether register <paramref name="key"/> reads or writes relative to the system counter (CNTPCT, CNTVCT,
    /// the EL0 timers' TVAL and CTL.ISTATUS): its value depends on the exact point in guest time it executes.
    /// </summary>
    public static bool ReadsCounter(int key) => ((key >> 7) & 0xF) == 14 && ((key >> 11) & 7) == 3 && key != CNTFRQ_EL0;

    public const int CNTFRQ_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (0 << 3) | 0;
    public const int CNTPCT_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (0 << 3) | 1;
    public const int CNTVCT_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (0 << 3) | 2;
    public const int CNTKCTL_EL1 = (3 << 14) | (0 << 11) | (14 << 7) | (1 << 3) | 0;
    public const int CNTP_TVAL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (2 << 3) | 0;
    public const int CNTP_CTL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (2 << 3) | 1;
    public const int CNTP_CVAL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (2 << 3) | 2;
    public const int CNTV_TVAL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (3 << 3) | 0;
    public const int CNTV_CTL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (3 << 3) | 1;
    public const int CNTV_CVAL_EL0 = (3 << 14) | (3 << 11) | (14 << 7) | (3 << 3) | 2;
    public const int ICC_PMR_EL1 = (3 << 14) | (0 << 11) | (4 << 7) | (6 << 3) | 0;
    public const int CCSIDR_EL1 = (3 << 14) | (1 << 11) | (0 << 7) | (0 << 3) | 0;
    public const int CLIDR_EL1 = (3 << 14) | (1 << 11) | (0 << 7) | (0 << 3) | 1;
    public const int AIDR_EL1 = (3 << 14) | (1 << 11) | (0 << 7) | (0 << 3) | 7;
    public const int CSSELR_EL1 = (3 << 14) | (2 << 11) | (0 << 7) | (0 << 3) | 0;
    public const int AFSR0_EL1 = (3 << 14) | (0 << 11) | (5 << 7) | (1 << 3) | 0;
    public const int AFSR1_EL1 = (3 << 14) | (0 << 11) | (5 << 7) | (1 << 3) | 1;
    public const int MDCCINT_EL1 = (2 << 14) | (0 << 11) | (0 << 7) | (2 << 3) | 0;
    public const int MDRAR_EL1 = (2 << 14) | (0 << 11) | (1 << 7) | (0 << 3) | 0;
    public const int OSLAR_EL1 = (2 << 14) | (0 << 11) | (1 << 7) | (0 << 3) | 4;
    public const int OSLSR_EL1 = (2 << 14) | (0 << 11) | (1 << 7) | (1 << 3) | 4;
    public const int OSDLR_EL1 = (2 << 14) | (0 << 11) | (1 << 7) | (3 << 3) | 4;
    public const int DBGPRCR_EL1 = (2 << 14) | (0 << 11) | (1 << 7) | (4 << 3) | 4;
    public const int MDSCR_EL1 = (2 << 14) | (0 << 11) | (0 << 7) | (2 << 3) | 2;

    /// <summary>SCTLR_EL1 bits that are RES1 in ARMv8.0 (D17.2.118).</summary>
    public const ulong SctlrRes1 = 0x30D0_0800;

    /// <summary>True for the GICv3 CPU interface registers: ICC_PMR_EL1 and op0=3, op1=0, CRn=12, CRm=8..12.</summary>
    public static bool IsGicCpuInterface(int key) =>
        key == ICC_PMR_EL1 || ((key >> 7) == ((3 << 7) | (0 << 4) | 12) && ((key >> 3) & 15) is >= 8 and <= 12);

    /// <summary>
    /// Registers whose writes change nothing compiled code depends on (translation, DAIF, SP selection, the
    /// vectors' effect on control flow): the GIC CPU interface, the thread ID registers and CONTEXTIDR_EL1
    /// (op0=3, CRn=13), and the generic timer's (op0=3, CRn=14).
    /// </summary>
    public static bool WriteKeepsContext(int key) =>
        IsGicCpuInterface(key) || ((key >> 14) == 3 && ((key >> 7) & 15) is 13 or 14);

    private static bool TimerAccessible(CpuState* s, int key)
    {
        if (s->EL != 0) return true;
        bool physical = ((key >> 3) & 15) == 2;
        return (s->CntkctlEl1 & (physical ? 1UL << 9 : 1UL << 8)) != 0; // EL0PTEN, EL0VTEN
    }

    public static SysRegResult Read(Processor p, int key, out ulong value)
    {
        CpuState* s = p.State;
        value = 0;
        bool el0 = s->EL == 0;
        switch (key)
        {
            case CNTV_CTL_EL0: case CNTP_CTL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                value = p.Timer.ReadControl(key == CNTP_CTL_EL0); return SysRegResult.Ok;
            case CNTV_CVAL_EL0: case CNTP_CVAL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                value = p.Timer.ReadCompare(key == CNTP_CVAL_EL0); return SysRegResult.Ok;
            case CNTV_TVAL_EL0: case CNTP_TVAL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                value = p.Timer.ReadTimerValue(key == CNTP_TVAL_EL0); return SysRegResult.Ok;
            case NZCV: value = s->Nzcv; return SysRegResult.Ok;
            case DAIF:
                if (el0 && (s->SctlrEl1 & (1UL << 9)) == 0) return SysRegResult.Trapped; // SCTLR_EL1.UMA
                value = s->Daif; return SysRegResult.Ok;
            case FPCR: value = s->Fpcr; return SysRegResult.Ok;
            case FPSR: value = s->Fpsr; return SysRegResult.Ok;
            case TPIDR_EL0: value = s->TpidrEl0; return SysRegResult.Ok;
            case TPIDRRO_EL0: value = s->TpidrroEl0; return SysRegResult.Ok;
            case CTR_EL0:
                if (el0 && (s->SctlrEl1 & (1UL << 15)) == 0) return SysRegResult.Trapped; // SCTLR_EL1.UCT
                value = CpuModel.Ctr; return SysRegResult.Ok;
            case DCZID_EL0:
                // DZP (bit 4) tells EL0 that DC ZVA is prohibited when SCTLR_EL1.DZE is clear.
                value = CpuModel.Dczid | (el0 && (s->SctlrEl1 & (1UL << 14)) == 0 ? 0x10UL : 0);
                return SysRegResult.Ok;
            case CNTFRQ_EL0:
                if (el0 && (s->CntkctlEl1 & 3) == 0) return SysRegResult.Trapped;
                value = CpuModel.CounterFrequency; return SysRegResult.Ok;
            case CNTVCT_EL0:
                if (el0 && (s->CntkctlEl1 & 2) == 0) return SysRegResult.Trapped; // EL0VCTEN
                value = p.Timer.Counter; return SysRegResult.Ok;
            case CNTPCT_EL0:
                if (el0 && (s->CntkctlEl1 & 1) == 0) return SysRegResult.Trapped; // EL0PCTEN
                value = p.Timer.Counter; return SysRegResult.Ok;
        }
        if (el0) return SysRegResult.Undefined;
        if (IsGicCpuInterface(key))
        {
            if (p.Gic is not null && p.Gic.Read(key, out value)) return SysRegResult.Ok;
            LogUnimplemented(key, "read");
            return SysRegResult.Undefined;
        }
        switch (key)
        {
            case MIDR_EL1: value = CpuModel.Midr; return SysRegResult.Ok;
            case MPIDR_EL1: value = s->Mpidr; return SysRegResult.Ok;
            case REVIDR_EL1: value = CpuModel.Revidr; return SysRegResult.Ok;
            case ID_AA64PFR0_EL1: value = CpuModel.IdAa64Pfr0; return SysRegResult.Ok;
            case ID_AA64PFR1_EL1: value = CpuModel.IdAa64Pfr1; return SysRegResult.Ok;
            case ID_AA64DFR0_EL1: value = CpuModel.IdAa64Dfr0; return SysRegResult.Ok;
            case ID_AA64ISAR0_EL1: value = CpuModel.IdAa64Isar0; return SysRegResult.Ok;
            case ID_AA64ISAR1_EL1: value = CpuModel.IdAa64Isar1; return SysRegResult.Ok;
            case ID_AA64MMFR0_EL1: value = CpuModel.IdAa64Mmfr0; return SysRegResult.Ok;
            case ID_AA64MMFR1_EL1: value = CpuModel.IdAa64Mmfr1; return SysRegResult.Ok;
            case ID_AA64MMFR2_EL1: value = CpuModel.IdAa64Mmfr2; return SysRegResult.Ok;
            case SCTLR_EL1: value = s->SctlrEl1; return SysRegResult.Ok;
            case ACTLR_EL1: value = 0; return SysRegResult.Ok;
            case CPACR_EL1: value = s->CpacrEl1; return SysRegResult.Ok;
            case TTBR0_EL1: value = s->Ttbr0El1; return SysRegResult.Ok;
            case TTBR1_EL1: value = s->Ttbr1El1; return SysRegResult.Ok;
            case TCR_EL1: value = s->TcrEl1; return SysRegResult.Ok;
            case PAR_EL1: value = s->ParEl1; return SysRegResult.Ok;
            case MAIR_EL1: value = s->MairEl1; return SysRegResult.Ok;
            case AMAIR_EL1: value = s->AmairEl1; return SysRegResult.Ok;
            case SPSR_EL1: value = s->SpsrEl1; return SysRegResult.Ok;
            case ELR_EL1: value = s->ElrEl1; return SysRegResult.Ok;
            case SP_EL0:
                // D17.2: SP_EL0 is not accessible while it is the current stack pointer.
                if (s->SPSel == 0) return SysRegResult.Undefined;
                value = s->CurrentSpEl0; return SysRegResult.Ok;
            case SPSEL: value = s->SPSel; return SysRegResult.Ok;
            case CURRENTEL: value = (ulong)s->EL << 2; return SysRegResult.Ok;
            case ESR_EL1: value = s->EsrEl1; return SysRegResult.Ok;
            case FAR_EL1: value = s->FarEl1; return SysRegResult.Ok;
            case VBAR_EL1: value = s->VbarEl1; return SysRegResult.Ok;
            case CONTEXTIDR_EL1: value = s->ContextidrEl1; return SysRegResult.Ok;
            case TPIDR_EL1: value = s->TpidrEl1; return SysRegResult.Ok;
            case CNTKCTL_EL1: value = s->CntkctlEl1; return SysRegResult.Ok;
            case MDSCR_EL1: value = s->MdscrEl1; return SysRegResult.Ok;
            case CLIDR_EL1: value = CpuModel.Clidr; return SysRegResult.Ok;
            case CCSIDR_EL1: value = CpuModel.Ccsidr(p.CsselrEl1); return SysRegResult.Ok;
            case CSSELR_EL1: value = p.CsselrEl1; return SysRegResult.Ok;
            case AIDR_EL1: value = 0; return SysRegResult.Ok;
            case AFSR0_EL1: value = p.Afsr0; return SysRegResult.Ok;
            case AFSR1_EL1: value = p.Afsr1; return SysRegResult.Ok;
            case MDCCINT_EL1: value = p.MdccintEl1; return SysRegResult.Ok;
            case MDRAR_EL1: value = 0; return SysRegResult.Ok; // no memory-mapped debug ROM table
            case OSLSR_EL1: value = 0b1000 | (p.OsLock ? 0b10UL : 0); return SysRegResult.Ok; // OSLM = 0b10: OS lock implemented
            case OSDLR_EL1: value = p.OsDoubleLock; return SysRegResult.Ok;
            case DBGPRCR_EL1: value = 0; return SysRegResult.Ok;
        }
        if (DebugRegister(key, out var bank, out int n))
        {
            value = bank(p)[n];
            return SysRegResult.Ok;
        }
        // The rest of the ID register space (op0=3, op1=0, CRn=0, CRm=1..7) is RAZ (D17.1.3).
        if ((key & ~0x3F) == ((3 << 14) | (0 << 11) | (0 << 7)) && ((key >> 3) & 0xF) is >= 1 and <= 7) return SysRegResult.Ok;
        LogUnimplemented(key, "read");
        return SysRegResult.Undefined;
    }

    /// <summary>MSR; the processor's MMU is told when a write changes how addresses translate.</summary>
    public static SysRegResult Write(Processor p, int key, ulong value)
    {
        CpuState* s = p.State;
        var mmu = p.Mmu;
        bool el0 = s->EL == 0;
        switch (key)
        {
            case CNTV_CTL_EL0: case CNTP_CTL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                p.Timer.WriteControl(key == CNTP_CTL_EL0, value); return SysRegResult.Ok;
            case CNTV_CVAL_EL0: case CNTP_CVAL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                p.Timer.WriteCompare(key == CNTP_CVAL_EL0, value); return SysRegResult.Ok;
            case CNTV_TVAL_EL0: case CNTP_TVAL_EL0:
                if (!TimerAccessible(s, key)) return SysRegResult.Trapped;
                p.Timer.WriteTimerValue(key == CNTP_TVAL_EL0, value); return SysRegResult.Ok;
            case NZCV: s->Nzcv = value & 0xF000_0000; return SysRegResult.Ok;
            case DAIF:
                if (el0 && (s->SctlrEl1 & (1UL << 9)) == 0) return SysRegResult.Trapped;
                s->Daif = value & 0x3C0; return SysRegResult.Ok;
            // AHP, DN, FZ and RMode only: the exception trap enables are RAZ/WI (no trapping), FZ16 is RES0
            // without FEAT_FP16, and Len/Stride are RES0 without AArch32.
            case FPCR: s->Fpcr = value & 0x07C0_0000; return SysRegResult.Ok;
            case FPSR: s->Fpsr = value & 0xF800_009F; return SysRegResult.Ok;
            case TPIDR_EL0: s->TpidrEl0 = value; return SysRegResult.Ok;
        }
        if (el0) return SysRegResult.Undefined;
        if (IsGicCpuInterface(key))
        {
            if (p.Gic is not null && p.Gic.Write(key, value)) return SysRegResult.Ok;
            LogUnimplemented(key, "write");
            return SysRegResult.Undefined;
        }
        switch (key)
        {
            case SCTLR_EL1:
                s->SctlrEl1 = value | SctlrRes1;
                mmu.TranslationRegistersChanged();
                return SysRegResult.Ok;
            case ACTLR_EL1: return SysRegResult.Ok;
            case CPACR_EL1: s->CpacrEl1 = value & (3UL << 20); return SysRegResult.Ok;
            // A new table base, ASID or TCR selects another soft-TLB context rather than flushing (see SoftTlb).
            case TTBR0_EL1: s->Ttbr0El1 = value; mmu.TranslationRegistersChanged(); return SysRegResult.Ok;
            case TTBR1_EL1: s->Ttbr1El1 = value; mmu.TranslationRegistersChanged(); return SysRegResult.Ok;
            case TCR_EL1: s->TcrEl1 = value & 0x0000_007F_FFFF_FFBF; mmu.TranslationRegistersChanged(); return SysRegResult.Ok;
            case PAR_EL1: s->ParEl1 = value; return SysRegResult.Ok;
            case MAIR_EL1: s->MairEl1 = value; return SysRegResult.Ok;
            case AMAIR_EL1: s->AmairEl1 = value; return SysRegResult.Ok;
            case SPSR_EL1: s->SpsrEl1 = value & 0xF000_03DF; return SysRegResult.Ok;
            case ELR_EL1: s->ElrEl1 = value; return SysRegResult.Ok;
            case SP_EL0:
                if (s->SPSel == 0) return SysRegResult.Undefined;
                s->WriteSpEl0(value); return SysRegResult.Ok;
            case SPSEL: s->SelectStack(s->EL, (uint)(value & 1)); return SysRegResult.Ok;
            case ESR_EL1: s->EsrEl1 = value & 0xFFFF_FFFF; return SysRegResult.Ok;
            case FAR_EL1: s->FarEl1 = value; return SysRegResult.Ok;
            case VBAR_EL1: s->VbarEl1 = value & ~0x7FFUL; return SysRegResult.Ok;
            case CONTEXTIDR_EL1: s->ContextidrEl1 = value & 0xFFFF_FFFF; return SysRegResult.Ok;
            case TPIDR_EL1: s->TpidrEl1 = value; return SysRegResult.Ok;
            case TPIDRRO_EL0: s->TpidrroEl0 = value; return SysRegResult.Ok;
            case CNTKCTL_EL1: s->CntkctlEl1 = value & 0x3FF; return SysRegResult.Ok;
            case MDSCR_EL1: s->MdscrEl1 = value; return SysRegResult.Ok;
            case CSSELR_EL1: p.CsselrEl1 = value & 0xF; return SysRegResult.Ok;
            case AFSR0_EL1: p.Afsr0 = value; return SysRegResult.Ok;
            case AFSR1_EL1: p.Afsr1 = value; return SysRegResult.Ok;
            case MDCCINT_EL1: p.MdccintEl1 = value; return SysRegResult.Ok;
            case OSLAR_EL1: p.OsLock = (value & 1) != 0; return SysRegResult.Ok;
            case OSDLR_EL1: p.OsDoubleLock = value & 1; return SysRegResult.Ok;
            case DBGPRCR_EL1: return SysRegResult.Ok;
        }
        if (DebugRegister(key, out var bank, out int n))
        {
            bank(p)[n] = value;
            return SysRegResult.Ok;
        }
        LogUnimplemented(key, "write");
        return SysRegResult.Undefined;
    }

    /// <summary>DBGBVRn/DBGBCRn/DBGWVRn/DBGWCRn_EL1: op0 = 2, op1 = 0, CRn = 0, CRm = n, op2 = 4..7.</summary>
    private static bool DebugRegister(int key, out Func<Processor, ulong[]> bank, out int n)
    {
        bank = static _ => [];
        n = (key >> 3) & 15;
        if ((key & ~0x7F) != (2 << 14) || (key & 7) < 4) return false;
        bank = (key & 7) switch
        {
            4 => static p => p.BreakpointValue,
            5 => static p => p.BreakpointControl,
            6 => static p => p.WatchpointValue,
            _ => static p => p.WatchpointControl,
        };
        return n < ((key & 7) < 6 ? 6 : 4);
    }

    private static void LogUnimplemented(int key, string what)
    {
        string name = $"S{key >> 14}_{(key >> 11) & 7}_C{(key >> 7) & 15}_C{(key >> 3) & 15}_{key & 7}";
        Log.Once($"sysreg:{what}:{key}", $"unimplemented system register {what}: {name} (UNDEFINED to the guest)");
    }
}
