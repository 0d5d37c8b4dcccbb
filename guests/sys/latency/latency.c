/* Latency of the operations a hypervisor's exits are made of, timed inside the guest with the virtual counter
   (CNTVCT_EL0, at CNTFRQ_EL0) so the figures compare across machines: one line per operation,
       latency <name> mean=<ns> p50=<ns> p99=<ns> n=<samples>
   or "latency <name> n/a" where the machine does not offer the operation (SMC on QEMU's virt machine without
   EL3 is UNDEFINED). Needs two CPUs for the IPI round trip: `jit run --kernel … --smp 2`, or QEMU's `-smp 2`.
   Fast operations are timed in batches of BATCH, because one counter tick (16 ns at 62.5 MHz) is longer than
   some of them; a sample is then the batch's time divided by BATCH. */
#include "sys.h"

#ifndef SAMPLES
#define SAMPLES 1000
#endif
#ifndef SLOW_SAMPLES
#define SLOW_SAMPLES 200 /* the IPI and timer measurements, which wait for another thread or a deadline */
#endif
#define BATCH 8

#define SMCCC_VERSION 0x80000000UL
#define UART_FR       0x018
#define UART_IMSC     0x038
#define TIMER_PPI     27
#define SGI_PING      1 /* CPU 0 → CPU 1 */
#define SGI_PONG      2 /* CPU 1 → CPU 0 */
#define SGI_SELF      3
#define CTL_ENABLE    1UL
#define CTL_IMASK     2UL

static u64 samples[SAMPLES];
static u64 freq;

/* ISB first: the counter read must not be hoisted above the operations it times. */
static inline u64 now(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

/* Shell sort: the interpreter runs this too, and an O(n^2) sort of a thousand samples would dominate. */
static void sort(u64 *a, int n)
{
    for (int gap = n / 2; gap > 0; gap /= 2)
        for (int i = gap; i < n; i++) {
            u64 v = a[i];
            int j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) a[j] = a[j - gap];
            a[j] = v;
        }
}

/* Tenths of a nanosecond per operation for `ticks` counter ticks spent on `ops` operations. */
static u64 tenth_ns(u64 ticks, u64 ops)
{
    return ticks * 10000000000UL / freq / ops;
}

static void print_tenths(const char *key, u64 t)
{
    say(" %s=%lu.%lu", key, t / 10, t % 10);
}

/* Prints one result line for n samples, each the ticks of `per_sample` operations. */
static void report(const char *name, int n, u64 per_sample)
{
    u64 sum = 0;
    for (int i = 0; i < n; i++) sum += samples[i];
    sort(samples, n);
    say("latency %s", name);
    print_tenths("mean", tenth_ns(sum, (u64)n * per_sample));
    print_tenths("p50", tenth_ns(samples[n / 2], per_sample));
    print_tenths("p99", tenth_ns(samples[(n * 99) / 100], per_sample));
    say(" n=%d\n", n);
}

/* ---- exceptions: the SMC probe and the interrupt handlers of both CPUs ---- */

static volatile int undefined_taken;
static volatile int self_taken, pong_taken, timer_taken;
static volatile u64 timer_count;

static void send_sgi(u64 intid, u64 cpu)
{
    /* Both machines number CPUs by Aff0 inside affinity 0.0.0: the target list bit is the Aff0 value. */
    sysreg_write(ICC_SGI1R_EL1, (1UL << cpu) | intid << 24);
    isb();
}

static void hook(struct frame *f, u64 vector)
{
    if (vector == VEC_SYNC_SPX && EC(f->esr) == 0) {
        /* An UNDEFINED SMC: note it and step over it. */
        undefined_taken = 1;
        f->elr += 4;
        return;
    }
    if (vector != VEC_IRQ_SPX) {
        say("unexpected exception: vector %lu EC 0x%lx\n", vector, EC(f->esr));
        fail("unexpected exception");
    }
    u64 intid = sysreg_read(ICC_IAR1_EL1) & 0xffffff;
    if (intid == TIMER_PPI) {
        timer_count = sysreg_read(cntvct_el0);
        timer_taken = 1;
        /* The timer's output is a level: mask it before ending the interrupt or it is taken again at once. */
        sysreg_write(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
        isb();
    } else if (intid == SGI_PING) {
        send_sgi(SGI_PONG, 0);
    } else if (intid == SGI_PONG) {
        pong_taken = 1;
    } else if (intid == SGI_SELF) {
        self_taken = 1;
    }
    if (intid < 1020) sysreg_write(ICC_EOIR1_EL1, intid);
}

/* ---- the measurements ---- */

static void counter_read(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        samples[i] = now() - t0;
    }
    report("counter-read", SAMPLES, 1);
}

static void mmio_read(void)
{
    u64 fr = platform.uart + UART_FR;
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) mmio_read32(fr);
        samples[i] = now() - t0;
    }
    report("mmio-read", SAMPLES, BATCH);
}

/* IMSC written with the value it holds: a register write with no effect on the device. */
static void mmio_write(void)
{
    u64 imsc = platform.uart + UART_IMSC;
    u32 v = mmio_read32(imsc);
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) mmio_write32(imsc, v);
        samples[i] = now() - t0;
    }
    report("mmio-write", SAMPLES, BATCH);
}

static inline u64 smc_call(u64 fid)
{
    register u64 x0 __asm__("x0") = fid;
    register u64 x1 __asm__("x1") = 0;
    register u64 x2 __asm__("x2") = 0;
    register u64 x3 __asm__("x3") = 0;
    __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return x0;
}

static void hvc_round_trip(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) hvc_call(SMCCC_VERSION, 0, 0, 0);
        samples[i] = now() - t0;
    }
    report("hvc", SAMPLES, BATCH);
}

static void smc_round_trip(void)
{
    undefined_taken = 0;
    smc_call(SMCCC_VERSION);
    if (undefined_taken) {
        say("latency smc n/a\n");
        return;
    }
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) smc_call(SMCCC_VERSION);
        samples[i] = now() - t0;
    }
    report("smc", SAMPLES, BATCH);
}

/* Acknowledge and end of interrupt through the CPU interface: BATCH SGIs are made pending with interrupts
   masked, then each sample times BATCH IAR + EOIR pairs. */
static void gic_ack_eoi(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        for (u64 sgi = 8; sgi < 8 + BATCH; sgi++) send_sgi(sgi, 0);
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) {
            u64 intid = sysreg_read(ICC_IAR1_EL1) & 0xffffff;
            sysreg_write(ICC_EOIR1_EL1, intid);
        }
        samples[i] = now() - t0;
    }
    report("gic-ack-eoi", SAMPLES, BATCH);
    if ((sysreg_read(ICC_IAR1_EL1) & 0xffffff) != 1023) fail("SGIs still pending after gic-ack-eoi");
}

/* A self-SGI from the write of ICC_SGI1R_EL1 to the end of its handler: delivery, exception entry, IAR,
   EOIR and the exception return. */
static void sgi_self(void)
{
    irq_enable();
    for (int i = 0; i < SAMPLES; i++) {
        self_taken = 0;
        u64 t0 = now();
        send_sgi(SGI_SELF, 0);
        while (!self_taken)
            ;
        samples[i] = now() - t0;
    }
    irq_disable();
    report("sgi-self", SAMPLES, 1);
}

static volatile int secondary_ready;
static u64 secondary_stack[512] __attribute__((aligned(16)));

/* CPU 1 answers every ping with a pong, sleeping in WFI in between as an idle kernel would. */
static void secondary(void)
{
    gic_init_cpu();
    gic_enable_ppi(SGI_PING, 0x80);
    irq_enable();
    dsb();
    secondary_ready = 1;
    for (;;) __asm__ volatile("wfi");
}

static void ipi_round_trip(void)
{
    long r = (long)hvc_call(PSCI_CPU_ON, 1, (u64)secondary_entry, (u64)&secondary_stack[512]);
    if (r != 0) {
        say("latency ipi n/a\n");
        return;
    }
    for (int i = 0; i < 100000000 && !secondary_ready; i++)
        ;
    if (!secondary_ready) fail("the secondary CPU did not come up");
    irq_enable();
    for (int i = 0; i < SLOW_SAMPLES; i++) {
        pong_taken = 0;
        u64 t0 = now();
        send_sgi(SGI_PING, 1);
        while (!pong_taken)
            ;
        samples[i] = now() - t0;
    }
    irq_disable();
    report("ipi", SLOW_SAMPLES, 1);
}

/*
 * How late the virtual timer's interrupt handler runs after the programmed deadline: waiting in WFI, or
 * busy in a loop with interrupts unmasked (as a guest polling a flag is), where nothing but the timer's own
 * output can end the wait.
 */
static void timer_latency(int busy)
{
    u64 ahead = freq / 10000; /* 100 µs */
    irq_enable();
    for (int i = 0; i < SLOW_SAMPLES; i++) {
        timer_taken = 0;
        u64 deadline = sysreg_read(cntvct_el0) + ahead;
        sysreg_write(cntv_cval_el0, deadline);
        sysreg_write(cntv_ctl_el0, CTL_ENABLE);
        isb();
        if (busy)
            while (!timer_taken) __asm__ volatile("" ::: "memory");
        else
            while (!timer_taken) __asm__ volatile("wfi");
        samples[i] = timer_count - deadline;
    }
    irq_disable();
    sysreg_write(cntv_ctl_el0, 0);
    report(busy ? "timer-busy" : "timer", SLOW_SAMPLES, 1);
}

int main(void)
{
    exception_hook = hook;
    secondary_hook = secondary;
    freq = sysreg_read(cntfrq_el0);
    if (!freq) fail("CNTFRQ_EL0 is zero");
    gic_init();
    for (u32 sgi = 8; sgi < 8 + BATCH; sgi++) gic_enable_ppi(sgi, 0x80);
    gic_enable_ppi(SGI_SELF, 0x80);
    gic_enable_ppi(SGI_PONG, 0x80);
    gic_enable_ppi(TIMER_PPI, 0x80);
    say("latency-guest freq=%lu samples=%d batch=%d\n", freq, SAMPLES, BATCH);

    counter_read();
    mmio_read();
    mmio_write();
    hvc_round_trip();
    smc_round_trip();
    gic_ack_eoi();
    sgi_self();
    timer_latency(0);
    timer_latency(1);
    /* Last: it leaves CPU 1 running, and CPU 1's redistributor set-up replaced this CPU's in gic.c. */
    ipi_round_trip();
    return 0;
}
