/* GICv3 delivery of SGIs to this CPU: taken through the IRQ vector, acknowledged and ended through the
   system-register CPU interface, in priority order, and held back by the priority mask. */
#include "sys.h"

static u32 taken[16];
static volatile int ntaken;

static void hook(struct frame *f, u64 vector)
{
    if (vector != VEC_IRQ_SPX) {
        say("unexpected exception: vector %lu EC 0x%lx\n", vector, EC(f->esr));
        fail("unexpected exception");
    }
    u64 intid = sysreg_read(ICC_IAR1_EL1) & 0xffffff;
    if (ntaken < 16) taken[ntaken] = (u32)intid;
    ntaken++;
    if (intid < 1020) sysreg_write(ICC_EOIR1_EL1, intid);
}

static void send_sgi_to_self(u64 intid)
{
    u64 mpidr = sysreg_read(mpidr_el1);
    u64 target = 1UL << (mpidr & 0xf);
    u64 v = target | (mpidr >> 8 & 0xff) << 16 | intid << 24 | (mpidr >> 16 & 0xff) << 32 | (mpidr >> 32 & 0xff) << 48;
    sysreg_write(ICC_SGI1R_EL1, v);
    isb();
}

/* Long enough for either machine to deliver a pending interrupt: both check at block boundaries. */
static void settle(void)
{
    for (volatile int i = 0; i < 20000; i++)
        ;
}

static void print_taken(const char *name)
{
    say("%s:", name);
    if (!ntaken) say(" none");
    for (int i = 0; i < ntaken && i < 16; i++) say(" %u", taken[i]);
    say("\n");
    ntaken = 0;
}

int main(void)
{
    exception_hook = hook;
    gic_init();
    gic_enable_ppi(1, 0xa0);
    gic_enable_ppi(2, 0x40);
    gic_enable_ppi(3, 0x80);
    gic_enable_ppi(4, 0x80);
    gic_enable_ppi(5, 0xa0);

    say("IAR with nothing pending: %lu\n", sysreg_read(ICC_IAR1_EL1) & 0xffffff);

    irq_enable();
    send_sgi_to_self(1);
    settle();
    print_taken("SGI 1 taken");

    /* Pended together while masked, taken highest priority (lowest value) first. */
    irq_disable();
    send_sgi_to_self(3);
    send_sgi_to_self(5);
    send_sgi_to_self(2);
    settle();
    say("pending while masked: 0x%x\n", gic_pending_ppis() & 0xffff);
    irq_enable();
    settle();
    print_taken("SGIs 3, 5, 2 by priority");

    /* A priority of 0x80 is not above a mask of 0x60: the SGI waits until the mask rises. */
    sysreg_write(ICC_PMR_EL1, 0x60);
    isb();
    send_sgi_to_self(4);
    settle();
    print_taken("SGI 4 under PMR 0x60");
    say("SGI 4 pending: %u\n", (gic_pending_ppis() >> 4) & 1);
    sysreg_write(ICC_PMR_EL1, 0x90);
    isb();
    settle();
    print_taken("after PMR 0x90");
    sysreg_write(ICC_PMR_EL1, 0xff);
    isb();

    /* Disabled SGIs stay pending without being taken. */
    send_sgi_to_self(6);
    settle();
    print_taken("disabled SGI 6");
    say("SGI 6 pending: %u\n", (gic_pending_ppis() >> 6) & 1);
    gic_enable_ppi(6, 0x80);
    settle();
    print_taken("SGI 6 once enabled");
    irq_disable();
    return 0;
}
