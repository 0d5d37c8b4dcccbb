// Accesses whose faults the guests report: each trigger's first instruction is the one that faults, so the
// return address can be stated relative to the trigger, and a fault handler resumes with ELR + 4.

    .text
    .global trig_load, trig_store, trig_ldtr
// x0 = address; returns the loaded value.
trig_load:
    ldr     x0, [x0]
    ret
// x0 = address, x1 = value.
trig_store:
    str     x1, [x0]
    ret
// x0 = address; an unprivileged (EL0) load from EL1.
trig_ldtr:
    ldtr    x0, [x0]
    ret

// x0 = EL0 entry, x1 = EL0 stack top. Drops to EL0t with interrupts masked. EL0 code comes back by an
// exception whose handler returns to el0_back at EL1h (sys.h: return_from_el0).
    .global enter_el0, el0_back
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
