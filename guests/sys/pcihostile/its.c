/* The GICv3 ITS and the redistributors' LPI registers: first a sane set-up (each function's vectors mapped to
   LPIs on CPU 0), then random GITS_CBASER, GITS_BASER<n>, GITS_CWRITER and GITS_CTLR values, command queues
   full of all twelve commands with random fields, GITS_TRANSLATER writes, and random GICR_PROPBASER,
   GICR_PENDBASER, GICR_CTLR and direct-LPI writes. The ITS is only ever given tables in the ITS arena or
   outside RAM; the guest writes only into the ITS arena. */
#include "hostile.h"

#define GITS_CTLR    0x000
#define GITS_IIDR    0x004
#define GITS_TYPER   0x008
#define GITS_CBASER  0x080
#define GITS_CWRITER 0x088
#define GITS_CREADR  0x090
#define GITS_BASER   0x100
#define VALID        (1UL << 63)
#define INDIRECT     (1UL << 62)

#define GICR_CTLR      0x00
#define GICR_WAKER     0x14
#define GICR_SETLPIR   0x40
#define GICR_CLRLPIR   0x48
#define GICR_PROPBASER 0x70
#define GICR_PENDBASER 0x78
#define GICR_INVLPIR   0xA0
#define GICR_INVALLR   0xB0
#define GICR_SYNCR     0xC0
#define PTZ            (1UL << 62)

#define CMD_MOVI 0x01
#define CMD_INT 0x03
#define CMD_CLEAR 0x04
#define CMD_SYNC 0x05
#define CMD_MAPD 0x08
#define CMD_MAPC 0x09
#define CMD_MAPTI 0x0A
#define CMD_MAPI 0x0B
#define CMD_INV 0x0C
#define CMD_INVALL 0x0D
#define CMD_MOVALL 0x0E
#define CMD_DISCARD 0x0F

/* The sane set-up's tables, in the ITS arena (the hostile phase may overwrite them). */
#define SANE_DT  (ITS_ARENA + 0x000000) /* 512 KiB: every 16-bit DeviceID */
#define SANE_CT  (ITS_ARENA + 0x080000)
#define SANE_CQ  (ITS_ARENA + 0x090000)
#define SANE_ITT (ITS_ARENA + 0x0A0000)
/* CPU 0's LPI tables, fixed once EnableLPIs is set: in the final arena, read by the GIC only. */
#define PROP0    (FINAL_ARENA + 0x10000) /* 56 KiB for INTIDs 8192..65535 */
#define PEND0    (FINAL_ARENA + 0x20000) /* 64 KiB aligned, 8 KiB */
#define FINAL_DT  (FINAL_ARENA + 0x40000)
#define FINAL_CT  (FINAL_ARENA + 0x41000)
#define FINAL_CQ  (FINAL_ARENA + 0x42000)
#define FINAL_ITT (FINAL_ARENA + 0x43000)
#define LPI_TABLE_BYTES (65536 - 8192)

static u64 its_rd(u64 reg, int size) { return mmio_rd(GITS_BASE + reg, size); }
static void its_wr(u64 reg, int size, u64 v) { mmio_wr(GITS_BASE + reg, size, v); }
static u64 rd_frame(u32 cpu) { return GICR_BASE + cpu * GICR_FRAME; }

static void its_enable(int on)
{
    its_wr(GITS_CTLR, 4, on);
    if (!on)
        for (int i = 0; i < 1000 && !(its_rd(GITS_CTLR, 4) & (1u << 31)); i++)
            ;
}

/* Appends commands at GITS_CWRITER and publishes them; the queue must be the guest's to write. */
static void its_commands(u64 queue, u64 bytes, const u64 (*cmds)[4], int n)
{
    u64 at = its_rd(GITS_CWRITER, 8) & 0xFFFE0;
    for (int i = 0; i < n; i++) {
        for (int w = 0; w < 4; w++) *(volatile u64 *)(queue + at % bytes + 8 * w) = cmds[i][w];
        at = (at + 32) % bytes;
    }
    its_wr(GITS_CWRITER, 8, at);
}

/* The ITS as a driver leaves it: flat tables, each function's vectors mapped to LPIs on CPU 0, MSI-X on. */
void its_restore(void)
{
    for (u64 a = SANE_DT; a < SANE_ITT + 0x1000 * MAX_FUNCTIONS; a += 8) *(volatile u64 *)a = 0;
    its_enable(0);
    its_wr(GITS_BASER, 8, VALID | SANE_DT | 127);     /* flat, 4 KiB pages, 128 of them */
    its_wr(GITS_BASER + 8, 8, VALID | SANE_CT | 15);
    its_wr(GITS_CBASER, 8, VALID | SANE_CQ | 0);
    its_wr(GITS_CWRITER, 8, 0);
    its_enable(1);
    const u64 collections[2][4] = {{CMD_MAPC, 0, VALID | 0UL << 16 | 0, 0}, {CMD_MAPC, 0, VALID | 1UL << 16 | 1, 0}};
    its_commands(SANE_CQ, 4096, collections, 2);
    for (int i = 0; i < nfns; i++) {
        /* Events 0..31 of each function to LPIs 8192 + 64 i + event in collection 0; its MSI-X table sends them. */
        u64 mapd[1][4] = {{CMD_MAPD | (u64)fns[i].bdf << 32, 4, VALID | (SANE_ITT + 0x1000 * i), 0}};
        its_commands(SANE_CQ, 4096, (const u64 (*)[4])mapd, 1);
        for (u32 e = 0; e < fns[i].msix_vectors && e < 32; e++) {
            u64 mapti[1][4] = {{CMD_MAPTI | (u64)fns[i].bdf << 32, e | (u64)(8192 + 64 * i + e) << 32, 0, 0}};
            its_commands(SANE_CQ, 4096, (const u64 (*)[4])mapti, 1);
        }
        for (u32 e = 0; e < fns[i].msix_vectors; e++) {
            u64 entry = fns[i].msix_table + 16 * e;
            mmio_wr(entry, 4, (u32)GITS_TRANSLATER);
            mmio_wr(entry + 4, 4, 0);
            mmio_wr(entry + 8, 4, e);
            mmio_wr(entry + 12, 4, 0);
        }
        if (fns[i].cap_msix) mmio_wr(fns[i].cfg + fns[i].cap_msix + 2, 2, 0x8000);
    }
    const u64 sync[1][4] = {{CMD_SYNC, 0, 0, 0}};
    its_commands(SANE_CQ, 4096, sync, 1);
}

void its_setup(void)
{
    for (u64 a = PROP0; a < PROP0 + LPI_TABLE_BYTES; a += 8) *(volatile u64 *)a = 0xA1A1A1A1A1A1A1A1UL; /* enabled, priority 0xa0 */
    for (u64 a = PEND0; a < PEND0 + 0x2000; a += 8) *(volatile u64 *)a = 0;
    gic_init();
    mmio_wr(rd_frame(0) + GICR_PROPBASER, 8, PROP0 | 15);
    mmio_wr(rd_frame(0) + GICR_PENDBASER, 8, PEND0 | PTZ);
    mmio_wr(rd_frame(0) + GICR_CTLR, 4, 1);
    its_restore();
    u64 creadr = its_rd(GITS_CREADR, 8);
    if (creadr != its_rd(GITS_CWRITER, 8)) say("hostile: ITS set-up: CREADR 0x%lx, CWRITER 0x%lx\n", creadr, its_rd(GITS_CWRITER, 8));
}

/* ---- hostile values ---- */

static u64 table_value(u64 bytes_hint)
{
    u64 v = pick_address(ARENA_ITS, bytes_hint, 4096) & 0x000FFFFFFFFFF000UL;
    if (chance(85)) v |= VALID;
    if (chance(30)) v |= INDIRECT;
    v |= rnd() & 0x3FFF000000000C00UL;          /* cacheability, type (read-only), shareability */
    v |= below(4) << 8;                          /* page size, 0b11 reserved */
    v |= chance(80) ? below(4) : below(256);     /* size */
    return v;
}

/* The level-1 table of a two-level GITS_BASER value: entries pointing at level-2 pages, valid or not. */
static void fill_level1(u64 baser)
{
    u64 base = baser & 0x0000FFFFFFFFF000UL;
    if (!(baser & INDIRECT) || base < ITS_ARENA || base + 64 * 8 > FINAL_ARENA) return;
    for (int i = 0; i < 64; i++)
        *(volatile u64 *)(base + 8 * i) = (chance(60) ? VALID : 0) | (pick_address(ARENA_ITS, 0x10000, 0x1000) & 0x000FFFFFFFFFF000UL);
}

void op_its_reg(void)
{
    u64 r = below(100);
    int halves = chance(25);
    if (r < 10) {
        its_wr(GITS_CTLR, 4, chance(80) ? below(2) : rnd());
    } else if (r < 60) {
        u64 reg = r < 35 ? GITS_CBASER : GITS_BASER + 8 * (chance(80) ? below(2) : below(8));
        u64 v = table_value(0x10000);
        if (chance(60)) its_enable(0);
        if (reg != GITS_CBASER) fill_level1(v);
        if (halves) its_wr(reg + 4 * below(2), 4, v >> (32 * below(2)));
        else its_wr(reg, 8, v);
        if (chance(70)) its_enable(1);
    } else if (r < 75) {
        u64 cbaser = its_rd(GITS_CBASER, 8), bytes = ((cbaser & 0xFF) + 1) * 4096;
        u64 v = chance(85) ? below(bytes + 0x100) & ~31UL : rnd();
        if (chance(10)) v |= 1; /* Retry */
        if (halves) its_wr(GITS_CWRITER + 4 * below(2), 4, v);
        else its_wr(GITS_CWRITER, 8, v);
    } else if (r < 85) {
        static const u64 regs[] = {GITS_CTLR, GITS_IIDR, GITS_TYPER, GITS_CBASER, GITS_CWRITER, GITS_CREADR,
                                   GITS_BASER, GITS_BASER + 8, GITS_BASER + 0x38, 0xFFE8, 0xFFD0, 0x10040};
        u64 reg = regs[below(12)];
        static const int sizes[] = {4, 8, 2, 1};
        u64 v = its_rd(reg, sizes[below(4)]);
        if (reg == GITS_CREADR && (v & 1)) tally()->its_stalled++;
    } else {
        static const int sizes[] = {1, 2, 4, 8, 16};
        u64 reg = chance(80) ? below(0x200) : below(0x10000);
        int size = sizes[below(5)];
        if (chance(90)) reg &= ~(u64)((size > 8 ? 8 : size) - 1);
        if (chance(5)) mmio_exotic(GITS_BASE + reg, rnd());
        else if (chance(40)) (void)its_rd(reg, size);
        else its_wr(reg, size, rnd());
    }
}

/* One command with fields that are sometimes right. */
static void random_command(u64 *c)
{
    static const u8 numbers[] = {CMD_MOVI, CMD_INT, CMD_CLEAR, CMD_SYNC, CMD_MAPD, CMD_MAPC, CMD_MAPTI, CMD_MAPI,
                                 CMD_INV, CMD_INVALL, CMD_MOVALL, CMD_DISCARD};
    u64 number = chance(92) ? numbers[below(12)] : below(256);
    u64 r = below(100);
    u64 device = r < 50 ? fns[below(nfns)].bdf : r < 75 ? below(64) : r < 90 ? below(65536) : (u32)rnd();
    u64 event = chance(70) ? below(40) : chance(50) ? below(65536) : (u32)rnd();
    r = below(100);
    u64 intid = r < 60 ? 8192 + below(1024) : r < 75 ? below(8192) : r < 90 ? 8192 + below(65536 - 8192) : (u32)rnd();
    u64 icid = chance(70) ? below(4) : chance(50) ? below(65536) : rnd() & 0xFFFF;
    u64 rdbase = chance(80) ? below(3) : rnd() & 0xFFFFFFFFFUL;
    u64 rdbase2 = chance(80) ? below(3) : rnd() & 0xFFFFFFFFFUL;
    u64 itt_bits = chance(80) ? below(8) : below(32);
    u64 itt = pick_address(ARENA_ITS, 8UL << itt_bits, 256) & 0x000FFFFFFFFFFF00UL;
    u64 valid = chance(85) ? VALID : 0;
    c[0] = number | device << 32;
    c[1] = event | intid << 32;
    c[2] = 0;
    c[3] = 0;
    switch (number) {
    case CMD_MAPD: c[1] = itt_bits | (chance(10) ? rnd() & ~0x1FUL : 0); c[2] = valid | itt; break;
    case CMD_MAPC: c[2] = valid | rdbase << 16 | icid; break;
    case CMD_MAPTI: case CMD_MAPI: case CMD_MOVI: c[2] = icid; break;
    case CMD_INVALL: c[2] = icid; break;
    case CMD_SYNC: c[2] = rdbase << 16; break;
    case CMD_MOVALL: c[2] = rdbase << 16; c[3] = rdbase2 << 16; break;
    default: break;
    }
    /* Reserved bits set, now and then. */
    if (chance(10)) c[below(4)] ^= rnd() & 0xFFFF000000000000UL;
}

void op_its_cmd(void)
{
    u64 cbaser = its_rd(GITS_CBASER, 8);
    u64 base = cbaser & 0x000FFFFFFFFFF000UL, bytes = ((cbaser & 0xFF) + 1) * 4096;
    if (!(cbaser & VALID) || base < ITS_ARENA || base + bytes > FINAL_ARENA) {
        if (chance(30)) {
            its_wr(GITS_CWRITER, 8, below(0x10000) & ~31UL);
            return;
        }
        /* A queue of our own, 1 to 8 pages (now and then up to 256). */
        u64 pages = chance(90) ? 1 + below(8) : 1 + below(256);
        base = arena_address(ARENA_ITS, pages * 4096, 4096);
        bytes = pages * 4096;
        its_enable(0);
        its_wr(GITS_CBASER, 8, VALID | base | (pages - 1));
    }
    if (chance(80) && !(its_rd(GITS_CTLR, 4) & 1)) its_enable(1);
    u64 at = its_rd(GITS_CWRITER, 8) & 0xFFFE0;
    /* Mostly a few commands, as a driver sends them; now and then the whole queue at once. */
    int n = chance(95) ? 1 + below(16) : 1 + below(bytes / 32 - 1);
    for (int i = 0; i < n; i++) {
        u64 c[4];
        random_command(c);
        for (int w = 0; w < 4; w++) *(volatile u64 *)(base + at % bytes + 8 * w) = c[w];
        at = (at + 32) % bytes;
    }
    u64 r = below(100);
    if (r < 85) its_wr(GITS_CWRITER, 8, at);
    else if (r < 92) its_wr(GITS_CWRITER, 8, at | 1);             /* Retry */
    else if (r < 96) its_wr(GITS_CWRITER, 8, bytes + below(0x1000)); /* beyond the queue */
    else its_wr(GITS_CWRITER, 4, rnd());
    /* Wait as a driver does, polling GITS_CREADR (the ITS runs a bounded number of commands per access). */
    u64 cwriter = its_rd(GITS_CWRITER, 8), creadr = 0;
    for (int polls = 0; polls < 1100; polls++) {
        creadr = its_rd(GITS_CREADR, 8);
        if ((creadr & 1) || creadr == cwriter || chance(2)) break;
    }
    if (creadr & 1) {
        tally()->its_stalled++;
        if (chance(60)) its_wr(GITS_CWRITER, 8, (creadr & 0xFFFE0) | 1);
    }
}

void op_translater(void)
{
    static const int sizes[] = {4, 4, 4, 2, 1, 8};
    u64 at = chance(85) ? 0x10040 : 0x10000 + below(0x10000);
    int size = sizes[below(6)];
    if (chance(90)) at &= ~(u64)(size - 1);
    if (chance(10)) (void)its_rd(at, size);
    else its_wr(at, size, chance(70) ? below(40) : rnd());
}

/* The LPI registers of a redistributor (one past the last, now and then). CPU 0's PROPBASER and PENDBASER are
   fixed since EnableLPIs; CPU 1's are the generator's until it sets EnableLPIs there. */
void op_gicr(void)
{
    u64 rd = rd_frame(chance(95) ? below(2) : 2);
    u64 r = below(100);
    int size = chance(80) ? 8 : 4;
    u64 off = size == 4 ? 4 * below(2) : 0;
    if (r < 20) {
        u64 v = (pick_address(ARENA_ITS, 0x10000, 0x1000) & 0x000FFFFFFFFFF000UL) | below(32) | (rnd() & 0x0700000000000380UL);
        mmio_wr(rd + GICR_PROPBASER + off, size, v >> (8 * off));
    } else if (r < 35) {
        u64 v = (pick_address(ARENA_ITS, 0x12000, 0x10000) & 0x000FFFFFFFFF0000UL) | (chance(50) ? PTZ : 0) | (rnd() & 0x0700000000000380UL);
        mmio_wr(rd + GICR_PENDBASER + off, size, v >> (8 * off));
    } else if (r < 45) {
        mmio_wr(rd + GICR_CTLR, 4, chance(60) ? 1 : rnd());
    } else if (r < 47) {
        /* A burst: thousands of LPIs pending at once, each delivery decision must stay cheap. */
        u64 first = 8192 + below(65536 - 8192), count = 256 + below(2048);
        rd = rd_frame(below(2));
        for (u64 i = 0; i < count; i++) mmio_wr(rd + GICR_SETLPIR, 8, 8192 + (first - 8192 + i) % LPI_TABLE_BYTES);
    } else if (r < 68) {
        static const u64 regs[] = {GICR_SETLPIR, GICR_CLRLPIR, GICR_INVLPIR, GICR_INVALLR};
        u64 intid = chance(70) ? 8192 + below(1024) : chance(50) ? below(65536) : rnd();
        mmio_wr(rd + regs[below(4)] + off, size, intid);
    } else if (r < 88) {
        /* Take what the LPIs raised, as a handler would (IRQs stay masked: the guest polls). */
        for (int i = 0; i < 32; i++) {
            u32 intid = (u32)sysreg_read(ICC_IAR1_EL1);
            if (intid == 1023) break;
            sysreg_write(ICC_EOIR1_EL1, intid);
            if (intid >= 8192) tally()->lpis++;
        }
    } else if (r < 93) {
        static const u64 regs[] = {GICR_CTLR, GICR_SYNCR, GICR_PROPBASER, GICR_PENDBASER, 0x08, 0x10, GICR_WAKER};
        (void)mmio_rd(rd + regs[below(7)], chance(70) ? 4 : 8);
    } else {
        static const int sizes[] = {1, 2, 4, 8};
        u64 reg = below(0x100);
        int n = sizes[below(4)];
        reg &= ~(u64)(n - 1);
        if (reg == GICR_WAKER) reg = GICR_SYNCR;
        if (chance(5)) mmio_exotic(rd + reg, rnd());
        else if (chance(50)) (void)mmio_rd(rd + reg, n);
        else mmio_wr(rd + reg, n, rnd());
    }
}

/* ---- after the hostile phase ---- */

u32 gic_ack_lpi(u32 want, u64 tries)
{
    u32 last = 1023;
    for (u64 i = 0; i < tries; i++) {
        u32 intid = (u32)sysreg_read(ICC_IAR1_EL1);
        if (intid == 1023) continue;
        sysreg_write(ICC_EOIR1_EL1, intid);
        last = intid;
        if (intid == want) return intid;
    }
    return last;
}

int its_final(u32 deviceid)
{
    /* Only FINAL_LPI enabled, and nothing left pending from before. */
    for (u64 a = PROP0; a < PROP0 + LPI_TABLE_BYTES; a += 8) *(volatile u64 *)a = 0;
    *(volatile u8 *)(PROP0 + FINAL_LPI - 8192) = 0xA1;
    mmio_wr(rd_frame(0) + GICR_INVALLR, 8, 0);
    for (int i = 0; i < 100000 && gic_ack_lpi(0, 1) != 1023; i++)
        ;

    its_enable(0);
    for (u64 a = FINAL_DT; a < FINAL_ITT + 0x100; a += 8) *(volatile u64 *)a = 0;
    its_wr(GITS_BASER, 8, VALID | FINAL_DT);
    its_wr(GITS_BASER + 8, 8, VALID | FINAL_CT);
    its_wr(GITS_CBASER, 8, VALID | FINAL_CQ);
    its_wr(GITS_CWRITER, 8, 0);
    its_enable(1);
    const u64 cmds[4][4] = {
        {CMD_MAPC, 0, VALID | 0UL << 16 | 0, 0},
        {CMD_MAPD | (u64)deviceid << 32, 4, VALID | FINAL_ITT, 0},
        {CMD_MAPTI | (u64)deviceid << 32, 1 | (u64)FINAL_LPI << 32, 0, 0},
        {CMD_SYNC, 0, 0, 0},
    };
    its_commands(FINAL_CQ, 4096, cmds, 4);
    u64 creadr = its_rd(GITS_CREADR, 8), cwriter = its_rd(GITS_CWRITER, 8);
    if (creadr != cwriter) say("final: ITS CREADR 0x%lx, CWRITER 0x%lx\n", creadr, cwriter);
    return creadr == cwriter && creadr == 4 * 32;
}

/* Pressure on the redistributors' pending state: `lpis` LPIs of CPU 0 made pending through GICR_SETLPIR, then a
   command queue of `commands` INVALLs (a full 1 MiB queue holds 32,767), published with one GITS_CWRITER write
   and waited for by polling GITS_CREADR. Returns the longest single access in counter ticks: the ITS must
   never make one access wait for the whole queue. */
u64 lpi_flood(u64 lpis, u64 commands)
{
    u64 rd = rd_frame(0), longest = 0;
    for (u64 i = 0; i < lpis; i++) mmio_wr(rd + GICR_SETLPIR, 8, 8192 + i % LPI_TABLE_BYTES);
    if (!commands) return 0;
    u64 bytes = (commands * 32 + 32 + 4095) & ~4095UL;
    if (bytes > 0x100000) bytes = 0x100000;
    u64 base = arena_address(ARENA_ITS, bytes, 4096);
    its_enable(0);
    its_wr(GITS_BASER + 8, 8, VALID | SANE_CT | 15);
    its_wr(GITS_CBASER, 8, VALID | base | (bytes / 4096 - 1));
    its_enable(1);
    const u64 mapc[1][4] = {{CMD_MAPC, 0, VALID | 0UL << 16 | 0, 0}};
    its_commands(base, bytes, mapc, 1);
    u64 at = 32;
    for (u64 i = 0; i < commands && (at + 32) % bytes != 0; i++, at += 32) {
        volatile u64 *c = (volatile u64 *)(base + at);
        c[0] = CMD_INVALL, c[1] = 0, c[2] = 0, c[3] = 0;
    }
    u64 t = sysreg_read(cntvct_el0);
    its_wr(GITS_CWRITER, 8, at % bytes);
    for (;;) {
        u64 now = sysreg_read(cntvct_el0);
        if (now - t > longest) longest = now - t;
        if ((its_rd(GITS_CREADR, 8) & ~31UL) == at % bytes) break;
        t = now;
    }
    u64 now = sysreg_read(cntvct_el0);
    if (now - t > longest) longest = now - t;
    return longest;
}
