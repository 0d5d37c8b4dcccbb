namespace Jit.Translator.Decoder;

/// <summary>Instruction forms of <see cref="A64Table"/>, one per row.</summary>
public enum Op : ushort
{
    Undefined,
    // Data processing -- immediate
    Adr, Adrp, AddImm, AddsImm, SubImm, SubsImm, AndImm, OrrImm, EorImm, AndsImm, Movn, Movz, Movk, Sbfm, Bfm, Ubfm, Extr,
    // Branches, exception generating, system
    BCond, Svc, Hvc, Smc, Brk, Hlt, Dcps1, Dcps2, Dcps3, Hint, Clrex, Dsb, Dmb, Isb, MsrImm, Sys, Sysl, MsrReg, Mrs,
    Br, Blr, Ret, Eret, Drps, B, Bl, Cbz, Cbnz, Tbz, Tbnz,
    // Loads and stores
    Stxr, Stlxr, Ldxr, Ldaxr, Stxp, Stlxp, Ldxp, Ldaxp, Casp, Stlr, Ldar, Cas,
    LdrLit, LdrswLit, PrfmLit,
    Stnp, Ldnp, LdpswPost, LdpswOff, LdpswPre, StpPost, LdpPost, StpOff, LdpOff, StpPre, LdpPre,
    PrfmImm, LdStUimm, PrfmReg, LdStReg, Prfum, LdStUnscaled, LdStPost, LdStUnpriv, LdStPre,
    Ldadd, Ldclr, Ldeor, Ldset, Ldsmax, Ldsmin, Ldumax, Ldumin, Swp,
    // Data processing -- register
    AndReg, BicReg, OrrReg, OrnReg, EorReg, EonReg, AndsReg, BicsReg, AddReg, AddsReg, SubReg, SubsReg,
    AddExt, AddsExt, SubExt, SubsExt, Adc, Adcs, Sbc, Sbcs, CcmnReg, CcmpReg, CcmnImm, CcmpImm,
    Csel, Csinc, Csinv, Csneg, Madd, Msub, Smaddl, Smsubl, Smulh, Umaddl, Umsubl, Umulh,
    Udiv, Sdiv, Lslv, Lsrv, Asrv, Rorv, Crc32, Crc32c, Rbit, Rev16, Rev32, Rev, Clz, Cls,
    Udf,
    // Not implemented yet: decode and execute as Undefined.
    Sve, SimdFp, SimdFpLoadStore,
    // Later extensions: decoded for disassembly, executed as Undefined.
    // FEAT_MTE (memory tagging)
    Stg, Stzg, St2g, Stz2g, Ldg, Stgm, Stzgm, Ldgm, Stgp, Irg, Gmi, Subp, Subps, Addg, Subg,
    // FEAT_MOPS (memory copy and memory set)
    Cpyf, Cpy, Set, Setg,
    // FEAT_SB, FEAT_XS (DSB nXS), FEAT_WFxT
    Sb, DsbNxs, Wfet, Wfit,

    // FP and AdvSIMD. Scalar floating point and the SIMD&FP loads/stores take the values from FpFirst, the
    // AdvSIMD vector and scalar forms those from SimdFirst; the interpreter dispatches on these ranges.
    FpFirst = 1000,
    // SIMD&FP loads and stores (C4.1.88 with V = 1)
    LdrLitFp, LdStFpUimm, LdStFpReg, LdStFpUnscaled, LdStFpPost, LdStFpPre,
    LdStnpFp, LdStpFpPost, LdStpFpOff, LdStpFpPre,
    LdStMulti, LdStMultiPost, LdStSingle, LdStSinglePost, LdRep, LdRepPost,
    // Scalar floating point (C4.1.96)
    FmovReg, Fabs, Fneg, Fsqrt, Fcvt, Frintn, Frintp, Frintm, Frintz, Frinta, Frintx, Frinti,
    Fcmp, Fccmp, Fcsel, FmovImm,
    Fmul, Fdiv, Fadd, Fsub, Fmax, Fmin, Fmaxnm, Fminnm, Fnmul,
    Fmadd, Fmsub, Fnmadd, Fnmsub,
    FcvtInt, FcvtaInt, ScvtfInt, UcvtfInt, FmovToGp, FmovFromGp, FmovToGpTop, FmovFromGpTop,
    FcvtzsFixed, FcvtzuFixed, ScvtfFixed, UcvtfFixed,

    SimdFirst = 2000,

    OpsEnd = 3000,
}
