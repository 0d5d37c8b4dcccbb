/* The EL1 virtual timer: a compare value in the future raises PPI 27 only once the counter has passed it,
   ISTATUS follows the condition, IMASK holds the interrupt back, and WFI wakes for it. */
#include "sys.h"

#define TIMER_PPI   27
#define CTL_ENABLE  1UL
#define CTL_IMASK   2UL
#define CTL_ISTATUS 4UL

static volatile int fired;
static volatile u64 fired_intid, fired_count, fired_ctl;

static void hook(struct frame *f, u64 vector)
{
    if (vector != VEC_IRQ_SPX) {
        say("unexpected exception: vector %lu EC 0x%lx\n", vector, EC(f->esr));
        fail("unexpected exception");
    }
    u64 intid = sysreg_read(ICC_IAR1_EL1) & 0xffffff;
    fired_count = sysreg_read(cntvct_el0);
    fired_ctl = sysreg_read(cntv_ctl_el0);
    fired_intid = intid;
    fired++;
    /* The timer's output is a level: mask it before ending the interrupt or it is taken again at once. */
    sysreg_write(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
    isb();
    if (intid < 1020) sysreg_write(ICC_EOIR1_EL1, intid);
}

int main(void)
{
    exception_hook = hook;
    gic_init();
    gic_enable_ppi(TIMER_PPI, 0x80);
    u64 freq = sysreg_read(cntfrq_el0);
    say("CNTFRQ %lu Hz\n", freq);

    u64 t0 = sysreg_read(cntvct_el0);
    for (volatile int i = 0; i < 1000; i++)
        ;
    u64 t1 = sysreg_read(cntvct_el0);
    say("counter advances: %s\n", t1 > t0 ? "yes" : "no");

    /* Half a second ahead: ISTATUS must still read clear even when a busy host deschedules the vCPU for a while. */
    u64 deadline = sysreg_read(cntvct_el0) + freq / 2;
    sysreg_write(cntv_cval_el0, deadline);
    sysreg_write(cntv_ctl_el0, CTL_ENABLE);
    isb();
    say("before the deadline: ISTATUS %lu\n", (sysreg_read(cntv_ctl_el0) & CTL_ISTATUS) >> 2);
    /* Masked between the look at the flag and WFI (see wait_for_flag); bounded, so a timer that never fires is reported. */
    int wakes = 0;
    while (!fired && wakes < 1000) {
        __asm__ volatile("wfi" ::: "memory");
        irq_enable();
        irq_disable();
        wakes++;
    }
    say("interrupt: %s, INTID %lu, ISTATUS %lu, after the deadline: %s\n", fired ? "taken" : "not taken",
        fired_intid, (fired_ctl & CTL_ISTATUS) >> 2, fired_count >= deadline ? "yes" : "NO");
    say("taken once: %s\n", fired == 1 ? "yes" : "no");

    /* Masked: the condition holds (ISTATUS) but nothing is signalled. */
    fired = 0;
    sysreg_write(cntv_cval_el0, 0);
    sysreg_write(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
    isb();
    irq_enable();
    for (volatile int i = 0; i < 20000; i++)
        ;
    irq_disable();
    say("masked, deadline passed: ISTATUS %lu, taken %d, pending %u\n",
        (sysreg_read(cntv_ctl_el0) & CTL_ISTATUS) >> 2, fired, (gic_pending_ppis() >> TIMER_PPI) & 1);

    /* TVAL is the signed distance to CVAL; it counts down. */
    sysreg_write(cntv_ctl_el0, 0);
    sysreg_write(cntv_tval_el0, freq);
    isb();
    u64 cval = sysreg_read(cntv_cval_el0), now = sysreg_read(cntvct_el0);
    long tval = (long)(int)sysreg_read(cntv_tval_el0);
    say("TVAL write sets CVAL ahead: %s, TVAL counts down: %s\n", cval > now && cval - now <= freq ? "yes" : "no",
        tval > 0 && tval <= (long)freq ? "yes" : "no");
    sysreg_write(cntv_cval_el0, now - 100);
    isb();
    tval = (long)(int)sysreg_read(cntv_tval_el0);
    say("past CVAL gives negative TVAL: %s\n", tval < 0 ? "yes" : "no");

    /* A disabled timer signals nothing and reports ISTATUS 0. */
    say("disabled: ISTATUS %lu\n", (sysreg_read(cntv_ctl_el0) & CTL_ISTATUS) >> 2);
    return 0;
}
