// Each trigger's first instruction is the one that raises the exception, so the C side can state the
// exception's return address relative to the trigger's own address.

    .text
    .global trig_svc, trig_brk, trig_udf, trig_hvc
trig_svc:
    svc     #0x123
    ret
trig_brk:
    brk     #0x42
    ret
trig_udf:
    udf     #0x5a5a
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

    .global el0_code, el0_svc
el0_code:
    mov     x0, #0x2a
el0_svc:
    svc     #7
    b       el0_svc

// SMC and HVC are UNDEFINED at EL0 (D1.2, "Exception-generating instructions"): neither reaches EL2 or EL3.
// x0 holds SYSTEM_OFF, so a call that wrongly got through would end the run.
    .global el0_smc_code, el0_smc, el0_hvc_code, el0_hvc
el0_smc_code:
    movz    x0, #0x8400, lsl #16
    movk    x0, #0x0008
el0_smc:
    smc     #0
    b       el0_smc
el0_hvc_code:
    movz    x0, #0x8400, lsl #16
    movk    x0, #0x0008
el0_hvc:
    hvc     #0
    b       el0_hvc
