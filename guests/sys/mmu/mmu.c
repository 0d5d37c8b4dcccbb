/* Stage-1 translation with a 4 KiB granule and 48-bit VAs through TTBR0 and TTBR1: an alias mapping,
   translation faults at each level, the access flag, read-only, EL1-only and execute-never permissions,
   alignment on Normal memory, and AT S1E1R/S1E1W/S1E0R results in PAR_EL1. */
#include "sys.h"

#define PAGE 4096UL
#define DESC_VALID   1UL
#define DESC_TABLE   3UL /* table (levels 0-2) or page (level 3) */
#define DESC_BLOCK   1UL
#define ATTR_DEVICE  (0UL << 2) /* MAIR attr 0 */
#define ATTR_NORMAL  (1UL << 2) /* MAIR attr 1 */
#define AP_EL0       (1UL << 6) /* AP[1]: EL0 access */
#define AP_RO        (1UL << 7) /* AP[2]: read-only */
#define SH_INNER     (3UL << 8)
#define AF           (1UL << 10)
#define PXN          (1UL << 53)
#define UXN          (1UL << 54)
#define NORMAL_PAGE  (DESC_TABLE | ATTR_NORMAL | SH_INNER | AF)

typedef u64 table[512] __attribute__((aligned(4096)));
static table l0, l1, l2_ram;          /* TTBR0: the identity map */
static table l1_test, l2_test, l3_test; /* TTBR0: the test region */
static table t1_l0, t1_l1, t1_l2, t1_l3; /* TTBR1 */
static u64 testpage[512] __attribute__((aligned(4096)));
static u64 el0_stack[64] __attribute__((aligned(16)));
extern char codepage[];

/* The test region: L0 entry 2 leads to l1_test, whose entry 1 leads to l2_test, whose entry 1 leads to
   l3_test; entry 0 of each level below L0 (and L0 entry 1) stays invalid. */
#define VA_L0_INVALID 0x0000008000000000UL
#define VA_L1_INVALID 0x0000010000000000UL
#define VA_L2_INVALID 0x0000010040000000UL
#define VA_L3_BASE    0x0000010040200000UL
#define VA_PAGE(n)    (VA_L3_BASE + (n) * PAGE)
#define VA_OUTSIDE    0x0001000000000000UL /* bit 48 set but not all of 63:48: in neither range */
#define VA_HIGH       0xffff000000000000UL /* TTBR1: page 0 is the test page, page 1 invalid */

enum { P_INVALID, P_NO_AF, P_RO, P_EL1_ONLY, P_EL0_RW, P_PXN, P_UXN, P_ALIAS, P_EL1_EXEC };

static struct {
    int taken;
    u64 vector, esr, elr, far;
} last;

static void hook(struct frame *f, u64 vector)
{
    last.taken = 1;
    last.vector = vector;
    last.esr = f->esr;
    last.elr = f->elr;
    last.far = f->far;
    u64 ec = EC(f->esr);
    if (vector == VEC_SYNC_EL0) return_from_el0(f);
    else if (ec == 0x21) f->elr = f->x[30]; /* an instruction abort on a call: back to the caller */
    else f->elr += 4;
}

static void tlb_flush(void)
{
    __asm__ volatile("dsb ishst\n tlbi vmalle1\n dsb ish\n isb" ::: "memory");
}

static void fault_line(const char *name)
{
    if (!last.taken) {
        say("%s: no fault\n", name);
        return;
    }
    u64 ec = EC(last.esr), iss = ISS(last.esr);
    /* xFSC, WnR (data aborts), S1PTW and CM: the fields defined for every abort taken to EL1. */
    say("%s: vector %lu EC 0x%lx FSC 0x%lx WnR %lu S1PTW %lu FAR 0x%lx\n", name, last.vector, ec, iss & 0x3f,
        ec == 0x24 || ec == 0x25 ? (iss >> 6) & 1 : 0, (iss >> 7) & 1, last.far);
    last.taken = 0;
}

static void load_line(const char *name, u64 va)
{
    u64 v = do_load(va);
    if (last.taken) fault_line(name);
    else say("%s: read 0x%lx\n", name, v);
}

static void store_line(const char *name, u64 va, u64 v)
{
    do_store(va, v);
    if (last.taken) fault_line(name);
    else say("%s: write ok\n", name);
}

/* D17.2.102 PAR_EL1: on success PA [47:12], ATTR [63:56], SH [8:7], NS [9]; on failure FST [6:1], PTW [8], S [9]. */
static void par_line(const char *name, u64 par)
{
    if (par & 1)
        say("%s: PAR.F 1 FST 0x%lx PTW %lu S %lu\n", name, (par >> 1) & 0x3f, (par >> 8) & 1, (par >> 9) & 1);
    else
        say("%s: PAR.F 0 PA test+0x%lx ATTR 0x%lx SH %lu\n", name, (par & 0xfffffffff000UL) - (u64)testpage,
            par >> 56, (par >> 7) & 3);
}

#define AT(op, va) ({ __asm__ volatile("at " op ", %0\n isb" : : "r"((u64)(va)) : "memory"); sysreg_read(par_el1); })

static void build_tables(void)
{
    u64 tp = (u64)testpage, cp = (u64)codepage;
    /* Identity: the first GiB (devices) as Device memory, the second (RAM) in 2 MiB Normal blocks. */
    l0[0] = (u64)l1 | DESC_TABLE;
    l1[0] = 0x00000000UL | DESC_BLOCK | ATTR_DEVICE | AF | PXN | UXN;
    l1[1] = (u64)l2_ram | DESC_TABLE;
    for (u64 i = 0; i < 512; i++)
        l2_ram[i] = (0x40000000UL + (i << 21)) | DESC_BLOCK | ATTR_NORMAL | SH_INNER | AF | UXN;

    l0[2] = (u64)l1_test | DESC_TABLE;
    l1_test[1] = (u64)l2_test | DESC_TABLE;
    l2_test[1] = (u64)l3_test | DESC_TABLE;
    l3_test[P_NO_AF] = tp | DESC_TABLE | ATTR_NORMAL | SH_INNER | UXN | PXN;
    l3_test[P_RO] = tp | NORMAL_PAGE | AP_RO | UXN | PXN;
    l3_test[P_EL1_ONLY] = tp | NORMAL_PAGE | UXN | PXN;
    l3_test[P_EL0_RW] = tp | NORMAL_PAGE | AP_EL0 | UXN | PXN;
    l3_test[P_PXN] = cp | NORMAL_PAGE | AP_RO | UXN | PXN;
    l3_test[P_UXN] = cp | NORMAL_PAGE | AP_RO | AP_EL0 | UXN;
    l3_test[P_ALIAS] = tp | NORMAL_PAGE | UXN | PXN;
    l3_test[P_EL1_EXEC] = cp | NORMAL_PAGE | AP_RO | UXN;
    /* The EL0 entry of the code page: EL0 may read and execute it. */
    l3_test[P_EL1_EXEC + 1] = cp | NORMAL_PAGE | AP_RO | AP_EL0 | PXN;

    t1_l0[0] = (u64)t1_l1 | DESC_TABLE;
    t1_l1[0] = (u64)t1_l2 | DESC_TABLE;
    t1_l2[0] = (u64)t1_l3 | DESC_TABLE;
    t1_l3[0] = tp | NORMAL_PAGE | UXN | PXN;
}

static void mmu_on(void)
{
    sysreg_write(mair_el1, 0xff00UL); /* attr 0 Device-nGnRnE, attr 1 Normal write-back */
    /* T0SZ = T1SZ = 16, 4 KiB granules (TG1 = 0b10), inner-shareable write-back walks, 40-bit IPS. */
    u64 tcr = 16UL | 1UL << 8 | 1UL << 10 | 3UL << 12 | 16UL << 16 | 1UL << 24 | 1UL << 26 | 3UL << 28 |
              2UL << 30 | 2UL << 32;
    sysreg_write(tcr_el1, tcr);
    sysreg_write(ttbr0_el1, (u64)l0);
    sysreg_write(ttbr1_el1, (u64)t1_l0);
    tlb_flush();
    sysreg_write(sctlr_el1, sysreg_read(sctlr_el1) | 1 | 1 << 2 | 1 << 12); /* M, C, I */
    isb();
}

static void set_alignment_check(int on)
{
    u64 s = sysreg_read(sctlr_el1);
    sysreg_write(sctlr_el1, on ? s | 2 : s & ~2UL);
    isb();
}

int main(void)
{
    exception_hook = hook;
    build_tables();
    mmu_on();
    say("mmu on: SCTLR.M %lu\n", sysreg_read(sctlr_el1) & 1);

    testpage[0] = 0x1111;
    load_line("alias read", VA_PAGE(P_ALIAS));
    store_line("alias write", VA_PAGE(P_ALIAS) + 8, 0x2222);
    say("identity sees 0x%lx\n", testpage[1]);
    load_line("ttbr1 read", VA_HIGH);
    load_line("ttbr1 invalid L3", VA_HIGH + PAGE);

    load_line("invalid L0", VA_L0_INVALID);
    load_line("invalid L1", VA_L1_INVALID);
    load_line("invalid L2", VA_L2_INVALID);
    load_line("invalid L3", VA_PAGE(P_INVALID));
    load_line("outside both ranges", VA_OUTSIDE);
    store_line("store to invalid L2", VA_L2_INVALID + 0x10, 1);

    load_line("access flag clear", VA_PAGE(P_NO_AF));
    l3_test[P_NO_AF] |= AF;
    tlb_flush();
    load_line("access flag set", VA_PAGE(P_NO_AF));

    load_line("read-only read", VA_PAGE(P_RO));
    store_line("read-only write", VA_PAGE(P_RO), 3);

    u64 v = do_ldtr(VA_PAGE(P_EL1_ONLY));
    if (last.taken) fault_line("LDTR EL1-only");
    else say("LDTR EL1-only: read 0x%lx\n", v);
    v = do_ldtr(VA_PAGE(P_EL0_RW));
    if (last.taken) fault_line("LDTR EL0 page");
    else say("LDTR EL0 page: read 0x%lx\n", v);

    u64 r = ((u64 (*)(void))(VA_PAGE(P_EL1_EXEC) + 8))();
    say("EL1 exec: returned %lu\n", r);
    r = ((u64 (*)(void))(VA_PAGE(P_PXN) + 8))();
    fault_line("PXN exec");

    enter_el0((void *)VA_PAGE(P_EL1_EXEC + 1), &el0_stack[64]);
    if (EC(last.esr) == 0x15) say("EL0 exec: SVC ISS 0x%lx\n", ISS(last.esr)), last.taken = 0;
    else fault_line("EL0 exec");
    enter_el0((void *)VA_PAGE(P_UXN), &el0_stack[64]);
    fault_line("UXN exec from EL0");

    set_alignment_check(0);
    load_line("misaligned Normal, SCTLR.A 0", VA_PAGE(P_ALIAS) + 1);
    set_alignment_check(1);
    load_line("misaligned Normal, SCTLR.A 1", VA_PAGE(P_ALIAS) + 1);
    set_alignment_check(0);

    par_line("AT S1E1R alias", AT("s1e1r", VA_PAGE(P_ALIAS) + 0x18));
    par_line("AT S1E1R invalid L2", AT("s1e1r", VA_L2_INVALID));
    par_line("AT S1E1R invalid L0", AT("s1e1r", VA_L0_INVALID));
    par_line("AT S1E1W read-only", AT("s1e1w", VA_PAGE(P_RO)));
    par_line("AT S1E1R read-only", AT("s1e1r", VA_PAGE(P_RO)));
    par_line("AT S1E0R EL1-only", AT("s1e0r", VA_PAGE(P_EL1_ONLY)));
    par_line("AT S1E0R EL0 page", AT("s1e0r", VA_PAGE(P_EL0_RW)));
    par_line("AT S1E1R ttbr1", AT("s1e1r", VA_HIGH));
    return 0;
}
