/* PCI: the functions on bus 0 found through ECAM and set up as a firmware would, then configuration space,
   BAR space and MSI-X tables poked with random values. */
#include "hostile.h"

struct function fns[MAX_FUNCTIONS];
int nfns;

#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4

/* A value for a register: random, all-ones, zero, small, or one bit. */
static u64 value(void)
{
    u64 r = below(100);
    if (r < 30) return rnd();
    if (r < 45) return ~0UL;
    if (r < 60) return 0;
    if (r < 80) return below(256);
    return 1UL << below(64);
}

/* Access sizes, 4 most often, a 16-byte pair now and then. */
static int size(void)
{
    static const int sizes[] = {1, 2, 4, 4, 4, 8, 8, 16};
    return sizes[below(sizeof sizes / sizeof sizes[0])];
}

/* Aligned to its size, usually. */
static u64 place(u64 a, int size)
{
    return chance(95) ? a & ~(u64)((size > 8 ? 8 : size) - 1) : a;
}

static void poke(u64 a, int size)
{
    if (chance(3)) mmio_exotic(a, value());
    else if (chance(40)) (void)mmio_rd(a, size);
    else mmio_wr(a, size, value());
}

static u64 cap_field32(struct function *f, u8 cap, u32 at) { return mmio_read32(f->cfg + cap + at); }

u64 bar_region(struct function *f, u8 cap)
{
    if (!cap) return 0;
    u32 bar = *(volatile u8 *)(f->cfg + cap + 4);
    return bar < 6 ? f->bar[bar] + cap_field32(f, cap, 8) : 0;
}

/* Sizes every BAR with decoding off and places it: 32-bit BARs in the 32-bit window, 64-bit ones above 4 GiB. */
static void assign_bars(struct function *f, u64 *next32, u64 *next64)
{
    *(volatile u16 *)(f->cfg + 4) = 0;
    for (int i = 0; i < 6; i++) {
        u64 reg = f->cfg + 0x10 + 4 * i;
        mmio_write32(reg, 0xffffffff);
        u32 low = mmio_read32(reg);
        if ((low & ~0xFu) == 0) continue;
        int wide = (low & 6) == 4;
        u64 mask = 0xFFFFFFFF00000000UL | (low & ~0xFu);
        if (wide) {
            mmio_write32(reg + 4, 0xffffffff);
            mask = (u64)mmio_read32(reg + 4) << 32 | (low & ~0xFu);
        }
        u64 size = ~mask + 1;
        u64 *next = wide ? next64 : next32;
        u64 at = (*next + size - 1) & ~(size - 1);
        *next = at + size;
        f->bar[i] = at;
        f->bar_size[i] = size;
        f->bar64[i] = wide;
        mmio_write32(reg, (u32)at);
        if (wide) mmio_write32(reg + 4, (u32)(at >> 32)), i++;
    }
}

static void find_capabilities(struct function *f)
{
    if (!(*(volatile u16 *)(f->cfg + 6) & 0x10)) return;
    u32 at = *(volatile u8 *)(f->cfg + 0x34) & 0xFC;
    for (int ttl = 48; at >= 0x40 && ttl > 0; ttl--) {
        u8 id = *(volatile u8 *)(f->cfg + at);
        if (f->ncaps < 16) f->caps[f->ncaps++] = at;
        if (id == 0x01) f->cap_pm = at;
        if (id == 0x10) f->cap_pcie = at;
        if (id == 0x11) f->cap_msix = at;
        if (id == 0x09) {
            u8 type = *(volatile u8 *)(f->cfg + at + 3);
            if (type == 1) f->cap_common = at;
            if (type == 2) f->cap_notify = at;
            if (type == 3) f->cap_isr = at;
            if (type == 4) f->cap_device = at;
            if (type == 5) f->cap_pcicfg = at;
        }
        at = *(volatile u8 *)(f->cfg + at + 1) & 0xFC;
    }
}

static void describe_virtio(struct function *f)
{
    f->common = bar_region(f, f->cap_common);
    f->notify = bar_region(f, f->cap_notify);
    f->isr = bar_region(f, f->cap_isr);
    f->devcfg = bar_region(f, f->cap_device);
    if (f->cap_notify) f->notify_mult = cap_field32(f, f->cap_notify, 16);
    if (f->cap_device) f->devcfg_len = cap_field32(f, f->cap_device, 12);
    if (f->cap_msix) {
        u16 control = *(volatile u16 *)(f->cfg + f->cap_msix + 2);
        u32 table = cap_field32(f, f->cap_msix, 4), pba = cap_field32(f, f->cap_msix, 8);
        f->msix_vectors = (control & 0x7FF) + 1;
        f->msix_table = (table & 7) < 6 ? f->bar[table & 7] + (table & ~7u) : 0;
        f->msix_pba = (pba & 7) < 6 ? f->bar[pba & 7] + (pba & ~7u) : 0;
    }
    if (f->common) f->nqueues = *(volatile u16 *)(f->common + COMMON_NUMQ);
    if (f->nqueues > MAX_QUEUES) f->nqueues = MAX_QUEUES;
    f->is_blk = f->vendor == 0x1AF4 && f->device == 0x1042;
    if (f->is_blk && f->devcfg) f->capacity = mmio_read64(f->devcfg);
}

void pci_enumerate(void)
{
    u64 next32 = PCI_MEM32, next64 = PCI_MEM64;
    for (u32 dev = 0; dev < 32; dev++)
        for (u32 fn = 0; fn < 8 && nfns < MAX_FUNCTIONS; fn++) {
            u64 cfg = ecam(0, dev, fn, 0);
            u32 id = mmio_read32(cfg);
            if ((id & 0xFFFF) == 0xFFFF) {
                if (fn == 0) break;
                continue;
            }
            struct function *f = &fns[nfns++];
            f->bdf = dev << 3 | fn;
            f->cfg = cfg;
            f->vendor = (u16)id;
            f->device = (u16)(id >> 16);
            assign_bars(f, &next32, &next64);
            *(volatile u16 *)(cfg + 4) = CMD_MEMORY | CMD_MASTER;
            find_capabilities(f);
            describe_virtio(f);
            say("hostile: %02lx:%02lx.%lx %04lx:%04lx, %lu queues, %lu MSI-X vectors, BARs 0x%lx 0x%lx\n", 0UL, (u64)dev, (u64)fn,
                (u64)f->vendor, (u64)f->device, (u64)f->nqueues, (u64)f->msix_vectors, f->bar[0], f->bar[2]);
            if (fn == 0 && !(*(volatile u8 *)(cfg + 0x0E) & 0x80)) break;
        }
}

/* The baseline again: BARs where enumeration put them, D0, memory decoding and bus mastering on. */
void pci_repair(struct function *f)
{
    *(volatile u16 *)(f->cfg + 4) = 0;
    for (int i = 0; i < 6; i++) {
        if (!f->bar_size[i]) continue;
        mmio_write32(f->cfg + 0x10 + 4 * i, (u32)f->bar[i]);
        if (f->bar64[i]) mmio_write32(f->cfg + 0x14 + 4 * i, (u32)(f->bar[i] >> 32));
    }
    if (f->cap_pm) *(volatile u16 *)(f->cfg + f->cap_pm + 4) = 0;
    *(volatile u16 *)(f->cfg + 4) = CMD_MEMORY | CMD_MASTER;
}

/* A configuration access anywhere: mostly our functions' headers, BARs and capabilities, also extended space,
   BDFs nobody claims on bus 0 and other buses. */
void op_cfg(void)
{
    struct function *f = 0;
    u32 bus, dev, fn, reg;
    u64 r = below(100);
    if (r < 75) {
        f = &fns[below(nfns)];
        bus = f->bdf >> 8, dev = f->bdf >> 3 & 31, fn = f->bdf & 7;
    } else if (r < 90) {
        bus = 0, dev = below(32), fn = below(8);
    } else {
        bus = below(256), dev = below(32), fn = below(8);
    }
    r = below(100);
    if (f && r < 25) reg = below(0x40);
    else if (f && r < 45) reg = 0x10 + below(0x18);
    else if (f && r < 80 && f->ncaps) reg = f->caps[below(f->ncaps)] + below(24);
    else if (r < 90) reg = 0x100 + below(0xF00);
    else reg = below(0x1000);
    int n = size();
    u64 a = place(ecam(bus, dev, fn, reg), n);
    if (a + n > ecam(bus, dev, fn, 0) + 0x1000) a = ecam(bus, dev, fn, 0x1000 - n);
    /* The PCI configuration access capability is a window into the BARs: aim it somewhere first. */
    if (f && f->cap_pcicfg && chance(10)) {
        u64 cap = f->cfg + f->cap_pcicfg;
        *(volatile u8 *)(cap + 4) = chance(90) ? (u8)(chance(50) ? 2 : 0) : (u8)rnd();
        mmio_write32(cap + 8, chance(80) ? (u32)below(0x4000) : (u32)rnd());
        mmio_write32(cap + 12, chance(90) ? (u32)(1 << below(3)) : (u32)rnd());
        a = cap + 16;
        n = 4;
    }
    poke(a, n);
}

/* An access in BAR space: the virtio structures, the MSI-X table and PBA, the rest of a BAR, or past its end. */
void op_bar(void)
{
    struct function *f = &fns[below(nfns)];
    u64 a, r = below(100);
    if (r < 30 && f->common) a = f->common + (chance(80) ? below(0x38) : below(0x1000));
    else if (r < 38 && f->isr) a = f->isr + (chance(70) ? 0 : below(0x1000));
    else if (r < 48 && f->devcfg) a = f->devcfg + (chance(80) ? below(f->devcfg_len + 8) : below(0x1000));
    else if (r < 62 && f->notify) a = f->notify + (chance(80) ? below(f->nqueues + 2) * f->notify_mult : below(0x1000));
    else if (r < 78 && f->msix_table) a = f->msix_table + below(f->msix_vectors * 16 + 16);
    else if (r < 83 && f->msix_pba) a = f->msix_pba + below(24);
    else if (r < 95) {
        int i = below(6);
        a = f->bar[i] + below(f->bar_size[i] + 0x100);
    } else a = chance(50) ? PCI_MEM32 + below(PCI_MEM32_END - PCI_MEM32) : PCI_MEM64 + below(PCI_MEM64_END - PCI_MEM64);
    int n = size();
    poke(place(a, n), n);
}

/* An MSI-X vector pointed anywhere with any data, the capability's enable and mask bits toggled, and the
   device made to send it. */
void op_msix(void)
{
    struct function *f = &fns[below(nfns)];
    if (!f->cap_msix) return;
    u32 e = below(f->msix_vectors + 1);
    u64 entry = f->msix_table + 16 * e, address;
    u64 r = below(100);
    if (r < 50) address = GITS_TRANSLATER;
    else if (r < 60) address = GITS_TRANSLATER - 8 + 2 * below(8);
    else if (r < 85) address = pick_address(ARENA_ITS, 4, 4);
    else address = rnd();
    u32 data = chance(70) ? (u32)below(40) : (u32)rnd();
    u32 control = chance(75) ? 0 : chance(50) ? 1 : (u32)rnd();
    if (chance(50)) {
        mmio_wr(entry, 8, address);
        mmio_wr(entry + 8, 8, (u64)control << 32 | data);
    } else {
        mmio_wr(entry, 4, address);
        mmio_wr(entry + 4, 4, address >> 32);
        mmio_wr(entry + 8, 4, data);
        mmio_wr(entry + 12, 4, control);
    }
    if (chance(30)) {
        u16 bits = (chance(80) ? 0x8000 : 0) | (chance(20) ? 0x4000 : 0);
        mmio_wr(f->cfg + f->cap_msix + 2, 2, chance(90) ? bits : (u16)rnd());
    }
    if (chance(20)) (void)mmio_rd(f->msix_pba, 8);
    if (chance(60)) trigger_interrupt(f, chance(90) ? (u16)e : (u16)rnd());
}
