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
    // AdvSIMD: one member per mnemonic; a scalar form shares its vector form's member (the scalar is one lane).
    // Three same
    VAnd, VBic, VOrr, VOrn, VEor, VBsl, VBit, VBif,
    VAdd, VSub, VMul, VMla, VMls, VPmul, VCmeq, VCmtst, VCmgt, VCmge, VCmhi, VCmhs,
    VSmax, VUmax, VSmin, VUmin, VSmaxp, VUmaxp, VSminp, VUminp, VAddp,
    VShadd, VUhadd, VSrhadd, VUrhadd, VShsub, VUhsub, VSabd, VUabd, VSaba, VUaba,
    VSqadd, VUqadd, VSqsub, VUqsub, VSshl, VUshl, VSrshl, VUrshl, VSqshl, VUqshl, VSqrshl, VUqrshl,
    VSqdmulh, VSqrdmulh,
    // Two-register miscellaneous
    VRev64, VRev32, VRev16, VCnt, VClz, VCls, VNot, VRbit, VAbs, VNeg, VSqabs, VSqneg,
    VCmgtZ, VCmgeZ, VCmeqZ, VCmleZ, VCmltZ, VXtn, VSqxtn, VUqxtn, VSqxtun, VShll,
    VSaddlp, VUaddlp, VSadalp, VUadalp, VSuqadd, VUsqadd,
    // Across lanes
    VAddv, VSaddlv, VUaddlv, VSmaxv, VUmaxv, VSminv, VUminv,
    // Copy, immediate, permute
    VDupElement, VDupGeneral, VIns, VInsElement, VUmov, VSmov, VMovi, VOrrImm, VBicImm,
    VExt, VTbl, VTbx, VUzp1, VUzp2, VZip1, VZip2, VTrn1, VTrn2,
    // Shift by immediate
    VSshr, VUshr, VSsra, VUsra, VSrshr, VUrshr, VSrsra, VUrsra, VShl, VSli, VSri,
    VSqshlImm, VUqshlImm, VSqshlu, VShrn, VRshrn, VSqshrn, VUqshrn, VSqrshrn, VUqrshrn, VSqshrun, VSqrshrun,
    VSshll, VUshll,
    // Three different
    VSaddl, VUaddl, VSsubl, VUsubl, VSaddw, VUaddw, VSsubw, VUsubw, VAddhn, VRaddhn, VSubhn, VRsubhn,
    VSabal, VUabal, VSabdl, VUabdl, VSmlal, VUmlal, VSmlsl, VUmlsl, VSmull, VUmull, VPmull,
    VSqdmlal, VSqdmlsl, VSqdmull,
    // By element
    VMulElem, VMlaElem, VMlsElem, VSmullElem, VUmullElem, VSmlalElem, VUmlalElem, VSmlslElem, VUmlslElem,
    VSqdmulhElem, VSqrdmulhElem, VSqdmullElem, VSqdmlalElem, VSqdmlslElem,
    // Floating point (vector and scalar AdvSIMD forms)
    VFadd, VFsub, VFmul, VFdiv, VFmla, VFmls, VFmulx, VFmax, VFmin, VFmaxnm, VFminnm, VFabd,
    VFcmeq, VFcmge, VFcmgt, VFacge, VFacgt, VFaddp, VFmaxp, VFminp, VFmaxnmp, VFminnmp,
    VFabs, VFneg, VFsqrt, VFcmeqZ, VFcmgeZ, VFcmgtZ, VFcmleZ, VFcmltZ,
    VFrintn, VFrintp, VFrintm, VFrintz, VFrinta, VFrintx, VFrinti,
    VFcvtns, VFcvtnu, VFcvtps, VFcvtpu, VFcvtms, VFcvtmu, VFcvtzs, VFcvtzu, VFcvtas, VFcvtau, VScvtf, VUcvtf,
    VFcvtl, VFcvtn, VFcvtxn, VFmaxv, VFminv, VFmaxnmv, VFminnmv,
    VFmlaElem, VFmlsElem, VFmulElem, VFmulxElem, VScvtfFixed, VUcvtfFixed, VFcvtzsFixed, VFcvtzuFixed,
    VFrecps, VFrsqrts, VFrecpe, VFrsqrte, VUrecpe, VUrsqrte, VFrecpx, VFmovImm,

    OpsEnd = 3000,
}
