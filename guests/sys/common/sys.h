/* Runtime of the system guests: device discovery from the device tree, console output, PSCI calls and the
   exception hook. One binary runs on Jit's platform and on QEMU's virt machine, so nothing here knows a
   device address: sys_boot reads them from the tree before calling the guest's main. */
#ifndef SYS_H
#define SYS_H

typedef unsigned long u64;
typedef unsigned int u32;

/* The context start.S saves on every exception, in this order. */
struct frame {
    u64 x[31];
    u64 elr;
    u64 spsr;
    u64 esr;
    u64 far;
    u64 pad;
};

struct platform {
    u64 uart;
    u64 gicd;
    u64 gicr;
    u64 ram_base; /* the first memory node's first bank */
    u64 ram_size;
    u64 fdt;      /* the device tree the guest was entered with */
};
extern struct platform platform;

int main(void);
/* A guest that takes exceptions sets this; without it any exception is reported as unexpected. */
extern void (*exception_hook)(struct frame *f, u64 vector);
/* The secondary vCPU's C entry, called from secondary_entry; guests that start none leave the default. */
extern void (*secondary_hook)(void);
void secondary_entry(void);

/* printf subset for the result lines: %s, %d, %u, %x with l (all numbers are 64-bit) and a zero-pad width. */
/* Triggers (triggers.S): the first instruction of each is the faulting one. */
extern char trig_load[], trig_store[], trig_ldtr[];
static inline u64 do_load(u64 a) { return ((u64 (*)(u64))(void *)trig_load)(a); }
static inline void do_store(u64 a, u64 v) { ((void (*)(u64, u64))(void *)trig_store)(a, v); }
static inline u64 do_ldtr(u64 a) { return ((u64 (*)(u64))(void *)trig_ldtr)(a); }
void enter_el0(void *entry, void *stack);
extern char el0_back[];
/* For an exception hook: resume at EL1h after enter_el0, as if it had returned. */
static inline void return_from_el0(struct frame *f) { f->elr = (u64)el0_back; f->spsr = 0x3c5; }

/* GICv3 (gic.c): the CPU interface registers by their encodings, which the assembler accepts for any core. */
void gic_init(void);     /* the distributor, then gic_init_cpu for the calling CPU */
void gic_init_cpu(void); /* this CPU's redistributor and CPU interface; later gic_enable_ppi calls act on this CPU */
void gic_enable_ppi(u32 intid, u32 priority); /* an SGI or PPI of this CPU's redistributor */
u32 gic_pending_ppis(void);
#define ICC_IAR1_EL1   S3_0_C12_C12_0
#define ICC_EOIR1_EL1  S3_0_C12_C12_1
#define ICC_PMR_EL1    S3_0_C4_C6_0
#define ICC_SGI1R_EL1  S3_0_C12_C11_5
#define ICC_RPR_EL1    S3_0_C12_C11_3
#define irq_enable()  __asm__ volatile("msr daifclr, #2" ::: "memory")
#define irq_disable() __asm__ volatile("msr daifset, #2" ::: "memory")

/*
 * Sleeps in WFI until an interrupt handler sets *flag; returns with IRQs unmasked. The look at the flag and the
 * WFI run with IRQs masked: an interrupt taken between them would set the flag and leave WFI waiting for one
 * that already came, for ever if nothing else is coming. A pending interrupt wakes WFI even while masked, and
 * is taken when the loop unmasks.
 */
static inline void wait_for_flag(volatile int *flag)
{
    irq_disable();
    while (!*flag) {
        __asm__ volatile("wfi" ::: "memory");
        irq_enable();
        irq_disable();
    }
    irq_enable();
}

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char *what);

u64 hvc_call(u64 fid, u64 a1, u64 a2, u64 a3);

/* The command line (/chosen/bootargs), or "" when the tree has none. */
const char *bootargs(void);
/* The value of "key=N" (decimal, or hex with 0x) in the command line `args`, or `otherwise`. */
u64 argument(const char *args, const char *key, u64 otherwise);

#define PSCI_VERSION       0x84000000UL
#define PSCI_CPU_OFF       0x84000002UL
#define PSCI_CPU_ON        0xC4000003UL
#define PSCI_AFFINITY_INFO 0xC4000004UL
#define PSCI_SYSTEM_OFF    0x84000008UL
#define PSCI_FEATURES      0x8400000AUL

/* Vector numbers as start.S passes them: the table's 16 entries in order. */
#define VEC_SYNC_SP0  0
#define VEC_SYNC_SPX  4
#define VEC_IRQ_SPX   5
#define VEC_SYNC_EL0  8

#define EC(esr)  (((esr) >> 26) & 0x3f)
#define ISS(esr) ((esr) & 0x1ffffff)

#define sysreg_read(name) ({ u64 v_; __asm__ volatile("mrs %0, " #name : "=r"(v_)); v_; })
#define sysreg_write(name, v) __asm__ volatile("msr " #name ", %0" : : "r"((u64)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb() __asm__ volatile("dsb sy" ::: "memory")

static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }

#endif
