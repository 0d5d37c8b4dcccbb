// Each trigger's first instruction is the one that raises the exception, so the C side can state the
// exception's return address relative to the trigger's own address.

    .text
    .global trig_svc, trig_brk, trig_udf, trig_load, trig_store, trig_hvc
trig_svc:
    svc     #0x123
    ret
trig_brk:
    brk     #0x42
    ret
trig_udf:
    udf     #0x5a5a
    ret
trig_load:
    ldr     x0, [x0]
    ret
trig_store:
    str     x1, [x0]
    ret
// x0 = function ID; returns what the call left in x0.
trig_hvc:
    hvc     #0
    ret

// x0 = the misaligned value for SP_EL0. The load through SP runs at EL1t, so the exception is taken on the
// (aligned) SP_EL1 and enters through the "current EL with SP_EL0" vector.
    .global trig_sp_align, trig_sp_fault
trig_sp_align:
    msr     spsel, #0
    mov     x1, sp
    mov     sp, x0
trig_sp_fault:
    ldr     x2, [sp]
    mov     sp, x1
    msr     spsel, #1
    ret

// x0 = EL0 entry, x1 = EL0 stack top. Drops to EL0t with interrupts masked; the EL0 code's SVC comes back
// to el0_back (the exception hook points the return there at EL1h).
    .global enter_el0, el0_back, el0_code, el0_svc
enter_el0:
    stp     x29, x30, [sp, #-16]!
    msr     elr_el1, x0
    msr     sp_el0, x1
    mov     x2, #0x3c0
    msr     spsr_el1, x2
    eret
el0_back:
    ldp     x29, x30, [sp], #16
    ret

el0_code:
    mov     x0, #0x2a
el0_svc:
    svc     #7
    b       el0_svc
