// Entry, relocation and exception vectors shared by the system guests (sys.h describes the C side).

    .equ PSCI_SYSTEM_OFF, 0x84000008
    .equ RAM_BASE, 0x40000000
    // SCTLR_EL1 with the MMU and caches off and SP alignment checks (SA, SA0) on: both machines start the
    // guests from the same value whatever their reset value is. Bits 29:28, 23:22, 20 and 11 are RES1.
    .equ SCTLR_BOOT, 0x30d00818
    .equ FRAME_SIZE, 288

    .section .text.boot, "ax"
    .global _start
_start:
    // QEMU passes no device tree pointer to a bare-metal ELF but puts the tree at the RAM base; Jit passes it
    // in x0 as it does to Linux.
    mov     x19, x0
    cbnz    x19, 1f
    mov     x19, #RAM_BASE
1:
    ldr     x1, =SCTLR_BOOT
    msr     sctlr_el1, x1
    isb
    // Until the image is at its linked address only PC-relative addressing works.
    adr     x0, _start
    ldr     x1, =__image_start
    ldr     x2, =__image_end
    cmp     x0, x1
    b.eq    moved
    sub     x3, x2, x1
copy:
    ldp     x4, x5, [x0], #16
    stp     x4, x5, [x1], #16
    subs    x3, x3, #16
    b.hi    copy
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    ldr     x0, =moved
    br      x0
moved:
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
clear_bss:
    cmp     x0, x1
    b.hs    cleared
    stp     xzr, xzr, [x0], #16
    b       clear_bss
cleared:
    ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    mov     x0, x19
    bl      sys_boot
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
2:  wfi
    b       2b

// PSCI CPU_ON entry of a secondary vCPU: x0 (the context ID) is the top of its stack.
    .global secondary_entry
secondary_entry:
    ldr     x1, =SCTLR_BOOT
    msr     sctlr_el1, x1
    mov     sp, x0
    ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    bl      secondary_main
3:  wfi
    b       3b

    .ltorg

// Every vector saves the interrupted context in a frame on SP_EL1 and calls sys_exception(frame, index);
// the C side may change the frame (return address, SPSR, registers) before it is restored and ERET taken.
    .macro  vector index
    .balign 128
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #\index
    b       save_and_handle
    .endm

    .balign 2048
    .global vectors
vectors:
    .irp    i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    vector  \i
    .endr

save_and_handle:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x30, x2, [sp, #240]
    mrs     x2, esr_el1
    stp     x3, x2, [sp, #256]
    mrs     x2, far_el1
    str     x2, [sp, #272]
    mov     x0, sp
    bl      sys_exception
    ldp     x30, x2, [sp, #240]
    ldr     x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret
