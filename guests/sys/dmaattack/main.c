/* A bare-metal guest that owns an assigned virtio-blk device (issue 16, item 4) and aims its DMA at every IPA
   that is not its RAM: the hole below the GIC, the GIC, the ITS, the ECAM, the UART, its own SMMU, beyond its
   RAM, beyond the IPA size, a buffer that crosses from its RAM into the hole after it; first with its SMMU's
   stream in bypass, then through a stage 1 of its own that maps IOVAs onto those IPAs. Each request must fail
   (the device reports an I/O error, or needs a reset) and the SMMU's event queue must hold the stage 2 record
   (S2 = 1, the IPA, the IOVA, the direction); so must its descriptor table and its used ring placed there.
   Then MSI-X entries forged to other doorbells and to its own GITS_TRANSLATER with event IDs it never mapped
   (the DeviceID is the bridge's to stamp: no guest write reaches it), and dmaattack.n (default 100000)
   randomised attempts from a seeded generator (dmaattack.seed), each of which must complete or end in a
   device reset. Prints
   "DMAATTACK-SUMMARY ..." and powers off. Jit only, on its Linux platform as a domU sees it:
     xl.cfg: kernel = "build/sys-dmaattack.elf", memory = 64, pci = [ 'BDF' ] (a virtio-blk host device)
   It reuses pcihostile's enumeration and virtio start-up (pci.c, virtq.c), not its hostile operations. */
#include "hostile.h"

#define SMMU_BASE 0x22020000UL /* the platform allocator's third slot: RTC, then the SMMU */
#define SMMU_IDR0 0x00
#define SMMU_CR0 0x20
#define SMMU_CR0ACK 0x24
#define SMMU_STRTAB_BASE 0x80
#define SMMU_STRTAB_BASE_CFG 0x88
#define SMMU_CMDQ_BASE 0x90
#define SMMU_CMDQ_PROD 0x98
#define SMMU_CMDQ_CONS 0x9C
#define SMMU_EVENTQ_BASE 0xA0
#define SMMU_EVENTQ_PROD 0x100A8
#define SMMU_EVENTQ_CONS 0x100AC
#define CR0_SMMUEN 1
#define CR0_EVENTQEN 4
#define CR0_CMDQEN 8
#define EVENTQ_LOG2 8
#define CMDQ_LOG2 4
#define F_TRANSLATION 0x10
#define F_ADDR_SIZE 0x11
#define IPA_LIMIT (1UL << 40)

/* The guest's own arena (RAM from 0x42000000): what the device may legitimately touch, identity-mapped at
   stage 1 by one 2 MiB block; the SMMU's tables and queues above it. */
#define ARENA 0x42000000UL
#define RINGS (ARENA)
#define HEADER (ARENA + 0x10000)
#define DATA (ARENA + 0x20000)
#define STATUS (ARENA + 0x30000)
#define STRTAB 0x42200000UL
#define EVENTQ 0x42210000UL
#define CMDQ 0x42220000UL
#define CD 0x42230000UL
#define TT 0x42240000UL /* level 0, 1, 2 tables: one page each */
#define IOVA_WINDOWS 0x100000000UL /* IOVA window i (2 MiB each) maps onto hostile IPA i */

#define DESC_NEXT 1
#define DESC_WRITE 2
#define VQ_SIZE 16

struct tally tallies[MAX_CPUS];
static struct function *blk;
static u64 ram_end, seed;

/* ---- what pcihostile's pci.c and virtq.c need: the generator, and MMIO that does not fault ---- */

u64 rnd(void)
{
    u64 z = (tallies[0].rng += 0x9E3779B97F4A7C15UL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}
u64 below(u64 n) { return n ? rnd() % n : 0; }
int chance(int percent) { return below(100) < (u64)percent; }
u64 arena_address(enum arena arena, u64 len, u64 align) { (void)arena, (void)len; return DATA & ~(align - 1); }
u64 pick_address(enum arena arena, u64 len, u64 align) { return arena_address(arena, len, align); }
int in_vq_arena(u64 a, u64 len) { return a >= ARENA && len <= 0x40000 && a + len <= ARENA + 0x40000; }
void mmio_exotic(u64 a, u64 v) { (void)a, (void)v; }
u64 mmio_rd(u64 a, int size)
{
    switch (size) {
    case 1: return *(volatile u8 *)a;
    case 2: return *(volatile u16 *)a;
    case 4: return *(volatile u32 *)a;
    default: return *(volatile u64 *)a;
    }
}
void mmio_wr(u64 a, int size, u64 v)
{
    switch (size) {
    case 1: *(volatile u8 *)a = (u8)v; break;
    case 2: *(volatile u16 *)a = (u16)v; break;
    case 4: *(volatile u32 *)a = (u32)v; break;
    default: *(volatile u64 *)a = v; break;
    }
}

static void w16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static u16 r16(u64 a) { return *(volatile u16 *)a; }

/* ---- the SMMU, driven as a driver would (IHI 0070) ---- */

static u32 smmu_r32(u64 off) { return mmio_read32(SMMU_BASE + off); }
static void smmu_w32(u64 off, u32 v) { mmio_write32(SMMU_BASE + off, v); }
static u32 cmd_prod;

static void command(u64 d0, u64 d1)
{
    u64 at = CMDQ + (cmd_prod & ((1u << CMDQ_LOG2) - 1)) * 16;
    w64(at, d0), w64(at + 8, d1);
    cmd_prod = (cmd_prod + 1) & ((2u << CMDQ_LOG2) - 1);
    dsb();
    smmu_w32(SMMU_CMDQ_PROD, cmd_prod);
}

/* STE of the device's stream: V, and Config 0b100 (bypass) or 0b101 (stage 1 with the CD at CD). */
static void set_ste(int stage1)
{
    u64 ste = STRTAB + (u64)blk->bdf * 64;
    for (int i = 1; i < 8; i++) w64(ste + 8 * i, 0);
    w64(ste, stage1 ? 1 | 5UL << 1 | CD : 1 | 4UL << 1);
    command(0x03 | (u64)blk->bdf << 32, 1); /* CFGI_STE, leaf */
    command(0x30, 0);                       /* TLBI_NSNH_ALL */
    command(0x46, 0);                       /* CMD_SYNC */
}

static void smmu_setup(void)
{
    for (u64 a = STRTAB; a < CD + 0x1000; a += 8) w64(a, 0);
    smmu_w32(SMMU_CR0, 0);
    while (smmu_r32(SMMU_CR0ACK) != 0)
        ;
    mmio_write64(SMMU_BASE + SMMU_STRTAB_BASE, STRTAB);
    smmu_w32(SMMU_STRTAB_BASE_CFG, 5); /* linear, 32 streams */
    mmio_write64(SMMU_BASE + SMMU_CMDQ_BASE, CMDQ | CMDQ_LOG2);
    smmu_w32(SMMU_CMDQ_PROD, 0), smmu_w32(SMMU_CMDQ_CONS, 0);
    mmio_write64(SMMU_BASE + SMMU_EVENTQ_BASE, EVENTQ | EVENTQ_LOG2);
    smmu_w32(SMMU_EVENTQ_PROD, 0), smmu_w32(SMMU_EVENTQ_CONS, 0);
    /* A CD as Linux writes one: T0SZ 16, 4 KiB granule, EPD1, valid, IPS 48 bits, AA64, R, A, ASID 1. */
    w64(CD, 16 | 1UL << 8 | 1UL << 10 | 3UL << 12 | 1UL << 30 | 1UL << 31 | 5UL << 32 | 1UL << 41 | 1UL << 45 | 1UL << 46 | 1UL << 48);
    w64(CD + 8, TT);
    w64(CD + 24, 0xFF0400);
    w64(TT, (TT + 0x1000) | 3);             /* level 0 entry 0 */
    w64(TT + 0x1000 + 8 * (ARENA >> 30), (TT + 0x2000) | 3);
    w64(TT + 0x2000 + 8 * ((ARENA >> 21) & 511), ARENA | 1 | 1UL << 10 | 1UL << 6 | 1UL << 11);
    w64(TT + 0x1000 + 8 * (IOVA_WINDOWS >> 30), (TT + 0x3000) | 3);
    dsb();
    smmu_w32(SMMU_CR0, CR0_CMDQEN | CR0_EVENTQEN);
    smmu_w32(SMMU_CR0, CR0_CMDQEN | CR0_EVENTQEN | CR0_SMMUEN);
    if (smmu_r32(SMMU_CR0ACK) != (CR0_CMDQEN | CR0_EVENTQEN | CR0_SMMUEN)) fail("DMAATTACK-DONE result=FAIL (SMMU not enabled)");
}

/* IOVA window i onto the 2 MiB block holding `ipa` (a block, so an IPA beyond 48 bits is an F_ADDR_SIZE of the
   guest's own stage 1, not the hypervisor's: such IPAs are only tried in bypass). */
static u64 map_window(int i, u64 ipa)
{
    w64(TT + 0x3000 + 8 * i, (ipa & ~0x1FFFFFUL) | 1 | 1UL << 10 | 1UL << 6 | 1UL << 11);
    dsb();
    command(0x12 | 1UL << 48, (IOVA_WINDOWS + ((u64)i << 21)) | 1); /* TLBI_NH_VA, ASID 1, leaf */
    command(0x46, 0);
    return IOVA_WINDOWS + ((u64)i << 21) + (ipa & 0x1FFFFF);
}

struct event { u64 d[4]; };
static u32 event_cons;

/* The next record, 0 if none. */
static int next_event(struct event *e)
{
    u32 prod = smmu_r32(SMMU_EVENTQ_PROD) & ((2u << EVENTQ_LOG2) - 1);
    if (prod == event_cons) return 0;
    u64 at = EVENTQ + (event_cons & ((1u << EVENTQ_LOG2) - 1)) * 32;
    for (int i = 0; i < 4; i++) e->d[i] = *(volatile u64 *)(at + 8 * i);
    event_cons = (event_cons + 1) & ((2u << EVENTQ_LOG2) - 1);
    smmu_w32(SMMU_EVENTQ_CONS, event_cons);
    return 1;
}

static void drain_events(void)
{
    u32 prod = smmu_r32(SMMU_EVENTQ_PROD);
    event_cons = prod & ((2u << EVENTQ_LOG2) - 1);
    smmu_w32(SMMU_EVENTQ_CONS, event_cons | (prod & 0x80000000u)); /* acknowledge an overflow too */
}

/* Whether the queue holds a stage 2 record of the device's stream for `ipa`'s page, input `input` (ANYWHERE: any
   input in that page, for structures the device reaches at offsets of its own), `read`. */
#define ANYWHERE (~0UL)
static int find_stage2(u64 input, u64 ipa, int read)
{
    struct event e;
    int found = 0;
    u8 want = ipa >= IPA_LIMIT ? F_ADDR_SIZE : F_TRANSLATION;
    while (next_event(&e))
        if ((u8)e.d[0] == want && (u32)(e.d[0] >> 32) == blk->bdf && (e.d[1] >> 39 & 1) && !!(e.d[1] >> 35 & 1) == read &&
            (input == ANYWHERE ? (e.d[2] & ~0xFFFUL) == (ipa & ~0xFFFUL) : e.d[2] == input) && (e.d[3] & 0xFFFFFFFFFF000UL) == (ipa & ~0xFFFUL))
            found = 1;
    return found;
}

/* ---- virtio-blk requests ---- */

static u16 avail_idx, used_seen;
static u64 restarts;

static int needs_reset(void) { return (mmio_rd(blk->common + COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET) != 0; }

static void restart(void)
{
    restarts++;
    if (!virtio_start(blk, RINGS, VQ_SIZE, 0)) fail("DMAATTACK-DONE result=FAIL (virtio-blk did not start again)");
    avail_idx = used_seen = 0;
}

enum outcome { DONE_OK, DONE_IOERR, DONE_RESET, LOST };

/* One request: header at `header`, a data buffer of `len` at `data` the device writes (read from disk) or reads
   (`out`), the status byte at `status`. The outcome as the driver sees it. */
static enum outcome request(u64 header, u64 data, u32 len, int out, u64 status)
{
    u64 d = RINGS;
    u16 slot = avail_idx % VQ_SIZE;
    if (header >= ARENA && header < ARENA + 0x200000) header &= ~15UL;
    if (header >= ARENA && header < ARENA + 0x200000) w32(header, out ? 1 : 0), w32(header + 4, 0), w64(header + 8, 0);
    if (status >= ARENA && status < ARENA + 0x200000) *(volatile u8 *)status = 0xFF;
    w64(d, header), w32(d + 8, 16), w16(d + 12, DESC_NEXT), w16(d + 14, 1);
    w64(d + 16, data), w32(d + 24, len), w16(d + 28, DESC_NEXT | (out ? 0 : DESC_WRITE)), w16(d + 30, 2);
    w64(d + 32, status), w32(d + 40, 1), w16(d + 44, DESC_WRITE), w16(d + 46, 0);
    w16(blk->q[0].avail + 4 + 2 * slot, 0);
    dsb();
    w16(blk->q[0].avail + 2, ++avail_idx);
    dsb();
    u16 off = (u16)mmio_rd(blk->common + COMMON_Q_NOFF, 2);
    mmio_wr(blk->notify + (u64)off * blk->notify_mult, 2, 0);
    if (needs_reset()) return DONE_RESET;
    if (r16(blk->q[0].used + 2) == used_seen) return LOST;
    used_seen++;
    u8 s = status >= ARENA && status < ARENA + 0x200000 ? *(volatile u8 *)status : 0xFF;
    return s == 0 ? DONE_OK : DONE_IOERR;
}

/* ---- the attacks ---- */

static u64 checks, passed;

static void check(int ok, const char *what, u64 a)
{
    checks++;
    if (ok) passed++;
    else say("dmaattack: FAIL %s at 0x%lx\n", what, a);
}

/* One hostile buffer at `data` (an IOVA translating to `ipa`): refused both ways, with the record. */
static void attack(const char *what, u64 data, u64 ipa)
{
    for (int out = 0; out <= 1; out++) {
        drain_events();
        enum outcome o = request(HEADER, data, 512, out, STATUS);
        check(o == DONE_IOERR || o == DONE_RESET, what, ipa);
        check(find_stage2(data, ipa, out), "stage 2 record", ipa);
        if (o == DONE_RESET) restart();
    }
}

static void fixed_attacks(void)
{
    u64 ipas[] = {
        0x1000,                    /* the hole below the GIC */
        GICD_BASE, GICR_BASE, GITS_BASE, GITS_TRANSLATER & ~0xFFFUL,
        ECAM_BASE, UART_BASE, SMMU_BASE, PCI_MEM32 + 0x100000,
        ram_end, ram_end + 0x123000, RAM1_BASE, 0x8000000000UL,
    };
    int n = sizeof ipas / sizeof ipas[0];
    for (int i = 0; i < n; i++) attack("bypass", ipas[i], ipas[i]);
    attack("bypass beyond the IPA size", IPA_LIMIT + 0x5000, IPA_LIMIT + 0x5000);

    /* From the last 256 bytes of RAM into the hole after it: nothing of the RAM part may change. */
    u64 edge = ram_end - 0x100;
    for (int i = 0; i < 0x100; i += 8) w64(edge + i, 0x5A5A5A5A5A5A5A5AUL);
    drain_events();
    enum outcome o = request(HEADER, edge, 512, 0, STATUS);
    check(o == DONE_IOERR || o == DONE_RESET, "crossing the end of RAM", edge);
    check(find_stage2(ram_end, ram_end, 0), "stage 2 record for the crossing", ram_end);
    int whole = 1;
    for (int i = 0; i < 0x100; i += 8) whole &= *(volatile u64 *)(edge + i) == 0x5A5A5A5A5A5A5A5AUL;
    check(whole, "RAM before the edge unchanged", edge);
    if (o == DONE_RESET) restart();

    /* The queue's own areas there: the descriptor table (read) and the used ring (written). */
    for (int i = 0; i < n; i++) {
        for (int which = 0; which < 2; which++) {
            drain_events();
            for (u64 a = RINGS; a < RINGS + 0x3000; a += 8) w64(a, 0);
            u64 desc = which ? RINGS : ipas[i], used = which ? ipas[i] : RINGS + 0x2000;
            if (!virtio_start_at(blk, desc, RINGS + 0x1000, used, VQ_SIZE, 0)) {
                check(needs_reset(), "a queue outside RAM refused at DRIVER_OK", ipas[i]);
            } else {
                avail_idx = used_seen = 0;
                enum outcome o = request(HEADER, DATA, 512, 0, STATUS);
                check(o == DONE_RESET, which ? "used ring outside RAM" : "descriptor table outside RAM", ipas[i]);
                check(find_stage2(ANYWHERE, ipas[i], !which), which ? "stage 2 record for the used ring" : "stage 2 record for the descriptor table", ipas[i]);
            }
            restart();
        }
    }

    /* Through stage 1: IOVAs of its own mapping onto the same IPAs. */
    set_ste(1);
    check(request(HEADER, DATA, 512, 0, STATUS) == DONE_OK, "a request through stage 1", DATA);
    for (int i = 0; i < n; i++) {
        if (ipas[i] >= (1UL << 48)) continue;
        u64 iova = map_window(i, ipas[i]);
        attack("stage 1", iova, ipas[i]);
    }
    set_ste(0);
    check(request(HEADER, DATA, 512, 0, STATUS) == DONE_OK, "a request in bypass again", DATA);
}

/* MSI-X entry 0 forged, then a good request whose completion sends it. */
static void forge_msi(u64 address, u32 data)
{
    u64 entry = blk->msix_table;
    mmio_wr(entry, 8, address);
    mmio_wr(entry + 8, 4, data);
    mmio_wr(entry + 12, 4, 0);
    enum outcome o = request(HEADER, DATA, 512, 0, STATUS);
    if (o == DONE_RESET) restart();
}

static void msi_attacks(void)
{
    mmio_wr(blk->cfg + blk->cap_msix + 2, 2, 0x8000); /* MSI-X enable */
    u64 doorbells[] = {GITS_TRANSLATER, GICD_BASE + 0x40 /* SETSPI_NSR */, GICR_BASE + 0x40 /* SETLPIR */, UART_BASE, 0x1000, ram_end};
    for (unsigned i = 0; i < sizeof doorbells / sizeof doorbells[0]; i++)
        for (u32 ev = 0; ev < 8; ev++) {
            drain_events();
            forge_msi(doorbells[i], ev == 7 ? 0xFFFFFFFFu : ev * 977);
            if (i >= 1) check(find_stage2(doorbells[i], doorbells[i], 0), "forged MSI recorded", doorbells[i]);
        }
}

static u64 random_address(void)
{
    u64 r = below(100);
    if (r < 20) return DATA + below(0x10000);
    if (r < 30) return below(0x03000000);
    if (r < 40) return (u64[]){GICD_BASE, GICR_BASE, GITS_BASE, ECAM_BASE, UART_BASE, SMMU_BASE}[below(6)] + below(0x20000);
    if (r < 50) return ram_end - below(0x1000);
    if (r < 60) return ram_end + below(1UL << 32);
    if (r < 70) return (1UL << (40 + below(9))) - below(0x2000);
    if (r < 75) return ~0UL - below(0x1000);
    return rnd();
}

static u64 random_attempts(u64 n, u64 *ok, u64 *ioerr, u64 *resets)
{
    u64 lost = 0;
    for (u64 i = 0; i < n; i++) {
        if (chance(10)) {
            u64 entry = blk->msix_table + 16 * below(blk->msix_vectors);
            mmio_wr(entry, 8, chance(50) ? GITS_TRANSLATER : random_address());
            mmio_wr(entry + 8, 8, chance(80) ? below(64) : rnd());
        }
        u64 header = chance(90) ? HEADER : random_address(), status = chance(90) ? STATUS : random_address();
        u32 len = chance(70) ? 512 * (1 + below(8)) : (u32)rnd();
        enum outcome o = request(header, random_address(), len, chance(50), status);
        if (o == DONE_OK) (*ok)++;
        else if (o == DONE_IOERR) (*ioerr)++;
        else if (o == DONE_RESET) (*resets)++, restart();
        else lost++, restart();
        if ((i & 63) == 63) drain_events();
        if ((i + 1) % 20000 == 0) say("dmaattack: %lu attempts\n", i + 1);
    }
    return lost;
}

static void hook(struct frame *f, u64 vector)
{
    say("dmaattack: unexpected exception: vector %lu ESR 0x%lx ELR 0x%lx FAR 0x%lx\n", vector, f->esr, f->elr, f->far);
    fail("DMAATTACK-DONE result=FAIL (unexpected exception)");
}

int main(void)
{
    exception_hook = hook;
    const char *args = bootargs();
    seed = argument(args, "dmaattack.seed", 1);
    u64 n = argument(args, "dmaattack.n", 100000);
    tallies[0].rng = seed;
    ram_end = platform.ram_base + platform.ram_size;
    say("dmaattack: seed %lu, %lu random attempts, RAM 0x%lx-0x%lx\n", seed, n, platform.ram_base, ram_end);
    if (platform.ram_base > ARENA || ram_end < STRTAB + 0x100000) fail("DMAATTACK-DONE result=FAIL (needs RAM from 0x40000000, 64 MiB)");
    pci_enumerate();
    for (int i = 0; i < nfns; i++)
        if (fns[i].is_blk) blk = &fns[i];
    if (!blk || !blk->cap_msix) fail("DMAATTACK-DONE result=FAIL (no virtio-blk function with MSI-X: assign one)");
    if (smmu_r32(SMMU_IDR0) == 0) fail("DMAATTACK-DONE result=FAIL (no SMMU at 0x22020000)");
    smmu_setup();
    set_ste(0);
    restart();
    restarts = 0;
    check(request(HEADER, DATA, 512, 0, STATUS) == DONE_OK, "a good request", DATA);
    fixed_attacks();
    msi_attacks();
    u64 ok = 0, ioerr = 0, resets = 0;
    u64 t0 = sysreg_read(cntvct_el0);
    u64 lost = random_attempts(n, &ok, &ioerr, &resets);
    u64 ms = (sysreg_read(cntvct_el0) - t0) * 1000 / sysreg_read(cntfrq_el0);
    drain_events();
    check(request(HEADER, DATA, 512, 0, STATUS) == DONE_OK, "a good request after the attempts", DATA);
    say("DMAATTACK-SUMMARY checks=%lu passed=%lu random=%lu ok=%lu ioerr=%lu reset=%lu lost=%lu ms=%lu\n", checks, passed, n, ok,
        ioerr, resets, lost, ms);
    say("DMAATTACK-DONE result=%s\n", passed == checks ? "ok" : "FAIL");
    return 0;
}
