// The guest's MMIO accesses that may fault. Each routine's first instruction is the access, so the exception
// hook (main.c) resumes at ELR + 4, the ret, when a data abort's ELR lies between acc_start and acc_end.

    .text
    .global acc_start, acc_end
    .global acc_rd8, acc_rd16, acc_rd32, acc_rd64, acc_rd128
    .global acc_wr8, acc_wr16, acc_wr32, acc_wr64, acc_wr128
    .balign 4
acc_start:
// x0 = address; returns the value.
acc_rd8:
    ldrb    w0, [x0]
    ret
acc_rd16:
    ldrh    w0, [x0]
    ret
acc_rd32:
    ldr     w0, [x0]
    ret
acc_rd64:
    ldr     x0, [x0]
    ret
// A pair of doublewords in one instruction: two 8-byte accesses for the bus, one data abort for the CPU.
acc_rd128:
    ldp     x2, x3, [x0]
    eor     x0, x2, x3
    ret
// x0 = address, x1 = value (x2 too for the pair).
acc_wr8:
    strb    w1, [x0]
    ret
acc_wr16:
    strh    w1, [x0]
    ret
acc_wr32:
    str     w1, [x0]
    ret
acc_wr64:
    str     x1, [x0]
    ret
acc_wr128:
    stp     x1, x2, [x0]
    ret

// The accesses an operating system does not make to MMIO but a hostile guest may: exclusives, acquire and
// release, non-temporal pairs, unprivileged accesses, LSE atomics, DC ZVA. x0 = address, x1 = value.
    .arch   armv8.1-a
    .global acc_ldxr, acc_stxr, acc_ldar, acc_stlr, acc_ldnp, acc_stnp, acc_ldtr, acc_sttr
    .global acc_ldadd, acc_swp, acc_cas, acc_dczva
acc_ldxr:
    ldxr    x0, [x0]
    ret
acc_stxr:
    stxr    w2, x1, [x0]
    mov     w0, w2
    ret
acc_ldar:
    ldar    w0, [x0]
    ret
acc_stlr:
    stlr    x1, [x0]
    ret
acc_ldnp:
    ldnp    x2, x3, [x0]
    eor     x0, x2, x3
    ret
acc_stnp:
    stnp    x1, x1, [x0]
    ret
acc_ldtr:
    ldtr    w0, [x0]
    ret
acc_sttr:
    sttr    w1, [x0]
    ret
acc_ldadd:
    ldadd   x1, x0, [x0]
    ret
acc_swp:
    swp     w1, w0, [x0]
    ret
acc_cas:
    cas     x1, x2, [x0]
    mov     x0, x1
    ret
acc_dczva:
    dc      zva, x0
    ret
acc_end:
