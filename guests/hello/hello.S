// The smallest guest: prints a line on the PL011 and powers the machine off through PSCI.
// Runs at EL1 with the MMU off, straight from the entry point; it needs no stack.

    .equ UART_BASE,  0x22000000
    .equ UART_DR,    0x000
    .equ UART_FR,    0x018
    .equ FR_TXFF,    5              // transmit FIFO full
    .equ PSCI_SYSTEM_OFF, 0x84000008

    .section .text.boot, "ax"
    .global _start
_start:
    mov     x1, #UART_BASE
    adr     x2, message
next_char:
    ldrb    w3, [x2], #1
    cbz     w3, power_off
wait_fifo:
    // MMU off makes the UART Device memory: 32-bit accesses, as the PL011's APB port expects.
    ldr     w4, [x1, #UART_FR]
    tbnz    w4, #FR_TXFF, wait_fifo
    str     w3, [x1, #UART_DR]
    b       next_char

power_off:
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
    // SYSTEM_OFF does not return; if a broken hypervisor lets it, stop here instead of running off the end.
1:  wfi
    b       1b

    .ltorg

    .section .rodata
message:
    .asciz  "Hello from AArch64\n"
