/* virtio-pci: queues set up with random sizes, areas and vectors, and chains that break every rule of the split
   virtqueue (virtio 1.2 2.7): buffers outside RAM or over MMIO, loops, huge lengths, indirect tables that point
   at themselves, heads past the ring, available indexes that jump. The guest writes descriptors and rings
   only inside the virtqueue arena; a queue whose areas lie elsewhere is notified as it is. */
#include "hostile.h"

#define DESC_NEXT 1
#define DESC_WRITE 2
#define DESC_INDIRECT 4
#define F_INDIRECT (1UL << 28)
#define F_EVENT_IDX (1UL << 29)
#define F_VERSION_1 (1UL << 32)

static void w16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static u16 r16(u64 a) { return *(volatile u16 *)a; }
static u32 r32(u64 a) { return *(volatile u32 *)a; }

static void status(struct function *f, u8 s) { mmio_wr(f->common + COMMON_STATUS, 1, s); }
static u8 read_status(struct function *f) { return (u8)mmio_rd(f->common + COMMON_STATUS, 1); }

void virtio_reset(struct function *f)
{
    if (!f->common) return;
    status(f, 0);
    for (int i = 0; i < MAX_QUEUES; i++) f->q[i].enabled = 0, f->q[i].avail_idx = 0;
}

static void select_queue(struct function *f, u16 q) { mmio_wr(f->common + COMMON_Q_SELECT, 2, q); }

static void notify(struct function *f, u16 q)
{
    tally()->notifies++;
    u64 r = below(100);
    if (r < 85) {
        static const int sizes[] = {2, 2, 2, 4, 1, 8};
        mmio_wr(f->notify + (u64)q * f->notify_mult, sizes[below(6)], q);
    } else if (r < 95) {
        mmio_wr(f->notify + below(f->nqueues + 4) * f->notify_mult, 2, rnd());
    } else if (f->cap_pcicfg) {
        /* Through the PCI configuration access capability: BAR, offset and length, then the data. */
        u64 cap = f->cfg + f->cap_pcicfg;
        *(volatile u8 *)(cap + 4) = 2;
        mmio_write32(cap + 8, (u32)(f->notify - f->bar[2]) + q * f->notify_mult);
        mmio_write32(cap + 12, 2);
        mmio_write32(cap + 16, q);
    }
}

static u64 ring_home(struct function *f, u16 q) { return VQ_HOME + ((u64)(f - fns) * MAX_QUEUES + q) * 0x20000; }

/* The queue's areas as the device holds them now, and whether they are ours to write. */
static void reread(struct function *f, u16 qi)
{
    struct vq *q = &f->q[qi];
    select_queue(f, qi);
    q->size = (u16)mmio_rd(f->common + COMMON_Q_SIZE, 2);
    q->desc = mmio_rd(f->common + COMMON_Q_DESC, 8);
    q->avail = mmio_rd(f->common + COMMON_Q_DRIVER, 8);
    q->used = mmio_rd(f->common + COMMON_Q_DEVICE, 8);
    q->enabled = mmio_rd(f->common + COMMON_Q_ENABLE, 2) == 1;
}

static int writable(struct vq *q)
{
    return q->enabled && q->size && in_vq_arena(q->desc, 16UL * q->size) && in_vq_arena(q->avail, 6 + 2UL * q->size)
        && (q->avail & 1) == 0 && (q->desc & 7) == 0;
}

void op_vq_setup(void)
{
    struct function *f = &fns[below(nfns)];
    if (!f->common) return;
    u16 qi = chance(90) ? (u16)below(f->nqueues) : (u16)below(8);
    if (chance(70)) virtio_reset(f);
    u8 s = 0;
    if (chance(95)) status(f, s = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    u64 features;
    if (chance(75)) {
        mmio_wr(f->common + COMMON_DFSELECT, 4, 0);
        features = F_VERSION_1 | (chance(50) ? F_EVENT_IDX : 0) | (chance(60) ? F_INDIRECT : 0)
            | (mmio_rd(f->common + COMMON_DF, 4) & rnd() & 0x0FFFFFFF);
    } else features = rnd();
    mmio_wr(f->common + COMMON_GFSELECT, 4, chance(95) ? 0 : below(4));
    mmio_wr(f->common + COMMON_GF, 4, (u32)features);
    mmio_wr(f->common + COMMON_GFSELECT, 4, 1);
    mmio_wr(f->common + COMMON_GF, 4, (u32)(features >> 32));
    if (chance(90)) status(f, s |= VIRTIO_STATUS_FEATURES_OK);

    select_queue(f, chance(95) ? qi : (u16)rnd());
    u16 max = (u16)mmio_rd(f->common + COMMON_Q_SIZE, 2);
    u16 size = max;
    if (chance(75)) {
        int log = 0;
        while (log < 15 && (2u << log) <= max) log++;
        size = (u16)(1u << below(log + 1));
    } else if (chance(80)) size = (u16)rnd();
    mmio_wr(f->common + COMMON_Q_SIZE, 2, size);
    u64 n = size ? size : 1;
    u64 desc, avail, used;
    if (chance(70) && qi < MAX_QUEUES) {
        desc = ring_home(f, qi), avail = desc + 0x8000, used = desc + 0x10000;
    } else if (chance(70)) {
        desc = arena_address(ARENA_RINGS, 16 * n, 16), avail = arena_address(ARENA_RINGS, 6 + 2 * n, 2), used = arena_address(ARENA_RINGS, 6 + 8 * n, 4);
    } else {
        desc = pick_address(ARENA_RINGS, 16 * n, 16), avail = pick_address(ARENA_RINGS, 6 + 2 * n, 2), used = pick_address(ARENA_RINGS, 6 + 8 * n, 4);
    }
    if (chance(90)) {
        mmio_wr(f->common + COMMON_Q_DESC, 8, desc);
        mmio_wr(f->common + COMMON_Q_DRIVER, 8, avail);
        mmio_wr(f->common + COMMON_Q_DEVICE, 8, used);
    } else {
        /* In halves, as a driver without 64-bit MMIO writes them. */
        mmio_wr(f->common + COMMON_Q_DESC, 4, desc);
        mmio_wr(f->common + COMMON_Q_DESC + 4, 4, desc >> 32);
        mmio_wr(f->common + COMMON_Q_DRIVER, 4, avail);
        mmio_wr(f->common + COMMON_Q_DRIVER + 4, 4, avail >> 32);
        mmio_wr(f->common + COMMON_Q_DEVICE + 4, 4, used >> 32);
        mmio_wr(f->common + COMMON_Q_DEVICE, 4, used);
    }
    /* Fresh rings start at zero, as a driver allocates them. */
    if (in_vq_arena(avail, 6 + 2 * n) && (avail & 1) == 0) w16(avail + 2, 0), w16(avail, 0);
    if (in_vq_arena(used, 6 + 8 * n) && (used & 1) == 0) w16(used + 2, 0);
    u16 vector = chance(60) ? (u16)below(f->msix_vectors + 1) : chance(50) ? 0xFFFF : (u16)rnd();
    mmio_wr(f->common + COMMON_Q_MSIX, 2, vector);
    if (chance(30)) mmio_wr(f->common + COMMON_MSIX, 2, chance(80) ? (u16)below(f->msix_vectors + 1) : (u16)rnd());
    if (chance(95)) mmio_wr(f->common + COMMON_Q_ENABLE, 2, chance(95) ? 1 : rnd());
    if (chance(90)) status(f, s | VIRTIO_STATUS_DRIVER_OK);
    if (qi < MAX_QUEUES) {
        f->q[qi].avail_idx = in_vq_arena(avail, 4) && (avail & 1) == 0 ? r16(avail + 2) : 0;
        reread(f, qi);
    }
}

void virtio_recover(struct function *f)
{
    if (!f->common) return;
    virtio_reset(f);
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    u64 features = F_VERSION_1 | (chance(50) ? F_EVENT_IDX : 0) | (chance(80) ? F_INDIRECT : 0);
    mmio_wr(f->common + COMMON_GFSELECT, 4, 0);
    mmio_wr(f->common + COMMON_GF, 4, (u32)features);
    mmio_wr(f->common + COMMON_GFSELECT, 4, 1);
    mmio_wr(f->common + COMMON_GF, 4, (u32)(features >> 32));
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    for (u16 qi = 0; qi < f->nqueues; qi++) {
        u64 rings = ring_home(f, qi);
        u16 size = (u16)(8 << below(6));
        w16(rings + 0x8000, 0), w16(rings + 0x8002, 0), w16(rings + 0x10002, 0);
        select_queue(f, qi);
        mmio_wr(f->common + COMMON_Q_SIZE, 2, size);
        mmio_wr(f->common + COMMON_Q_DESC, 8, rings);
        mmio_wr(f->common + COMMON_Q_DRIVER, 8, rings + 0x8000);
        mmio_wr(f->common + COMMON_Q_DEVICE, 8, rings + 0x10000);
        mmio_wr(f->common + COMMON_Q_MSIX, 2, below(f->msix_vectors));
        mmio_wr(f->common + COMMON_Q_ENABLE, 2, 1);
        f->q[qi].avail_idx = 0;
        reread(f, qi);
    }
    mmio_wr(f->common + COMMON_MSIX, 2, below(f->msix_vectors));
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* ---- chains ---- */

static void desc_at(u64 table, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
    u64 d = table + 16UL * i;
    if (!in_vq_arena(d, 16)) return;
    w64(d, addr);
    w32(d + 8, len);
    w16(d + 12, flags);
    w16(d + 14, next);
}

static u64 buffer(u64 len) { return arena_address(ARENA_BUFFERS, len, 16); }
static u64 table_space(u64 len) { return arena_address(ARENA_TABLES, len, 16); }

/* An address outside the arena for a buffer (ARENA_BUFFERS) or a table the device reads (ARENA_TABLES). */
static u64 hostile(enum arena kind, u64 len)
{
    for (int tries = 0; tries < 8; tries++) {
        u64 a = pick_address(kind, len, 16);
        if (!in_vq_arena(a, 1)) return a;
    }
    return ~0UL - 15;
}

static u32 huge_length(void)
{
    static const u32 lengths[] = {0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x10000000, 0x01000000, 0x00100001};
    return chance(80) ? lengths[below(6)] : (u32)rnd();
}

/* A well-formed request at descriptors [first, first + returned count) of `table` (size `size`), or of an
   indirect table. virtio-blk: header, data, status; virtio-rng: writable buffers. */
static int request(struct function *f, u64 table, u32 size, u32 first)
{
    if (f->is_blk) {
        static const u32 types[] = {0, 0, 0, 1, 1, 4, 8, 2, 0xFFFFFFFF};
        u64 header = table_space(16);
        u32 type = chance(95) ? types[below(9)] : (u32)rnd();
        w32(header, type);
        w32(header + 4, (u32)rnd());
        w64(header + 8, chance(90) ? below(f->capacity + 2) : rnd());
        u32 data = chance(80) ? 512 * (u32)below(9) : (u32)below(5000);
        int segs = data ? 1 + (int)below(3) : 0;
        u32 i = first, count = 0;
        desc_at(table, i % size, header, 16, DESC_NEXT, (i + 1) % size), i++, count++;
        for (int s = 0; s < segs; s++) {
            u32 part = s == segs - 1 ? data - (data / segs) * (segs - 1) : data / segs;
            desc_at(table, i % size, buffer(part), part, DESC_NEXT | (type == 0 || type == 8 ? DESC_WRITE : 0), (i + 1) % size), i++, count++;
        }
        desc_at(table, i % size, buffer(1), 1, DESC_WRITE, 0), count++;
        return count;
    }
    int segs = 1 + (int)below(3);
    for (int s = 0; s < segs; s++)
        desc_at(table, (first + s) % size, buffer(4096), 1 + (u32)below(4096), DESC_WRITE | (s < segs - 1 ? DESC_NEXT : 0), (first + s + 1) % size);
    return segs;
}

/* Writes one chain from `head`; returns the head the ring names. */
static u16 post_chain(struct function *f, struct vq *q, int indirect_ok)
{
    u32 size = q->size, head = below(size);
    u64 t;
    u32 k;
    switch (below(16)) {
    case 0: case 1: case 2: case 13: case 14: case 15: /* well formed */
        request(f, q->desc, size, head);
        break;
    case 3: /* well formed, in an indirect table */
        k = 4 + below(4);
        t = table_space(16 * k);
        request(f, t, k, 0);
        desc_at(q->desc, head, t, 16 * k, indirect_ok || chance(20) ? DESC_INDIRECT : 0, 0);
        break;
    case 4: /* a buffer outside RAM, over MMIO, across the end of RAM or the top of the IPA space */
        if (f->is_blk && chance(50)) {
            request(f, q->desc, size, head);
            desc_at(q->desc, (head + 1) % size, hostile(ARENA_BUFFERS, 4096), chance(50) ? 512 : huge_length(), DESC_NEXT | DESC_WRITE, (head + 2) % size);
        } else desc_at(q->desc, head, hostile(ARENA_BUFFERS, 4096), 1 + (u32)below(8192), DESC_WRITE | (chance(20) ? DESC_NEXT : 0), (head + 1) % size);
        break;
    case 5: /* a loop onto itself, or a cycle through a few */
        k = 1 + below(4);
        for (u32 i = 0; i < k; i++)
            desc_at(q->desc, (head + i) % size, buffer(64), 64, DESC_NEXT | (chance(50) ? DESC_WRITE : 0), i + 1 < k ? (head + i + 1) % size : head);
        break;
    case 6: /* huge lengths */
        if (f->is_blk) {
            request(f, q->desc, size, head);
            desc_at(q->desc, (head + 1) % size, buffer(4096), huge_length(), DESC_NEXT | (chance(50) ? DESC_WRITE : 0), (head + 2) % size);
        } else desc_at(q->desc, head, buffer(4096), huge_length(), DESC_WRITE, 0);
        break;
    case 7: /* an indirect table whose first entry is an indirect descriptor for the table itself */
        k = 1 + below(8);
        t = table_space(16 * k);
        desc_at(t, 0, t, 16 * k, DESC_INDIRECT | (chance(30) ? DESC_NEXT : 0), 0);
        for (u32 i = 1; i < k; i++) desc_at(t, i, t, 16 * k, DESC_INDIRECT, 0);
        desc_at(q->desc, head, t, 16 * k, DESC_INDIRECT, 0);
        break;
    case 8: /* malformed indirect descriptors */
        t = table_space(4096);
        request(f, t, 8, 0);
        switch (below(6)) {
        case 0: desc_at(q->desc, head, t, 0, DESC_INDIRECT, 0); break;
        case 1: desc_at(q->desc, head, t, 17 + below(100), DESC_INDIRECT, 0); break;
        case 2: desc_at(q->desc, head, t, 16 * (size + 1 + below(64)), DESC_INDIRECT, 0); break;
        case 3: desc_at(q->desc, head, t, 128, DESC_INDIRECT | DESC_NEXT, (head + 1) % size); break;
        case 4: desc_at(q->desc, head, hostile(ARENA_TABLES, 128), 128, DESC_INDIRECT, 0); break;
        default: /* an indirect table whose chain runs past its end, or loops inside it */
            desc_at(t, 0, buffer(16), 16, DESC_NEXT, chance(50) ? 0 : 8 + below(100));
            desc_at(q->desc, head, t, 128, DESC_INDIRECT, 0);
            break;
        }
        break;
    case 9: /* device-readable after device-writable */
        desc_at(q->desc, head, buffer(512), 512, DESC_NEXT | DESC_WRITE, (head + 1) % size);
        desc_at(q->desc, (head + 1) % size, buffer(16), 16, 0, 0);
        break;
    case 10: /* next past the table */
        desc_at(q->desc, head, buffer(16), 16, DESC_NEXT, size + below(0x10000 - size));
        break;
    case 11: /* zero-length buffers */
        desc_at(q->desc, head, chance(50) ? buffer(16) : hostile(ARENA_BUFFERS, 16), 0, DESC_NEXT | DESC_WRITE, (head + 1) % size);
        desc_at(q->desc, (head + 1) % size, buffer(16), 0, DESC_WRITE, 0);
        break;
    default: /* random bits, addresses from anywhere */
        k = 1 + below(4);
        for (u32 i = 0; i < k; i++)
            desc_at(q->desc, (head + i) % size, chance(50) ? pick_address(ARENA_BUFFERS, 4096, 1) : rnd(), (u32)rnd(), (u16)rnd(), (u16)rnd());
        break;
    }
    tally()->chains++;
    return chance(95) ? (u16)head : (u16)rnd();
}

static void publish(struct vq *q, int chains, const u16 *heads)
{
    for (int i = 0; i < chains; i++) w16(q->avail + 4 + 2UL * ((q->avail_idx + i) % q->size), heads[i]);
    u64 r = below(100);
    if (r < 88) q->avail_idx += chains;
    else if (r < 96) q->avail_idx += (u16)rnd();         /* jumps ahead, usually by more than the ring */
    else q->avail_idx -= (u16)below(8);                  /* goes back */
    w16(q->avail + 2, q->avail_idx);
    if (chance(20)) w16(q->avail, (u16)below(2));        /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    if (chance(20)) w16(q->avail + 4 + 2UL * q->size, (u16)rnd()); /* used_event */
}

/* The queue as this vCPU last saw it: a copy, so that the bounds checked are the bounds used even while the
   other vCPU sets the same queue up again. */
void op_vq_submit(void)
{
    struct function *f = &fns[below(nfns)];
    if (!f->common || !f->nqueues) return;
    u16 qi = below(f->nqueues);
    if (chance(10)) reread(f, qi);
    struct vq q = f->q[qi];
    int ours = writable(&q) && in_vq_arena(q.used, 4) && (q.used & 1) == 0;
    u16 used_before = ours ? r16(q.used + 2) : 0;
    if (writable(&q)) {
        int chains = 1 + below(4);
        u16 heads[4];
        for (int i = 0; i < chains; i++) heads[i] = post_chain(f, &q, chance(90));
        publish(&q, chains, heads);
        f->q[qi].avail_idx = q.avail_idx;
    }
    notify(f, qi);
    /* At most what was posted: with hostile.cpus=2 the other vCPU may have started the queue again meanwhile. */
    u16 used = ours ? (u16)(r16(q.used + 2) - used_before) : 0;
    if (used <= 4) tally()->completed += used;
    u8 s = read_status(f);
    if (s & VIRTIO_STATUS_NEEDS_RESET) tally()->needs_reset++;
    if ((s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_DRIVER_OK)) != VIRTIO_STATUS_DRIVER_OK && chance(70)) virtio_recover(f);
    if (chance(50) && f->isr) (void)mmio_rd(f->isr, 1);
}

/* A well-formed request on queue 0 with MSI-X vector `vector`: the device sends what that vector says. */
void trigger_interrupt(struct function *f, u16 vector)
{
    struct vq q = f->q[0];
    if (!f->common || !writable(&q)) return;
    select_queue(f, 0);
    mmio_wr(f->common + COMMON_Q_MSIX, 2, vector);
    u16 head = below(q.size);
    request(f, q.desc, q.size, head);
    tally()->chains++;
    publish(&q, 1, &head);
    f->q[0].avail_idx = q.avail_idx;
    notify(f, 0);
}

/* ---- a well-behaved driver, for the check after the hostile phase ---- */

int virtio_start(struct function *f, u64 rings, u16 size, u16 vector)
{
    if (!f->common) return 0;
    for (u64 a = rings; a < rings + 0x3000; a += 8) w64(a, 0);
    return virtio_start_at(f, rings, rings + 0x1000, rings + 0x2000, size, vector);
}

int virtio_start_at(struct function *f, u64 desc, u64 driver, u64 device, u16 size, u16 vector)
{
    if (!f->common) return 0;
    virtio_reset(f);
    while (read_status(f) != 0)
        ;
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    mmio_wr(f->common + COMMON_GFSELECT, 4, 0);
    mmio_wr(f->common + COMMON_GF, 4, 0);
    mmio_wr(f->common + COMMON_GFSELECT, 4, 1);
    mmio_wr(f->common + COMMON_GF, 4, F_VERSION_1 >> 32);
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(read_status(f) & VIRTIO_STATUS_FEATURES_OK)) return 0;
    select_queue(f, 0);
    mmio_wr(f->common + COMMON_Q_SIZE, 2, size);
    mmio_wr(f->common + COMMON_Q_DESC, 8, desc);
    mmio_wr(f->common + COMMON_Q_DRIVER, 8, driver);
    mmio_wr(f->common + COMMON_Q_DEVICE, 8, device);
    mmio_wr(f->common + COMMON_Q_MSIX, 2, vector);
    mmio_wr(f->common + COMMON_Q_ENABLE, 2, 1);
    status(f, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    struct vq *q = &f->q[0];
    q->desc = desc, q->avail = driver, q->used = device, q->size = size, q->avail_idx = 0, q->enabled = 1;
    return (read_status(f) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) == VIRTIO_STATUS_DRIVER_OK;
}

long virtio_request(struct function *f, u64 bufs)
{
    struct vq *q = &f->q[0];
    u64 d = q->desc;
    if (f->is_blk) {
        w32(bufs, 0), w32(bufs + 4, 0), w64(bufs + 8, 0); /* VIRTIO_BLK_T_IN, sector 0 */
        *(volatile u8 *)(bufs + 0x400) = 0xFF;
        w64(d, bufs), w32(d + 8, 16), w16(d + 12, DESC_NEXT), w16(d + 14, 1);
        w64(d + 16, bufs + 0x200), w32(d + 24, 512), w16(d + 28, DESC_NEXT | DESC_WRITE), w16(d + 30, 2);
        w64(d + 32, bufs + 0x400), w32(d + 40, 1), w16(d + 44, DESC_WRITE), w16(d + 46, 0);
    } else {
        w64(d, bufs), w32(d + 8, 64), w16(d + 12, DESC_WRITE), w16(d + 14, 0);
    }
    w16(q->avail + 4, 0);
    w16(q->avail + 2, ++q->avail_idx);
    select_queue(f, 0);
    u16 off = (u16)mmio_rd(f->common + COMMON_Q_NOFF, 2);
    mmio_wr(f->notify + (u64)off * f->notify_mult, 2, 0);
    if (r16(q->used + 2) != q->avail_idx) return -1;
    if (f->is_blk && *(volatile u8 *)(bufs + 0x400) != 0) return -2;
    return r32(q->used + 4 + 4);
}
