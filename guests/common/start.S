// Entry of the C bare-metal guests: a stack, a cleared .bss, main(), then PSCI SYSTEM_OFF.
// The exit status of main is not reported anywhere yet; the program prints its own result.

    .equ PSCI_SYSTEM_OFF, 0x84000008

    .section .text.boot, "ax"
    .global _start
_start:
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
    // The linker script aligns both ends to 16 bytes; with the MMU off stores must be aligned.
clear_bss:
    cmp     x0, x1
    b.hs    call_main
    stp     xzr, xzr, [x0], #16
    b       clear_bss
call_main:
    bl      main
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
1:  wfi
    b       1b

    .ltorg
