// Executes a block of pseudo-random instruction words at EL1 and counts the exceptions they raise.
//
// Every exception goes to one handler that adds one to the count and returns past the faulting word, so
// undefined encodings, aborts and traps must all be architectural exceptions: if any of them surfaced as an
// emulator error instead, the guest would never print its count.
//
// The words are filtered so the block flows straight through: branches, exception-generating and system
// instructions (bits 28:26 = 0b101) become data-processing words, and ADR/ADRP become reserved encodings, since
// their results point at this program and a later store through one could overwrite it. Everything else —
// data processing, loads and stores through random registers, SIMD and FP — is kept.

#ifndef UART_BASE
#define UART_BASE 0x22000000
#endif
    .equ PSCI_SYSTEM_OFF, 0x84000008
    .equ WORDS, 4096

    .section .text.boot, "ax"
    .global _start
_start:
    adr     x0, vectors
    msr     vbar_el1, x0
    // The count lives in a system register: the random block can change any general register and any memory
    // it reaches, but it contains no MSR.
    msr     tpidrro_el0, xzr
    isb
    // Start from zero so that addresses formed by the block are small and unclaimed rather than inside RAM.
    mov     x0, #0
    mov     sp, x0
    .irp    r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    mov     x\r, #0
    .endr

garbage_start:
    .set    seed, 0x2545F491
    .rept   WORDS
    .set    seed, seed ^ ((seed << 13) & 0xffffffff)
    .set    seed, seed ^ (seed >> 17)
    .set    seed, seed ^ ((seed << 5) & 0xffffffff)
    .set    word, seed
    .if     ((word >> 26) & 7) == 5
    .set    word, word ^ (1 << 26)
    .endif
    .if     ((word >> 24) & 0x1f) == 0x10
    .set    word, word & 0xefffffff
    .endif
    .inst   word
    .endr
garbage_end:

    ldr     x0, =stack_top
    mov     sp, x0
    mrs     x19, tpidrro_el0
    adr     x0, label
    bl      puts
    mov     x0, x19
    bl      put_decimal
    adr     x0, suffix
    bl      puts
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
1:  wfi
    b       1b

// puts(x0 = NUL-terminated string); clobbers x0-x3.
puts:
    mov     x1, #UART_BASE
2:  ldrb    w2, [x0], #1
    cbz     w2, 4f
3:  ldr     w3, [x1, #0x18]
    tbnz    w3, #5, 3b
    str     w2, [x1]
    b       2b
4:  ret

// put_decimal(x0); clobbers x0-x6 and the 32 bytes below SP.
put_decimal:
    sub     sp, sp, #32
    add     x4, sp, #31
    strb    wzr, [x4]
    mov     x5, #10
5:  udiv    x6, x0, x5
    msub    x2, x6, x5, x0
    add     w2, w2, #'0'
    strb    w2, [x4, #-1]!
    mov     x0, x6
    cbnz    x0, 5b
    mov     x0, x4
    mov     x6, x30
    bl      puts
    mov     x30, x6
    add     sp, sp, #32
    ret

// All sixteen vectors take the same path: only the synchronous ones can fire with DAIF masked, and the
// block cannot change the exception level or the stack selection.
    .balign 2048
vectors:
    .rept   16
    b       count_and_skip
    .balign 0x80
    .endr

count_and_skip:
    msr     tpidr_el1, x0
    mrs     x0, tpidrro_el0
    add     x0, x0, #1
    msr     tpidrro_el0, x0
    mrs     x0, elr_el1
    add     x0, x0, #4
    msr     elr_el1, x0
    mrs     x0, tpidr_el1
    eret

    .ltorg

    .section .rodata
label:
    .asciz  "garbage: "
suffix:
    .asciz  " exceptions, survived\n"

    .section .bss
    .balign 16
    .space  4096
stack_top:
