/* An FF-A 1.1 driver at EL1 with no operating system in the way (Debian's cloud kernel has no FF-A driver): it
   probes the interface, maps an RX/TX pair, discovers the secure partition, talks to it by direct messages,
   shares two pages with it, lets it read and write them, reclaims them, tries what a hostile guest would, and
   times a direct request's round trip. One result a line; every value but the latency line is the same every
   run, so the test compares them.
       jit run --kernel build/sys-ffa.elf --tee ffa
   Jit only. Without FF-A (--tee none or optee) FFA_VERSION is NOT_SUPPORTED and the guest says "ffa: none".
   The MMU is off: addresses are physical, which for a guest means IPAs, and the buffers and shared pages are
   arrays of this image. */
#include "sys.h"
#include "timing.h"

#define FFA_ERROR                0x84000060UL
#define FFA_SUCCESS              0x84000061UL
#define FFA_VERSION              0x84000063UL
#define FFA_FEATURES             0x84000064UL
#define FFA_RX_RELEASE           0x84000065UL
#define FFA_RXTX_MAP_64          0xC4000066UL
#define FFA_RXTX_UNMAP           0x84000067UL
#define FFA_PARTITION_INFO_GET   0x84000068UL
#define FFA_ID_GET               0x84000069UL
#define FFA_DIRECT_REQ_32        0x8400006FUL
#define FFA_DIRECT_REQ_64        0xC400006FUL
#define FFA_DIRECT_RESP_32       0x84000070UL
#define FFA_MEM_LEND_32          0x84000072UL
#define FFA_MEM_SHARE_64         0xC4000073UL
#define FFA_MEM_RECLAIM          0x84000077UL
#define FFA_SPM_ID_GET           0x84000085UL
#define FFA_VERSION_1_1          0x10001UL

/* The service partition of the modelled SPMC: its ID, and its commands in w3 (status back in w3). */
#define SP_ID          0x8001
#define SP_ECHO        0x00
#define SP_ADD         0x01
#define SP_RETRIEVE    0x10
#define SP_READ32      0x11
#define SP_WRITE32     0x12
#define SP_CHECKSUM    0x13
#define SP_RELINQUISH  0x14

#define SAMPLES 1000
#define BATCH 8
#define WARMUP 2000

static unsigned char tx[4096] __attribute__((aligned(4096)));
static unsigned char rx[4096] __attribute__((aligned(4096)));
static unsigned char shared[3][4096] __attribute__((aligned(4096)));
static u64 samples[SAMPLES];
static u32 self;

struct regs {
    u64 x[8];
};

static struct regs smc8(u64 x0, u64 x1, u64 x2, u64 x3, u64 x4, u64 x5, u64 x6, u64 x7)
{
    register u64 r0 __asm__("x0") = x0;
    register u64 r1 __asm__("x1") = x1;
    register u64 r2 __asm__("x2") = x2;
    register u64 r3 __asm__("x3") = x3;
    register u64 r4 __asm__("x4") = x4;
    register u64 r5 __asm__("x5") = x5;
    register u64 r6 __asm__("x6") = x6;
    register u64 r7 __asm__("x7") = x7;
    __asm__ volatile("smc #0" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7) : : "memory");
    return (struct regs){ { r0, r1, r2, r3, r4, r5, r6, r7 } };
}

static struct regs smc(u64 fid, u64 a1, u64 a2, u64 a3) { return smc8(fid, a1, a2, a3, 0, 0, 0, 0); }

/* "success", "error -N" or the function ID that came back. */
static void outcome(const char *what, struct regs r)
{
    if (r.x[0] == FFA_SUCCESS) say("%s: success\n", what);
    else if (r.x[0] == FFA_ERROR) say("%s: error %ld\n", what, (long)(int)r.x[2]);
    else say("%s: a0 0x%lx\n", what, r.x[0]);
}

static struct regs direct(u64 fid, u32 sender, u32 receiver, u64 a3, u64 a4, u64 a5, u64 a6, u64 a7)
{
    return smc8(fid, ((u64)sender << 16) | receiver, 0, a3, a4, a5, a6, a7);
}

static struct regs sp(u64 command, u64 handle, u64 a6, u64 a7)
{
    return direct(FFA_DIRECT_REQ_64, self, SP_ID, command, handle & 0xffffffffUL, handle >> 32, a6, a7);
}

static void put16(unsigned char *p, u32 v) { p[0] = v; p[1] = v >> 8; }
static void put32(unsigned char *p, u32 v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(unsigned char *p, u64 v) { put32(p, v); put32(p + 4, v >> 32); }
static u32 get16(const unsigned char *p) { return p[0] | (u32)p[1] << 8; }
static u32 get32(const unsigned char *p) { return get16(p) | get16(p + 2) << 16; }

/* An FF-A 1.1 memory transaction descriptor in TX: the header, one endpoint memory access descriptor, the
   composite descriptor and its constituents (address, pages). Returns its length. */
static u32 describe(u32 sender, u32 receiver, u32 permissions, const u64 *addresses, const u32 *pages, int ranges)
{
    for (int i = 0; i < (int)sizeof tx; i++) tx[i] = 0;
    u32 total = 0;
    for (int i = 0; i < ranges; i++) total += pages[i];
    put16(tx, sender);
    put16(tx + 2, 0x2f);     /* Normal memory, write-back, inner shareable */
    put32(tx + 24, 16);      /* size of an endpoint memory access descriptor */
    put32(tx + 28, 1);       /* one receiver */
    put32(tx + 32, 48);      /* its offset */
    put16(tx + 48, receiver);
    tx[50] = permissions;    /* 3: read-write, 2: read-only */
    put32(tx + 52, 64);      /* offset of the composite descriptor */
    put32(tx + 64, total);
    put32(tx + 68, ranges);
    for (int i = 0; i < ranges; i++) {
        put64(tx + 80 + 16 * i, addresses[i]);
        put32(tx + 88 + 16 * i, pages[i]);
    }
    return 80 + 16 * ranges;
}

static struct regs share(u32 length) { return smc(FFA_MEM_SHARE_64, length, length, 0); }

static u64 handle_of(struct regs r) { return (r.x[2] & 0xffffffffUL) | r.x[3] << 32; }

static void latency(void)
{
    u64 freq = sysreg_read(cntfrq_el0), wrong = 0;
    for (int i = 0; i < WARMUP; i++) wrong |= direct(FFA_DIRECT_REQ_32, self, SP_ID, SP_ECHO, i, 0, 0, 0).x[4] ^ (u32)i;
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0, t1;
        __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t0) : : "memory");
        for (int k = 0; k < BATCH; k++) wrong |= direct(FFA_DIRECT_REQ_32, self, SP_ID, SP_ECHO, k, 0, 0, 0).x[4] ^ (u32)k;
        __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t1) : : "memory");
        samples[i] = t1 - t0;
    }
    if (wrong) fail("an echo came back wrong");
    u64 sum = 0;
    for (int i = 0; i < SAMPLES; i++) sum += samples[i];
    sort(samples, SAMPLES);
    say("latency ffa-direct");
    print_tenths("mean", tenth_ns(sum, (u64)SAMPLES * BATCH, freq));
    print_tenths("p50", tenth_ns(samples[SAMPLES / 2], BATCH, freq));
    print_tenths("p99", tenth_ns(samples[(SAMPLES * 99) / 100], BATCH, freq));
    say(" n=%d\n", SAMPLES);
}

int main(void)
{
    struct regs r = smc(FFA_VERSION, FFA_VERSION_1_1, 0, 0);
    if (r.x[0] != FFA_VERSION_1_1) {
        say("ffa: none (version a0=0x%lx)\n", r.x[0]);
        return 0;
    }
    say("version: 0x%lx\n", r.x[0]);
    say("version 2.0: %ld\n", (long)(int)smc(FFA_VERSION, 0x20000, 0, 0).x[0]);
    r = smc(FFA_ID_GET, 0, 0, 0);
    self = r.x[2];
    say("id: 0x%lx\n", r.x[2]);
    say("spm id: 0x%lx\n", smc(FFA_SPM_ID_GET, 0, 0, 0).x[2]);
    outcome("features direct req", smc(FFA_FEATURES, FFA_DIRECT_REQ_64, 0, 0));
    outcome("features mem share", smc(FFA_FEATURES, FFA_MEM_SHARE_64, 0, 0));
    outcome("features mem lend", smc(FFA_FEATURES, FFA_MEM_LEND_32, 0, 0));

    outcome("partition info before rxtx map", smc(FFA_PARTITION_INFO_GET, 0, 0, 0));
    outcome("rxtx map", smc(FFA_RXTX_MAP_64, (u64)tx, (u64)rx, 1));
    outcome("rxtx map again", smc(FFA_RXTX_MAP_64, (u64)tx, (u64)rx, 1));
    r = smc(FFA_PARTITION_INFO_GET, 0, 0, 0);
    outcome("partition info", r);
    say("partitions: %lu of %lu bytes: id 0x%lx contexts %lu properties 0x%lx uuid ", r.x[2], r.x[3], (u64)get16(rx),
        (u64)get16(rx + 2), (u64)get32(rx + 4));
    for (int i = 0; i < 16; i++) say(i == 4 || i == 6 || i == 8 || i == 10 ? "-%02lx" : "%02lx", (u64)rx[8 + i]);
    say("\n");
    outcome("partition info while rx held", smc(FFA_PARTITION_INFO_GET, 0, 0, 0));
    outcome("rx release", smc(FFA_RX_RELEASE, 0, 0, 0));
    outcome("rx release again", smc(FFA_RX_RELEASE, 0, 0, 0));

    r = direct(FFA_DIRECT_REQ_32, self, SP_ID, SP_ECHO, 0x11, 0x22, 0x33, 0x44);
    say("direct echo: 0x%lx from 0x%lx to 0x%lx w3 %ld w4 0x%lx w5 0x%lx w6 0x%lx w7 0x%lx\n", r.x[0], r.x[1] >> 16,
        r.x[1] & 0xffff, (long)(int)r.x[3], r.x[4], r.x[5], r.x[6], r.x[7]);
    r = direct(FFA_DIRECT_REQ_64, self, SP_ID, SP_ADD, 0xffffffffUL, 1, 2, 3);
    say("direct add: w3 %ld x4 0x%lx\n", (long)(int)r.x[3], r.x[4]);

    /* Two pages, not adjacent, shared read-write: the partition reads what we wrote and writes back. */
    for (int i = 0; i < 4096; i++) shared[0][i] = 0x5a, shared[2][i] = 0xa5;
    u64 addresses[2] = { (u64)shared[0], (u64)shared[2] };
    u32 pages[2] = { 1, 1 };
    r = share(describe(self, SP_ID, 3, addresses, pages, 2));
    outcome("mem share", r);
    u64 handle = handle_of(r);
    r = sp(SP_RETRIEVE, handle, 0, 0);
    say("sp retrieve: status %ld pages %lu\n", (long)(int)r.x[3], r.x[4]);
    r = sp(SP_READ32, handle, 4096 + 12, 0);
    say("sp read: status %ld value 0x%lx\n", (long)(int)r.x[3], r.x[4]);
    r = sp(SP_WRITE32, handle, 8, 0xc0ffee11);
    say("sp write: status %ld, the page now holds 0x%lx\n", (long)(int)r.x[3], (u64)get32(shared[0] + 8));
    r = sp(SP_CHECKSUM, handle, 0, 0);
    say("sp checksum: status %ld sum 0x%lx bytes %lu\n", (long)(int)r.x[3], r.x[4], r.x[5]);
    outcome("mem reclaim while the partition holds it", smc(FFA_MEM_RECLAIM, handle & 0xffffffffUL, handle >> 32, 0));
    say("sp relinquish: status %ld\n", (long)(int)sp(SP_RELINQUISH, handle, 0, 0).x[3]);
    outcome("mem reclaim", smc(FFA_MEM_RECLAIM, handle & 0xffffffffUL, handle >> 32, 0));
    say("sp read after reclaim: status %ld\n", (long)(int)sp(SP_READ32, handle, 0, 0).x[3]);
    outcome("mem reclaim again", smc(FFA_MEM_RECLAIM, handle & 0xffffffffUL, handle >> 32, 0));

    /* What no driver should do: each must be refused, and nothing of the secure world may show. */
    outcome("hostile rxtx map of the uart", smc(FFA_RXTX_MAP_64, platform.uart, (u64)rx, 1));
    outcome("hostile rxtx map outside ram", smc(FFA_RXTX_MAP_64, 0x8000000000UL, (u64)rx, 1));
    u64 uart = platform.uart & ~0xfffUL;
    outcome("hostile share of the uart", share(describe(self, SP_ID, 3, &uart, pages, 1)));
    u64 outside = platform.ram_base + platform.ram_size;
    outcome("hostile share past the end of ram", share(describe(self, SP_ID, 3, &outside, pages, 1)));
    outcome("hostile share as another sender", share(describe(self + 1, SP_ID, 3, addresses, pages, 1)));
    u64 twice[2] = { (u64)shared[0], (u64)shared[0] };
    outcome("hostile share of one page twice", share(describe(self, SP_ID, 3, twice, pages, 2)));
    outcome("hostile share to no partition", share(describe(self, 0x8077, 3, addresses, pages, 1)));
    outcome("hostile share longer than tx", smc(FFA_MEM_SHARE_64, 8192, 8192, 0));
    outcome("hostile reclaim of an unknown handle", smc(FFA_MEM_RECLAIM, 0x1234, 0, 0));
    outcome("hostile direct request to no partition", direct(FFA_DIRECT_REQ_32, self, 0x8077, SP_ECHO, 0, 0, 0, 0));
    outcome("hostile framework message", smc8(FFA_DIRECT_REQ_32, SP_ID, 0x80000006UL, 0, 0, self, 0, 0));
    r = direct(FFA_DIRECT_REQ_32, 0x7777, SP_ID, SP_ECHO, 1, 0, 0, 0);
    say("hostile spoofed sender: answered to 0x%lx\n", r.x[1] & 0xffff);
    outcome("hostile unknown ffa function", smc(0x840000f0UL, 0, 0, 0));
    outcome("hostile direct response from a vm", smc(FFA_DIRECT_RESP_32, (u64)self << 16 | SP_ID, 0, 0));

    latency();
    outcome("rxtx unmap", smc(FFA_RXTX_UNMAP, 0, 0, 0));
    outcome("rxtx unmap again", smc(FFA_RXTX_UNMAP, 0, 0, 0));
    say("ffa done\n");
    return 0;
}
