/*
 * Process entry, the switch into a case and back, and the two stubs that the harness copies into the
 * region at fixed offsets (see protocol.h).
 */
#include "protocol.h"

    .text
    .global _start
_start:
    mov     x29, #0
    mov     x30, #0
    mov     x0, sp
    bl      harness_main
    mov     x8, #94             /* exit_group */
    svc     #0

/*
 * int run_case(void): saves the callee-saved registers on the harness stack, remembers that stack in
 * harness_sp and enters the case through the entry stub. The exit stub or the fault handler comes back
 * at case_return with the status in x0 and sp = harness_sp.
 */
    .global run_case
run_case:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    adrp    x1, harness_sp
    mov     x2, sp
    str     x2, [x1, :lo12:harness_sp]
    ldr     x1, =(REGION_BASE + ENTRY_STUB_OFFSET)
    br      x1

    .global case_return
case_return:
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
    .ltorg

/*
 * Copied to REGION_BASE + EXIT_STUB_OFFSET. Saves every register of the case, SP, NZCV, V0-V31, FPCR and FPSR
 * into out_regs without disturbing any of them first: TPIDR_EL0 holds x0 while x0 becomes the base address. Literals
 * are absolute, so the copy works anywhere.
 */
    .balign 8
    .global exit_stub_start, exit_stub_end
exit_stub_start:
    msr     tpidr_el0, x0
    ldr     x0, 1f
    stp     x1, x2, [x0, #8]
    stp     x3, x4, [x0, #24]
    stp     x5, x6, [x0, #40]
    stp     x7, x8, [x0, #56]
    stp     x9, x10, [x0, #72]
    stp     x11, x12, [x0, #88]
    stp     x13, x14, [x0, #104]
    stp     x15, x16, [x0, #120]
    stp     x17, x18, [x0, #136]
    stp     x19, x20, [x0, #152]
    stp     x21, x22, [x0, #168]
    stp     x23, x24, [x0, #184]
    stp     x25, x26, [x0, #200]
    stp     x27, x28, [x0, #216]
    stp     x29, x30, [x0, #232]
    mrs     x1, tpidr_el0
    str     x1, [x0]
    mov     x1, sp
    str     x1, [x0, #248]
    mrs     x1, nzcv
    str     x1, [x0, #256]
    stp     q0, q1, [x0, #REGS_V + 0]
    stp     q2, q3, [x0, #REGS_V + 32]
    stp     q4, q5, [x0, #REGS_V + 64]
    stp     q6, q7, [x0, #REGS_V + 96]
    stp     q8, q9, [x0, #REGS_V + 128]
    stp     q10, q11, [x0, #REGS_V + 160]
    stp     q12, q13, [x0, #REGS_V + 192]
    stp     q14, q15, [x0, #REGS_V + 224]
    stp     q16, q17, [x0, #REGS_V + 256]
    stp     q18, q19, [x0, #REGS_V + 288]
    stp     q20, q21, [x0, #REGS_V + 320]
    stp     q22, q23, [x0, #REGS_V + 352]
    stp     q24, q25, [x0, #REGS_V + 384]
    stp     q26, q27, [x0, #REGS_V + 416]
    stp     q28, q29, [x0, #REGS_V + 448]
    stp     q30, q31, [x0, #REGS_V + 480]
    mrs     x1, fpcr
    str     x1, [x0, #REGS_FPCR]
    mrs     x1, fpsr
    str     x1, [x0, #REGS_FPSR]
    ldr     x1, 2f
    ldr     x1, [x1]
    mov     sp, x1
    mov     x0, #0
    ldr     x1, 3f
    br      x1
    .balign 8
1:  .quad   out_regs
2:  .quad   harness_sp
3:  .quad   case_return
exit_stub_end:

/*
 * Copied to REGION_BASE + ENTRY_STUB_OFFSET. Loads the case's registers from in_regs (FP/SIMD ones too: the
 * harness's C is built with -mgeneral-regs-only, so nothing else touches them); the last word is
 * patched with a branch to REGION_BASE. CLREX keeps an exclusive monitor left open by the previous case
 * from reaching this one.
 */
    .balign 8
    .global entry_stub_start, entry_stub_branch, entry_stub_end
entry_stub_start:
    clrex
    ldr     x0, 1f
    ldr     x1, [x0, #256]
    msr     nzcv, x1
    ldr     x1, [x0, #248]
    mov     sp, x1
    ldr     x1, [x0, #REGS_FPCR]
    msr     fpcr, x1
    ldr     x1, [x0, #REGS_FPSR]
    msr     fpsr, x1
    ldp     q0, q1, [x0, #REGS_V + 0]
    ldp     q2, q3, [x0, #REGS_V + 32]
    ldp     q4, q5, [x0, #REGS_V + 64]
    ldp     q6, q7, [x0, #REGS_V + 96]
    ldp     q8, q9, [x0, #REGS_V + 128]
    ldp     q10, q11, [x0, #REGS_V + 160]
    ldp     q12, q13, [x0, #REGS_V + 192]
    ldp     q14, q15, [x0, #REGS_V + 224]
    ldp     q16, q17, [x0, #REGS_V + 256]
    ldp     q18, q19, [x0, #REGS_V + 288]
    ldp     q20, q21, [x0, #REGS_V + 320]
    ldp     q22, q23, [x0, #REGS_V + 352]
    ldp     q24, q25, [x0, #REGS_V + 384]
    ldp     q26, q27, [x0, #REGS_V + 416]
    ldp     q28, q29, [x0, #REGS_V + 448]
    ldp     q30, q31, [x0, #REGS_V + 480]
    ldp     x1, x2, [x0, #8]
    ldp     x3, x4, [x0, #24]
    ldp     x5, x6, [x0, #40]
    ldp     x7, x8, [x0, #56]
    ldp     x9, x10, [x0, #72]
    ldp     x11, x12, [x0, #88]
    ldp     x13, x14, [x0, #104]
    ldp     x15, x16, [x0, #120]
    ldp     x17, x18, [x0, #136]
    ldp     x19, x20, [x0, #152]
    ldp     x21, x22, [x0, #168]
    ldp     x23, x24, [x0, #184]
    ldp     x25, x26, [x0, #200]
    ldp     x27, x28, [x0, #216]
    ldp     x29, x30, [x0, #232]
    ldr     x0, [x0]
entry_stub_branch:
    .word   0
    .balign 8
1:  .quad   in_regs
entry_stub_end:

    .bss
    .balign 16
    .global harness_sp, in_regs, out_regs
harness_sp:
    .skip   8
    .balign 16
in_regs:
    .skip   REGS_WORDS * 8
    .balign 16
out_regs:
    .skip   REGS_WORDS * 8

    .section .note.GNU-stack, "", %progbits
