/* Latency of the operations a hypervisor's exits are made of, timed inside the guest with the virtual counter
   (CNTVCT_EL0, at CNTFRQ_EL0) so the figures compare across machines: one line per operation,
       latency <name> mean=<ns> p50=<ns> p99=<ns> n=<samples>
   or "latency <name> n/a" where the machine does not offer the operation (SMC on QEMU's virt machine without
   EL3 is UNDEFINED). Needs two CPUs for the IPI round trip: `jit run --kernel … --smp 2`, or QEMU's `-smp 2`.
   Fast operations are timed in batches of BATCH, because one counter tick (16 ns at 62.5 MHz) is longer than
   some of them; a sample is then the batch's time divided by BATCH.

   Two builds of this file (guests/Makefile): sys-latency.elf runs with the MMU and caches off, as the
   hypervisor's exit paths are usually measured; sys-latency-mmu.elf (-DMMU_ON) first turns stage-1
   translation and the caches on, on both CPUs, as an operating system does, and names every operation
   <name>/mmu. */
#include "sys.h"
#include "timing.h"

#ifndef SAMPLES
#define SAMPLES 1000
#endif
#ifndef SLOW_SAMPLES
#define SLOW_SAMPLES 200 /* the IPI and timer measurements, which wait for another thread or a deadline */
#endif
#define BATCH 8

#define SMCCC_VERSION 0x80000000UL
/* A fast SMC64 call in the vendor-specific hypervisor service range (owner 6) that neither Xen's nor KVM's
   services define (their calls are numbered below 0x100 and from 0xff00): every SMCCC implementation must
   answer it NOT_SUPPORTED (-1), the SMCCC's return for an unknown function identifier. */
#ifndef HVC_UNKNOWN
#define HVC_UNKNOWN   0xC6001000UL
#endif
#define NOT_SUPPORTED (~0UL)
#define UART_FR       0x018
#define UART_IMSC     0x038
#define TIMER_PPI     27
#define SGI_PING      1 /* CPU 0 → CPU 1 */
#define SGI_PONG      2 /* CPU 1 → CPU 0 */
#define SGI_SELF      3
#define CTL_ENABLE    1UL
#define CTL_IMASK     2UL

#ifdef MMU_ON
#define MODE "/mmu"
#else
#define MODE ""
#endif

static u64 samples[SAMPLES];
static u64 freq;

/* ISB first: the counter read must not be hoisted above the operations it times. */
static inline u64 now(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

/* Prints one result line for n samples, each the ticks of `per_sample` operations. */
static void report(const char *name, int n, u64 per_sample)
{
    u64 sum = 0;
    for (int i = 0; i < n; i++) sum += samples[i];
    sort(samples, n);
    say("latency %s" MODE, name);
    print_tenths("mean", tenth_ns(sum, (u64)n * per_sample, freq));
    print_tenths("p50", tenth_ns(samples[n / 2], per_sample, freq));
    print_tenths("p99", tenth_ns(samples[(n * 99) / 100], per_sample, freq));
    say(" n=%d\n", n);
}

/* ---- the MMU-on mode ---- */

#ifdef MMU_ON
/*
 * Stage 1 at EL1 as an operating system sets it up: a 4 KiB granule and 48-bit VAs through TTBR0 (four
 * levels, like Debian's arm64 kernel), an identity map. The RAM this image occupies (code, data, page tables,
 * stacks) in 2 MiB blocks of Normal write-back memory, as a kernel's linear map; the PL011, the GIC
 * distributor and the redistributors in 4 KiB pages of Device-nGnRnE memory, as ioremap gives a driver.
 * Nothing else is mapped, so a stray access faults and the hook reports it.
 */
#define PAGE_SIZE    0x1000UL
#define BLOCK_SIZE   0x200000UL
#define DESC_VALID   1UL
#define DESC_TABLE   3UL /* a table at levels 0-2, a page at level 3 */
#define DESC_BLOCK   1UL
#define DESC_ADDRESS 0x0000fffffffff000UL
#define ATTR_DEVICE  (0UL << 2) /* AttrIndx 0 */
#define ATTR_NORMAL  (1UL << 2) /* AttrIndx 1 */
#define SH_INNER     (3UL << 8)
#define AF           (1UL << 10)
#define PXN          (1UL << 53)
#define UXN          (1UL << 54)
/* MAIR_EL1: attribute 0 Device-nGnRnE (0x00), attribute 1 Normal, inner and outer write-back
   non-transient with read and write allocation (0xff). */
#define MAIR_VALUE   0xff00UL
#define SCTLR_M      (1UL << 0)
#define SCTLR_C      (1UL << 2)
#define SCTLR_I      (1UL << 12)
#define UART_SIZE    0x1000UL
#define GICD_SIZE    0x10000UL
#define GICR_FRAME   0x20000UL /* RD_base and SGI_base of one redistributor */
#define GICR_TYPER   0x0008
#define GICR_LAST    (1UL << 4)

extern char __image_start[], __stack_top[];

typedef u64 table[512] __attribute__((aligned(4096)));
/* Enough for a level 0, 1 and 2 table and an L3 table per 2 MiB of device registers on either machine. */
static table tables[16];
static unsigned tables_used;

/* The table entry `index` of `t` points to, made (zeroed, from .bss) when the entry is invalid. */
static u64 *next_level(u64 *t, u64 index)
{
    if (!(t[index] & DESC_VALID)) {
        if (tables_used == sizeof tables / sizeof tables[0]) fail("page-table pool exhausted");
        t[index] = (u64)tables[tables_used++] | DESC_TABLE;
    } else if ((t[index] & 3) != DESC_TABLE) {
        fail("a device page inside a RAM block");
    }
    return (u64 *)(t[index] & DESC_ADDRESS);
}

/* With a 4 KiB granule each level resolves 9 bits of the VA, level 0 bits 47:39. */
static u64 level_index(u64 va, int level)
{
    return (va >> (39 - 9 * level)) & 511;
}

static u64 *level2_table(u64 va)
{
    return next_level(next_level(tables[0], level_index(va, 0)), level_index(va, 1));
}

static void map_normal_blocks(u64 start, u64 end)
{
    for (u64 a = start & ~(BLOCK_SIZE - 1); a < end; a += BLOCK_SIZE)
        level2_table(a)[level_index(a, 2)] = a | DESC_BLOCK | ATTR_NORMAL | SH_INNER | AF | UXN;
}

/* Device memory is mapped execute-never: the architecture lets a core fetch speculatively from anything
   executable. */
static void map_device_pages(u64 start, u64 size)
{
    for (u64 a = start & ~(PAGE_SIZE - 1); a < start + size; a += PAGE_SIZE)
        next_level(level2_table(a), level_index(a, 2))[level_index(a, 3)] = a | DESC_TABLE | ATTR_DEVICE | AF | PXN | UXN;
}

/* The redistributors' extent: their frames up to the one GICR_TYPER marks Last, read with the MMU off. */
static u64 redistributors_size(void)
{
    u64 rd = platform.gicr;
    for (int i = 0; i < 64 && !(mmio_read64(rd + GICR_TYPER) & GICR_LAST); i++) rd += GICR_FRAME;
    return rd + GICR_FRAME - platform.gicr;
}

static void build_tables(void)
{
    if (!platform.gicd || !platform.gicr) fail("no arm,gic-v3 in the device tree");
    tables_used = 1; /* tables[0] is level 0 */
    map_normal_blocks((u64)__image_start, (u64)__stack_top);
    map_device_pages(platform.uart, UART_SIZE);
    map_device_pages(platform.gicd, GICD_SIZE);
    map_device_pages(platform.gicr, redistributors_size());
}

/* Discards the cache lines of [start, end) to the point of coherency. What this CPU wrote with its MMU off
   went to memory around the caches; a line of the same address left in a cache from before (the loader's)
   would hide it once the caches are on. */
static void dcache_invalidate(u64 start, u64 end)
{
    u64 line = 4UL << ((sysreg_read(ctr_el0) >> 16) & 0xf); /* CTR_EL0.DminLine: log2 of words */
    for (u64 a = start & ~(line - 1); a < end; a += line) __asm__ volatile("dc ivac, %0" : : "r"(a) : "memory");
    __asm__ volatile("dsb sy" ::: "memory");
}

/* Turns on stage-1 translation and the caches on the calling CPU, from tables another CPU may have built.
   Reads nothing from memory before the MMU is on. */
static void mmu_enable(void)
{
    /* TCR_EL1: T0SZ 16 (48-bit VAs), walks through TTBR0 inner and outer write-back cacheable and inner
       shareable, a 4 KiB granule; no walks through TTBR1 (EPD1; TG1 still a valid 4 KiB); IPS the CPU's
       physical address range (ID_AA64MMFR0_EL1.PARange). */
    u64 ips = sysreg_read(id_aa64mmfr0_el1) & 0xf;
    if (ips > 5) ips = 5;
    u64 tcr = 16UL | 1UL << 8 | 1UL << 10 | 3UL << 12 | 1UL << 23 | 2UL << 30 | ips << 32;
    sysreg_write(mair_el1, MAIR_VALUE);
    sysreg_write(tcr_el1, tcr);
    sysreg_write(ttbr0_el1, (u64)tables[0]);
    /* The table writes are complete before the walker may read them after the DSB (CPU 1's were completed
       by CPU 0's before CPU_ON), the register writes take effect at the ISB, and no translation cached from
       before may be used: TLBI, the DSB that completes it and the ISB after which fetches see it. */
    __asm__ volatile("dsb ish\n isb\n tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
    sysreg_write(sctlr_el1, sysreg_read(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
    isb();
    /* Instructions fetched uncached until now may be in the instruction cache from before. */
    __asm__ volatile("ic iallu\n dsb nsh\n isb" ::: "memory");
}

/* The memory attributes AT S1E1R finds for va (PAR_EL1.ATTR, the MAIR byte), or fails if it does not translate. */
static u64 attributes(u64 va)
{
    __asm__ volatile("at s1e1r, %0\n isb" : : "r"(va) : "memory");
    u64 par = sysreg_read(par_el1);
    if (par & 1) {
        say("AT S1E1R 0x%lx: PAR_EL1 0x%lx\n", va, par);
        fail("an address of the map does not translate");
    }
    return par >> 56;
}

/* Every device region Device-nGnRnE, RAM Normal write-back, as the tables say. */
static void check_map(void)
{
    u64 devices[] = {platform.uart, platform.gicd, platform.gicr, platform.gicr + redistributors_size() - 4};
    for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
        if (attributes(devices[i]) != 0x00) fail("a device region is not Device-nGnRnE");
    if (attributes((u64)samples) != 0xff || attributes((u64)__stack_top - 16) != 0xff) fail("RAM is not Normal write-back");
}
#endif

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
        /* An UNDEFINED SMC (or HVC): note it and step over it. */
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

/*
 * Each fast measurement first runs its own sampling loop, untimed, for WARMUP_MS of counter time (and at least
 * twice), so the figures are the steady state's on every machine: Jit compiles a loop in the background once it
 * is hot, a tenth of a second or more later, and without this the exit paths were timed in its interpreter.
 */
#ifndef WARMUP_MS
#define WARMUP_MS 300
#endif

static void warm_up(void (*sample)(void))
{
    u64 start = now(), rounds = 0;
    while (rounds < 2 || now() - start < freq / 1000 * WARMUP_MS) {
        sample();
        rounds++;
    }
}

static void measure(const char *name, void (*sample)(void), u64 per_sample)
{
    warm_up(sample);
    sample();
    report(name, SAMPLES, per_sample);
}

static void sample_counter_read(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        samples[i] = now() - t0;
    }
}

static void sample_mmio_read(void)
{
    u64 fr = platform.uart + UART_FR;
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) mmio_read32(fr);
        samples[i] = now() - t0;
    }
}

/* IMSC written with the value it holds: a register write with no effect on the device. */
static void sample_mmio_write(void)
{
    u64 imsc = platform.uart + UART_IMSC;
    u32 v = mmio_read32(imsc);
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) mmio_write32(imsc, v);
        samples[i] = now() - t0;
    }
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

static void sample_hvc(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) hvc_call(SMCCC_VERSION, 0, 0, 0);
        samples[i] = now() - t0;
    }
}

/* Nonzero once any call of sample_hvc_unknown returned something other than NOT_SUPPORTED. */
static u64 unknown_wrong;

static void sample_hvc_unknown(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) unknown_wrong |= hvc_call(HVC_UNKNOWN, 0, 0, 0) + 1;
        samples[i] = now() - t0;
    }
}

/* The same round trip for a function no service implements, which must be as cheap as a known one: the
   first call and every timed one must return NOT_SUPPORTED, or the operation is reported n/a after a line
   saying what came back. */
static void hvc_unknown_round_trip(void)
{
    undefined_taken = 0;
    u64 r = hvc_call(HVC_UNKNOWN, 0, 0, 0);
    if (undefined_taken || r != NOT_SUPPORTED) {
        if (undefined_taken) say("hvc-unknown" MODE ": function 0x%lx: HVC is UNDEFINED\n", HVC_UNKNOWN);
        else say("hvc-unknown" MODE ": function 0x%lx returned 0x%lx, not NOT_SUPPORTED (-1)\n", HVC_UNKNOWN, r);
        say("latency hvc-unknown" MODE " n/a\n");
        return;
    }
    unknown_wrong = 0;
    warm_up(sample_hvc_unknown);
    sample_hvc_unknown();
    if (unknown_wrong) {
        say("hvc-unknown" MODE ": function 0x%lx returned something other than NOT_SUPPORTED (-1)\n", HVC_UNKNOWN);
        say("latency hvc-unknown" MODE " n/a\n");
        return;
    }
    report("hvc-unknown", SAMPLES, BATCH);
}

static void sample_smc(void)
{
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) smc_call(SMCCC_VERSION);
        samples[i] = now() - t0;
    }
}

static void smc_round_trip(void)
{
    undefined_taken = 0;
    smc_call(SMCCC_VERSION);
    if (undefined_taken) {
        say("latency smc" MODE " n/a\n");
        return;
    }
    measure("smc", sample_smc, BATCH);
}

/* Acknowledge and end of interrupt through the CPU interface: BATCH SGIs are made pending with interrupts
   masked, then each sample times BATCH IAR + EOIR pairs. */
static void sample_gic_ack_eoi(void)
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
}

static void gic_ack_eoi(void)
{
    measure("gic-ack-eoi", sample_gic_ack_eoi, BATCH);
    if ((sysreg_read(ICC_IAR1_EL1) & 0xffffff) != 1023) fail("SGIs still pending after gic-ack-eoi");
}

/* A self-SGI from the write of ICC_SGI1R_EL1 to the end of its handler: delivery, exception entry, IAR,
   EOIR and the exception return. */
static void sample_sgi_self(void)
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
}

static volatile int secondary_ready;
static volatile u64 secondary_sctlr;
/* A page of its own: in MMU-on mode CPU 1 invalidates these cache lines, which must hold nothing else. */
static u64 secondary_stack[512] __attribute__((aligned(4096)));

/* CPU 1 answers every ping with a pong, sleeping in WFI in between as an idle kernel would. */
static void secondary(void)
{
#ifdef MMU_ON
    /* First, before this CPU reads any data CPU 0 may hold in its cache: until then only its stack is in use. */
    dcache_invalidate((u64)secondary_stack, (u64)&secondary_stack[512]);
    mmu_enable();
#endif
    gic_init_cpu();
    gic_enable_ppi(SGI_PING, 0x80);
    irq_enable();
    secondary_sctlr = sysreg_read(sctlr_el1);
    dsb();
    secondary_ready = 1;
    for (;;) __asm__ volatile("wfi");
}

static void ipi_round_trip(void)
{
    long r = (long)hvc_call(PSCI_CPU_ON, 1, (u64)secondary_entry, (u64)&secondary_stack[512]);
    if (r != 0) {
        say("latency ipi" MODE " n/a\n");
        return;
    }
    for (int i = 0; i < 100000000 && !secondary_ready; i++)
        ;
    if (!secondary_ready) fail("the secondary CPU did not come up");
#ifdef MMU_ON
    if ((secondary_sctlr & (SCTLR_M | SCTLR_C | SCTLR_I)) != (SCTLR_M | SCTLR_C | SCTLR_I))
        fail("CPU 1 runs with SCTLR_EL1.M, C or I clear");
#endif
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
static int timer_busy;

static void sample_timer(void)
{
    u64 ahead = freq / 10000; /* 100 µs */
    irq_enable();
    for (int i = 0; i < SLOW_SAMPLES; i++) {
        timer_taken = 0;
        u64 deadline = sysreg_read(cntvct_el0) + ahead;
        sysreg_write(cntv_cval_el0, deadline);
        sysreg_write(cntv_ctl_el0, CTL_ENABLE);
        isb();
        if (timer_busy)
            while (!timer_taken) __asm__ volatile("" ::: "memory");
        else
            wait_for_flag(&timer_taken);
        samples[i] = timer_count - deadline;
    }
    irq_disable();
    sysreg_write(cntv_ctl_el0, 0);
}

static void timer_latency(int busy)
{
    timer_busy = busy;
    warm_up(sample_timer);
    sample_timer();
    report(busy ? "timer-busy" : "timer", SLOW_SAMPLES, 1);
}

int main(void)
{
    exception_hook = hook;
    secondary_hook = secondary;
    freq = sysreg_read(cntfrq_el0);
    if (!freq) fail("CNTFRQ_EL0 is zero");
#ifdef MMU_ON
    /* Written with the MMU off, so in memory when CPU 1 reads them with its MMU still off: the hooks, the
       tables. Then every line of the image, stacks included, is invalidated before the caches are used. */
    build_tables();
    dcache_invalidate((u64)__image_start, (u64)__stack_top);
    mmu_enable();
#endif
    gic_init();
    for (u32 sgi = 8; sgi < 8 + BATCH; sgi++) gic_enable_ppi(sgi, 0x80);
    gic_enable_ppi(SGI_SELF, 0x80);
    gic_enable_ppi(SGI_PONG, 0x80);
    gic_enable_ppi(TIMER_PPI, 0x80);
#ifdef MMU_ON
    u64 sctlr = sysreg_read(sctlr_el1);
    if ((sctlr & (SCTLR_M | SCTLR_C | SCTLR_I)) != (SCTLR_M | SCTLR_C | SCTLR_I)) fail("SCTLR_EL1.M, C or I clear");
    check_map();
    say("latency-guest freq=%lu samples=%d batch=%d mmu=on tables=%lu\n", freq, SAMPLES, BATCH, (u64)tables_used);
#else
    say("latency-guest freq=%lu samples=%d batch=%d mmu=off\n", freq, SAMPLES, BATCH);
#endif

    measure("counter-read", sample_counter_read, 1);
    measure("mmio-read", sample_mmio_read, BATCH);
    measure("mmio-write", sample_mmio_write, BATCH);
    measure("hvc", sample_hvc, BATCH);
    hvc_unknown_round_trip();
    smc_round_trip();
    gic_ack_eoi();
    measure("sgi-self", sample_sgi_self, 1);
    timer_latency(0);
    timer_latency(1);
    /* Last: it leaves CPU 1 running, and CPU 1's redistributor set-up replaced this CPU's in gic.c. */
    ipi_round_trip();
    return 0;
}
