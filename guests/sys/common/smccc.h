/* SMC Calling Convention calls from EL1 over either conduit, with all eight argument registers: what the TEE
   guests pass to the hypervisor and, through it, to the modelled secure world. Inline, so a timed call is the
   instruction and the register moves around it. */
#ifndef SMCCC_H
#define SMCCC_H

#include "sys.h"

struct smccc_result {
    u64 x0, x1, x2, x3;
};

#define SMCCC_CALL(insn, fid, a1, a2, a3, a4, a5, a6, a7) ({                                               \
    register u64 x0_ __asm__("x0") = (fid);                                                                 \
    register u64 x1_ __asm__("x1") = (a1);                                                                  \
    register u64 x2_ __asm__("x2") = (a2);                                                                  \
    register u64 x3_ __asm__("x3") = (a3);                                                                  \
    register u64 x4_ __asm__("x4") = (a4);                                                                  \
    register u64 x5_ __asm__("x5") = (a5);                                                                  \
    register u64 x6_ __asm__("x6") = (a6);                                                                  \
    register u64 x7_ __asm__("x7") = (a7);                                                                  \
    __asm__ volatile(insn " #0" : "+r"(x0_), "+r"(x1_), "+r"(x2_), "+r"(x3_), "+r"(x4_), "+r"(x5_), "+r"(x6_), \
                     "+r"(x7_) : : "memory");                                                               \
    (struct smccc_result){ x0_, x1_, x2_, x3_ };                                                            \
})

static inline struct smccc_result smc8(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 a7)
{
    return SMCCC_CALL("smc", fid, a1, a2, a3, a4, a5, a6, a7);
}

static inline struct smccc_result hvc8(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 a7)
{
    return SMCCC_CALL("hvc", fid, a1, a2, a3, a4, a5, a6, a7);
}

#endif
