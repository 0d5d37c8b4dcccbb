/* GICv3 set-up shared by the guests that take interrupts: the distributor with affinity routing and Group 1,
   this CPU's redistributor awake, and the CPU interface through the system registers. */
#include "sys.h"

#define GICD_CTLR        0x0000
#define GICD_CTLR_RWP    (1u << 31)
#define GICD_CTLR_ARE    (1u << 4) /* ARE_NS, or ARE when the GIC has one security state */
#define GICD_CTLR_GRP1   (1u << 1) /* EnableGrp1A, or EnableGrp1 */
#define GICR_TYPER       0x0008
#define GICR_TYPER_LAST  (1UL << 4)
#define GICR_WAKER       0x0014
#define WAKER_SLEEP      (1u << 1)
#define WAKER_ASLEEP     (1u << 2)
#define GICR_FRAME       0x20000UL /* RD_base and SGI_base of one redistributor */
#define SGI_BASE         0x10000UL
#define GICR_IGROUPR0    0x0080
#define GICR_ISENABLER0  0x0100
#define GICR_ICENABLER0  0x0180
#define GICR_ISPENDR0    0x0200
#define GICR_ICPENDR0    0x0280
#define GICR_IPRIORITYR  0x0400

static u64 sgi_base;

static void wait_rwp(void)
{
    for (int i = 0; i < 1000000 && (mmio_read32(platform.gicd + GICD_CTLR) & GICD_CTLR_RWP); i++)
        ;
}

/* The redistributor whose GICR_TYPER affinity (bits 63:32) matches this CPU's MPIDR. */
static u64 find_redistributor(void)
{
    u64 mpidr = sysreg_read(mpidr_el1);
    u64 aff = (mpidr & 0xffffff) | (mpidr >> 32 & 0xff) << 24;
    for (u64 rd = platform.gicr;; rd += GICR_FRAME) {
        u64 typer = mmio_read64(rd + GICR_TYPER);
        if (typer >> 32 == aff) return rd;
        if (typer & GICR_TYPER_LAST) break;
    }
    fail("no redistributor for this CPU");
    return 0;
}

void gic_init(void)
{
    if (!platform.gicd || !platform.gicr) fail("no arm,gic-v3 in the device tree");
    mmio_write32(platform.gicd + GICD_CTLR, 0);
    wait_rwp();
    mmio_write32(platform.gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
    wait_rwp();
    gic_init_cpu();
}

void gic_init_cpu(void)
{
    u64 rd = find_redistributor();
    mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~WAKER_SLEEP);
    int spins = 0;
    while (mmio_read32(rd + GICR_WAKER) & WAKER_ASLEEP)
        if (++spins > 1000000) fail("redistributor stays asleep");
    sgi_base = rd + SGI_BASE;
    mmio_write32(sgi_base + GICR_ICENABLER0, 0xffffffff);
    mmio_write32(sgi_base + GICR_ICPENDR0, 0xffffffff);
    mmio_write32(sgi_base + GICR_IGROUPR0, 0xffffffff);

    sysreg_write(S3_0_C12_C12_5, sysreg_read(S3_0_C12_C12_5) | 1); /* ICC_SRE_EL1.SRE */
    isb();
    sysreg_write(S3_0_C4_C6_0, 0xff);  /* ICC_PMR_EL1: nothing masked */
    sysreg_write(S3_0_C12_C12_3, 0);   /* ICC_BPR1_EL1: every priority bit preempts */
    sysreg_write(S3_0_C12_C12_4, 0);   /* ICC_CTLR_EL1: EOI also deactivates */
    sysreg_write(S3_0_C12_C12_7, 1);   /* ICC_IGRPEN1_EL1 */
    isb();
}

void gic_enable_ppi(u32 intid, u32 priority)
{
    *(volatile unsigned char *)(sgi_base + GICR_IPRIORITYR + intid) = (unsigned char)priority;
    mmio_write32(sgi_base + GICR_ISENABLER0, 1u << intid);
    dsb();
}

u32 gic_pending_ppis(void)
{
    return mmio_read32(sgi_base + GICR_ISPENDR0);
}
