/* Synchronous exceptions at EL1 and from EL0: each trigger's syndrome (EC, the architecturally defined ISS
   fields), the vector it entered by, the return address relative to the faulting instruction and FAR. */
#include "sys.h"

extern char trig_svc[], trig_brk[], trig_udf[], trig_sp_fault[];
extern char el0_code[], el0_svc[], el0_smc_code[], el0_smc[], el0_hvc_code[], el0_hvc[];
u64 trig_hvc(u64 fid);
void trig_sp_align(u64 sp);

static struct {
    int taken;
    u64 vector, esr, elr, far, spsr, x0;
} last;

static void hook(struct frame *f, u64 vector)
{
    last.taken = 1;
    last.vector = vector;
    last.esr = f->esr;
    last.elr = f->elr;
    last.far = f->far;
    last.spsr = f->spsr;
    last.x0 = f->x[0];
    if (vector == VEC_SYNC_EL0) {
        return_from_el0(f);
        return;
    }
    u64 ec = EC(f->esr);
    /* SVC and HVC return past themselves already; everything else is retried unless skipped. */
    if (ec != 0x15 && ec != 0x16) f->elr += 4;
}

/* D17.2.40: for aborts taken to EL1 only these ISS fields are defined whatever ISV says; the access
   details under ISV and EA are IMPLEMENTATION DEFINED, so they are not compared. */
#define ABORT_ISS_MASK 0x5ffUL /* FnV, CM, S1PTW, WnR, xFSC */

static void report(const char *name, const char *at, int far_valid, u64 far_base)
{
    if (!last.taken) {
        say("%s: no exception\n", name);
        return;
    }
    u64 ec = EC(last.esr), iss = ISS(last.esr);
    if (ec == 0x24 || ec == 0x25 || ec == 0x20 || ec == 0x21) iss &= ABORT_ISS_MASK;
    say("%s: vector %lu EC 0x%lx IL %lu ISS 0x%lx ELR %+ld", name, last.vector, ec, (last.esr >> 25) & 1, iss,
        (long)(last.elr - (u64)at));
    if (far_valid && far_base) say(" FAR buffer+0x%lx", last.far - far_base);
    else if (far_valid) say(" FAR 0x%lx", last.far);
    say("\n");
    last.taken = 0;
}

static u64 buffer[4] __attribute__((aligned(16)));
static u64 el0_stack[64] __attribute__((aligned(16)));

/* Nothing claims this address on either machine (a gap below Jit's ECAM and in QEMU virt's map). */
#define UNCLAIMED 0x0b000000UL

int main(void)
{
    exception_hook = hook;

    ((void (*)(void))trig_svc)();
    report("svc #0x123", trig_svc, 0, 0);

    ((void (*)(void))trig_brk)();
    report("brk #0x42", trig_brk, 0, 0);

    u64 r = trig_hvc(0x8000ff00UL);
    say("hvc unknown function: x0 %ld\n", (long)r);
    if (last.taken) report("hvc unknown function", (char *)trig_hvc, 0, 0);

    ((void (*)(void))trig_udf)();
    report("udf", trig_udf, 0, 0);

    do_load(UNCLAIMED + 8);
    report("load unclaimed", trig_load, 1, 0);
    do_store(UNCLAIMED + 16, 1);
    report("store unclaimed", trig_store, 1, 0);

    u64 sctlr = sysreg_read(sctlr_el1);
    sysreg_write(sctlr_el1, sctlr | 2); /* A: alignment checks on every access */
    isb();
    do_load((u64)buffer + 4);
    report("misaligned load, SCTLR.A", trig_load, 1, (u64)buffer);
    sysreg_write(sctlr_el1, sctlr);
    isb();

    trig_sp_align((u64)&el0_stack[32] + 8);
    report("SP misaligned load", trig_sp_fault, 0, 0);

    enter_el0(el0_code, &el0_stack[64]);
    report("svc #7 from EL0", el0_svc, 0, 0);
    say("EL0 SPSR.M 0x%lx x0 0x%lx\n", last.spsr & 0xf, last.x0);

    enter_el0(el0_smc_code, &el0_stack[64]);
    report("smc #0 from EL0", el0_smc, 0, 0);
    enter_el0(el0_hvc_code, &el0_stack[64]);
    report("hvc #0 from EL0", el0_hvc, 0, 0);
    return 0;
}
