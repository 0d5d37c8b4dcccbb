/* A bare-metal guest that programs the PCIe functions, their virtqueues and MSI-X tables, the ITS and the
   redistributors' LPI registers with random and hostile values, many times over, from a seeded generator: the
   same seed makes the same operations, whatever the disk holds and virtio-rng returns. Run it on Jit's Linux
   platform:
     jit run --kernel build/sys-pcihostile.elf --disk IMAGE --virtio-rng --smp 2 [--append "hostile.seed=N hostile.ops=N"]
   The emulator must neither crash nor hang nor write outside the guest's RAM; inside the guest, a canary region
   that is never handed to a device must come through intact, and after the hostile phase a well-behaved driver
   must still get a disk read, entropy and an MSI through the ITS. Prints a summary line, then
   "HOSTILE-DONE canary=ok" (or what went wrong), then powers off.
   More on the command line: hostile.cpus=2 runs half the operations on the second vCPU at the same time (not
   deterministic: the interleaving is the host's); hostile.flood=N first makes N LPIs pending through
   GICR_SETLPIR and runs a full command queue of INVALLs, and says how long that and its longest access took. */
#include "hostile.h"

extern char acc_start[], acc_end[];
u64 acc_rd8(u64), acc_rd16(u64), acc_rd32(u64), acc_rd64(u64), acc_rd128(u64);
void acc_wr8(u64, u64), acc_wr16(u64, u64), acc_wr32(u64, u64), acc_wr64(u64, u64), acc_wr128(u64, u64, u64);
u64 acc_ldxr(u64), acc_stxr(u64, u64), acc_ldar(u64), acc_stlr(u64, u64), acc_ldnp(u64), acc_stnp(u64, u64), acc_ldtr(u64),
    acc_sttr(u64, u64), acc_ldadd(u64, u64), acc_swp(u64, u64), acc_cas(u64, u64), acc_dczva(u64);

struct tally tallies[MAX_CPUS];

/* ---- the generator: SplitMix64, one stream per vCPU ---- */

u64 rnd(void)
{
    u64 z = (tally()->rng += 0x9E3779B97F4A7C15UL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

u64 below(u64 n) { return n ? rnd() % n : 0; }
int chance(int percent) { return below(100) < (u64)percent; }

/* ---- addresses ---- */

static u64 ram_end;

u64 arena_address(enum arena arena, u64 len, u64 align)
{
    static const u64 bounds[][2] = {
        [ARENA_ITS] = {ITS_ARENA, FINAL_ARENA - ITS_REACH},
        [ARENA_RINGS] = {VQ_RINGS, VQ_TABLES},
        [ARENA_TABLES] = {VQ_TABLES, VQ_BUFFERS},
        [ARENA_BUFFERS] = {VQ_BUFFERS, VQ_ARENA_END},
    };
    u64 lo = bounds[arena][0], hi = bounds[arena][1];
    if (len > hi - lo) len = hi - lo;
    return (lo + below(hi - lo - len + 1)) & ~(align - 1);
}

int in_vq_arena(u64 a, u64 len) { return a >= VQ_ARENA && a < VQ_ARENA_END && len <= VQ_ARENA_END - a; }

u64 pick_address(enum arena arena, u64 len, u64 align)
{
    u64 a;
    u64 r = below(100);
    if (r < 60) return arena_address(arena, len, align);
    else if (r < 63) a = below(0x1000);                                          /* the hole below the GIC */
    else if (r < 67) a = (u64[]){GICD_BASE, GICR_BASE, GITS_BASE, GITS_TRANSLATER}[below(4)] + below(0x100);
    else if (r < 71) a = ECAM_BASE + below(ECAM_SIZE);
    else if (r < 76) a = fns[below(nfns)].bar[below(6)] + below(0x4000);        /* a function's own BARs */
    else if (r < 78) a = PCI_MEM32 + below(PCI_MEM32_END - PCI_MEM32);
    else if (r < 80) a = PCI_MEM64 + below(PCI_MEM64_END - PCI_MEM64);
    else if (r < 81) a = UART_BASE + below(0x1000);
    /* Across an edge of RAM: what devices write straddles its start (so nothing may land), what they read for
       structure straddles its end, where no device ever writes. */
    else if (r < 85) a = arena == ARENA_BUFFERS ? platform.ram_base - 8 * (1 + below(8)) : ram_end - 8 * (1 + below(8));
    else if (r < 87) a = ram_end + below(0x100000);
    else if (r < 88) a = RAM1_BASE + below(0x4000000);
    else if (r < 92) a = (1UL << (40 + below(13))) - 8 * (1 + below(4));         /* the top of an IPA size */
    else if (r < 94) a = ~0UL - below(0x1000);                                  /* wraps */
    else if (r < 97) a = rnd();
    else a = below(1UL << 40);
    return chance(85) ? a & ~(align - 1) : a;
}

/* ---- MMIO that may fault ---- */

u64 mmio_rd(u64 a, int size)
{
    switch (size) {
    case 1: return acc_rd8(a);
    case 2: return acc_rd16(a);
    case 4: return acc_rd32(a);
    case 8: return acc_rd64(a);
    default: return acc_rd128(a);
    }
}

void mmio_wr(u64 a, int size, u64 v)
{
    switch (size) {
    case 1: acc_wr8(a, v); break;
    case 2: acc_wr16(a, v); break;
    case 4: acc_wr32(a, v); break;
    case 8: acc_wr64(a, v); break;
    default: acc_wr128(a, v, ~v); break;
    }
}

void mmio_exotic(u64 a, u64 v)
{
    switch (below(12)) {
    case 0: (void)acc_ldxr(a); break;
    case 1: (void)acc_stxr(a, v); break;
    case 2: (void)acc_ldar(a); break;
    case 3: (void)acc_stlr(a, v); break;
    case 4: (void)acc_ldnp(a); break;
    case 5: (void)acc_stnp(a, v); break;
    case 6: (void)acc_ldtr(a); break;
    case 7: (void)acc_sttr(a, v); break;
    case 8: (void)acc_ldadd(a, v); break;
    case 9: (void)acc_swp(a, v); break;
    case 10: (void)acc_cas(a, v); break;
    default: (void)acc_dczva(a); break;
    }
}

/* A data abort on one of access.S's accesses is the bus saying no, an undefined-instruction exception there an
   access form the CPU does not have: count either and go on. Anything else is not something this guest
   expects, and ends the run. */
static void hook(struct frame *f, u64 vector)
{
    if (vector == VEC_SYNC_SPX && (EC(f->esr) == 0x25 || EC(f->esr) == 0x00) && f->elr >= (u64)acc_start && f->elr < (u64)acc_end) {
        tally()->faults++;
        f->elr += 4;
        return;
    }
    say("unexpected exception: vector %lu ESR 0x%lx ELR 0x%lx FAR 0x%lx\n", vector, f->esr, f->elr, f->far);
    fail("HOSTILE-DONE canary=unchecked (unexpected exception)");
}

/* ---- the canary ---- */

#define PATTERN(a) ((a) * 0x9E3779B97F4A7C15UL ^ 0xC0FFEE5A5A5A5A5AUL)

static void canary_fill(void)
{
    for (u64 a = CANARY_BASE; a < CANARY_BASE + CANARY_SIZE; a += 8) *(volatile u64 *)a = PATTERN(a);
}

static u64 canary_changed(void)
{
    u64 bad = 0;
    for (u64 a = CANARY_BASE; a < CANARY_BASE + CANARY_SIZE; a += 8)
        if (*(volatile u64 *)a != PATTERN(a)) {
            if (!bad) say("canary: first change at 0x%lx: 0x%lx\n", a, *(volatile u64 *)a);
            bad++;
        }
    return bad;
}

/* ---- the run ---- */

static const char *op_names[OP_KINDS] = {"cfg", "bar", "msix", "vqsetup", "vqsubmit", "itsreg", "itscmd", "translater", "gicr", "repair"};

static void one_operation(void)
{
    /* Weights per 1000: configuration and register pokes are cheap, virtqueues and ITS commands the point. */
    static const struct { enum op op; u32 weight; } mix[] = {
        {OP_CFG, 170}, {OP_BAR, 150}, {OP_MSIX, 70}, {OP_VQ_SETUP, 90}, {OP_VQ_SUBMIT, 200},
        {OP_ITS_REG, 80}, {OP_ITS_CMD, 100}, {OP_TRANSLATER, 40}, {OP_GICR, 60}, {OP_REPAIR, 40},
    };
    u64 r = below(1000);
    enum op op = OP_REPAIR;
    for (unsigned i = 0; i < sizeof mix / sizeof mix[0]; i++) {
        if (r < mix[i].weight) { op = mix[i].op; break; }
        r -= mix[i].weight;
    }
    tally()->ops[op]++;
    u64 start = sysreg_read(cntvct_el0);
    switch (op) {
    case OP_CFG: op_cfg(); break;
    case OP_BAR: op_bar(); break;
    case OP_MSIX: op_msix(); break;
    case OP_VQ_SETUP: op_vq_setup(); break;
    case OP_VQ_SUBMIT: op_vq_submit(); break;
    case OP_ITS_REG: op_its_reg(); break;
    case OP_ITS_CMD: op_its_cmd(); break;
    case OP_TRANSLATER: op_translater(); break;
    case OP_GICR: op_gicr(); break;
    default:
        if (chance(50)) pci_repair(&fns[below(nfns)]);
        else if (chance(60)) virtio_recover(&fns[below(nfns)]);
        else its_restore();
        break;
    }
    tally()->ticks[op] += sysreg_read(cntvct_el0) - start;
}

/* After the hostile phase, a well-behaved driver: the disk reads, virtio-rng gives bytes, an MSI arrives. */
static int final_check(void)
{
    struct function *blk = 0, *rng = 0;
    for (int i = 0; i < nfns; i++) {
        pci_repair(&fns[i]);
        virtio_reset(&fns[i]);
        if (fns[i].is_blk && !blk) blk = &fns[i];
        if (fns[i].device == 0x1044 && !rng) rng = &fns[i];
    }
    int ok = 1;
    gic_init();
    if (!its_final(blk ? blk->bdf : 0)) say("final: ITS: FAIL\n"), ok = 0;
    if (blk) {
        /* MSI-X on, vector 0 to the doorbell with EventID 1, unmasked. */
        u64 cap = blk->cfg + blk->cap_msix;
        mmio_write32(blk->msix_table + 0, (u32)GITS_TRANSLATER);
        mmio_write32(blk->msix_table + 4, (u32)(GITS_TRANSLATER >> 32));
        mmio_write32(blk->msix_table + 8, 1);
        mmio_write32(blk->msix_table + 12, 0);
        *(volatile u16 *)(cap + 2) = 0x8000;
        long used = -1;
        if (virtio_start(blk, FINAL_ARENA + 0x80000, 16, 0)) used = virtio_request(blk, FINAL_ARENA + 0xA0000);
        u32 lpi = gic_ack_lpi(FINAL_LPI, 100000);
        say("final: virtio-blk read %s (used length %ld), MSI-X through the ITS %s (LPI %lu)\n",
            used == 513 ? "ok" : "FAIL", used, lpi == FINAL_LPI ? "ok" : "FAIL", (u64)lpi);
        if (used != 513 || lpi != FINAL_LPI) ok = 0;
        *(volatile u16 *)(cap + 2) = 0;
    }
    if (rng) {
        long used = -1;
        if (virtio_start(rng, FINAL_ARENA + 0xC0000, 16, 0xFFFF)) used = virtio_request(rng, FINAL_ARENA + 0xE0000);
        say("final: virtio-rng %s (used length %ld)\n", used == 64 ? "ok" : "FAIL", used);
        if (used != 64) ok = 0;
    }
    return ok;
}

/* The second vCPU (hostile.cpus=2): its own stream, the same mix, at the same time as the first. Not
   deterministic in its interleaving; the default run has one. */
static volatile int secondary_done;
static u64 secondary_ops;
static u64 secondary_stack[2048] __attribute__((aligned(16)));

static void secondary_run(void)
{
    sysreg_write(tpidr_el1, 1);
    gic_init_cpu();
    for (u64 i = 0; i < secondary_ops; i++) {
        one_operation();
        if ((i & 63) == 63) pci_repair(&fns[below(nfns)]);
    }
    dsb();
    secondary_done = 1;
}

int main(void)
{
    sysreg_write(tpidr_el1, 0);
    exception_hook = hook;
    ram_end = platform.ram_base + platform.ram_size;
    const char *args = bootargs();
    u64 seed = argument(args, "hostile.seed", 1);
    u64 ops = argument(args, "hostile.ops", 100000);
    u64 cpus = argument(args, "hostile.cpus", 1);
    tallies[0].rng = seed;
    tallies[1].rng = seed ^ 0x5EC0DC9A5EC0DC9AUL;
    extern char __stack_top[];
    if ((u64)__stack_top > CANARY_BASE || platform.ram_base != 0x40000000UL || ram_end < VQ_ARENA_END + (4UL << 20))
        fail("HOSTILE-DONE canary=unchecked (needs RAM at 0x40000000, at least 96 MiB)");
    say("hostile: seed %lu, %lu operations on %lu vCPU(s), RAM 0x%lx-0x%lx\n", seed, ops, cpus, platform.ram_base, ram_end);

    canary_fill();
    pci_enumerate();
    if (!nfns) fail("HOSTILE-DONE canary=unchecked (no PCI functions: run with --disk and --virtio-rng)");
    its_setup();

    u64 freq = sysreg_read(cntfrq_el0), start = sysreg_read(cntvct_el0);
    u64 flood = argument(args, "hostile.flood", 0);
    if (flood) {
        extern u64 lpi_flood(u64, u64);
        lpi_flood(flood, 0);
        u64 t1 = sysreg_read(cntvct_el0);
        say("flood: %lu SETLPIR in %lu ms\n", flood, (t1 - start) * 1000 / freq);
        u64 longest = lpi_flood(0, 32767);
        say("flood: 32767 INVALL in %lu ms, the longest access %lu ms\n", (sysreg_read(cntvct_el0) - t1) * 1000 / freq, longest * 1000 / freq);
    }
    u64 mine = ops;
    if (cpus >= 2) {
        secondary_ops = ops / 2;
        mine = ops - secondary_ops;
        secondary_hook = secondary_run;
        dsb();
        if (hvc_call(PSCI_CPU_ON, 1, (u64)secondary_entry, (u64)(secondary_stack + 2048)) != 0) fail("CPU_ON");
    } else secondary_done = 1;
    for (u64 i = 0; i < mine; i++) {
        one_operation();
        /* Every so often a sane baseline again, so that later operations reach past the checks at the door. */
        if ((i & 63) == 63) pci_repair(&fns[below(nfns)]);
        if ((i + 1) % 20000 == 0) say("hostile: %lu operations\n", i + 1);
    }
    while (!secondary_done)
        ;
    u64 ms = (sysreg_read(cntvct_el0) - start) * 1000 / freq;

    struct tally all = {0};
    for (int c = 0; c < MAX_CPUS; c++) {
        for (int k = 0; k < OP_KINDS; k++) all.ops[k] += tallies[c].ops[k], all.ticks[k] += tallies[c].ticks[k];
        all.faults += tallies[c].faults, all.needs_reset += tallies[c].needs_reset, all.its_stalled += tallies[c].its_stalled;
        all.chains += tallies[c].chains, all.notifies += tallies[c].notifies, all.completed += tallies[c].completed;
        all.lpis += tallies[c].lpis;
    }
    u64 total = 0;
    for (int k = 0; k < OP_KINDS; k++) total += all.ops[k];
    say("HOSTILE-SUMMARY ops=%lu", total);
    for (int k = 0; k < OP_KINDS; k++) say(" %s=%lu", op_names[k], all.ops[k]);
    say(" chains=%lu completed=%lu notifies=%lu needs_reset=%lu faults=%lu its_stalled=%lu lpis=%lu ms=%lu\n",
        all.chains, all.completed, all.notifies, all.needs_reset, all.faults, all.its_stalled, all.lpis, ms);
    say("hostile: milliseconds per kind (all vCPUs):");
    for (int k = 0; k < OP_KINDS; k++) say(" %s=%lu", op_names[k], all.ticks[k] * 1000 / freq);
    say("\n");

    int healthy = final_check();
    u64 bad = canary_changed();
    if (bad) say("HOSTILE-DONE canary=BAD (%lu words changed)\n", bad);
    else if (!healthy) say("HOSTILE-DONE canary=ok devices=FAIL\n");
    else say("HOSTILE-DONE canary=ok\n");
    return bad || !healthy;
}
