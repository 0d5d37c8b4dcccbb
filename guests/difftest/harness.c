/*
 * Differential-test harness: runs instruction sequences sent on stdin at fixed addresses and reports the
 * registers and scratch memory they leave (protocol.h). Freestanding: raw system calls, no libc, so that
 * nothing but the case itself runs between the entry and exit stubs.
 */
#include "protocol.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;

extern u64 harness_sp;
extern u64 in_regs[REGS_WORDS];
extern u64 out_regs[REGS_WORDS];
extern const u8 exit_stub_start[], exit_stub_end[];
extern const u8 entry_stub_start[], entry_stub_branch[], entry_stub_end[];
extern const u8 case_return[];
extern int run_case(void);

enum { SYS_READ = 63, SYS_WRITE = 64, SYS_EXIT_GROUP = 94, SYS_SIGALTSTACK = 132, SYS_RT_SIGACTION = 134,
       SYS_MMAP = 222 };

static i64 syscall6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
    register i64 x8 __asm__("x8") = n;
    register i64 x0 __asm__("x0") = a;
    register i64 x1 __asm__("x1") = b;
    register i64 x2 __asm__("x2") = c;
    register i64 x3 __asm__("x3") = d;
    register i64 x4 __asm__("x4") = e;
    register i64 x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}

/* gcc may emit calls to these even when freestanding. */
void *memcpy(void *dst, const void *src, u64 n)
{
    u8 *d = dst;
    const u8 *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, u64 n)
{
    u8 *d = dst;
    while (n--) *d++ = (u8)c;
    return dst;
}

static void write_all(const void *p, u64 n)
{
    const u8 *b = p;
    while (n) {
        i64 r = syscall6(SYS_WRITE, 1, (i64)b, (i64)n, 0, 0, 0);
        if (r <= 0) syscall6(SYS_EXIT_GROUP, 3, 0, 0, 0, 0, 0);
        b += r;
        n -= (u64)r;
    }
}

static void die(const char *msg)
{
    u64 n = 0;
    while (msg[n]) n++;
    syscall6(SYS_WRITE, 2, (i64)msg, (i64)n, 0, 0, 0);
    syscall6(SYS_EXIT_GROUP, 2, 0, 0, 0, 0, 0);
}

/* Buffered stdout; flushed before every blocking read so the runner never waits on results we hold. */
static u8 out_buf[1 << 16];
static u64 out_len;

static void out_flush(void)
{
    write_all(out_buf, out_len);
    out_len = 0;
}

static void out_put(const void *p, u64 n)
{
    if (out_len + n > sizeof out_buf) out_flush();
    if (n > sizeof out_buf) { write_all(p, n); return; }
    memcpy(out_buf + out_len, p, n);
    out_len += n;
}

static u8 in_buf[1 << 16];
static u64 in_pos, in_len;

/* Returns 0 at a clean end of input, 1 when n bytes were read. */
static int in_get(void *p, u64 n)
{
    u8 *d = p;
    while (n) {
        if (in_pos == in_len) {
            out_flush();
            i64 r = syscall6(SYS_READ, 0, (i64)in_buf, sizeof in_buf, 0, 0, 0);
            if (r == 0 && d == p) return 0;
            if (r <= 0) die("difftest: short read\n");
            in_pos = 0;
            in_len = (u64)r;
        }
        u64 take = in_len - in_pos < n ? in_len - in_pos : n;
        memcpy(d, in_buf + in_pos, take);
        in_pos += take;
        d += take;
        n -= take;
    }
    return 1;
}

/* Kernel layouts for arm64 (uapi asm/sigcontext.h, asm/ucontext.h, asm-generic/siginfo.h). */
struct k_sigaction { u64 handler; u64 flags; u64 restorer; u64 mask; };
struct k_stack { u64 sp; int flags; int pad; u64 size; };
struct k_sigcontext {
    u64 fault_address; u64 regs[31]; u64 sp; u64 pc; u64 pstate;
    u8 reserved[4096] __attribute__((aligned(16)));
};
/* The records in reserved: a header each, ending with magic 0; FP/SIMD state is always one of them. */
struct k_ctx_head { u32 magic; u32 size; };
struct k_fpsimd_context { struct k_ctx_head head; u32 fpsr; u32 fpcr; u64 vregs[64]; };
#define FPSIMD_MAGIC 0x46508001u
struct k_ucontext {
    u64 flags;
    u64 link;
    struct k_stack stack;
    u64 sigmask;
    u8 unused[120];
    struct k_sigcontext mcontext;
};
struct k_siginfo { int signo; int err; int code; int pad; u64 addr; };

#define SA_SIGINFO 4ul
#define SA_ONSTACK 0x08000000ul
#define SA_NODEFER 0x40000000ul

static u64 fault_pc, fault_addr;
static u8 alt_stack[1 << 16] __attribute__((aligned(16)));

/*
 * A case that faults comes back through case_return as if it had reached the exit stub, with the signal as
 * its status; the alternate stack keeps this working when the case has put garbage in SP.
 */
static void on_fault(int sig, struct k_siginfo *info, void *ctx)
{
    struct k_ucontext *uc = ctx;
    if (harness_sp == 0) die("difftest: fault outside a case\n");
    fault_pc = uc->mcontext.pc;
    fault_addr = info->addr;
    for (int i = 0; i < 31; i++) out_regs[i] = uc->mcontext.regs[i];
    out_regs[31] = uc->mcontext.sp;
    out_regs[32] = uc->mcontext.pstate & 0xf0000000ul;
    /* The kernel put the case's FP/SIMD state in the frame; the harness's own code never touches it. */
    for (u64 at = 0; at + sizeof(struct k_ctx_head) <= sizeof uc->mcontext.reserved;) {
        struct k_ctx_head *h = (struct k_ctx_head *)(uc->mcontext.reserved + at);
        if (h->magic == 0 || h->size == 0) break;
        if (h->magic == FPSIMD_MAGIC) {
            struct k_fpsimd_context *fp = (struct k_fpsimd_context *)h;
            out_regs[REGS_FPCR / 8] = fp->fpcr;
            out_regs[REGS_FPSR / 8] = fp->fpsr;
            for (int i = 0; i < 64; i++) out_regs[REGS_V / 8 + i] = fp->vregs[i];
            break;
        }
        at += h->size;
    }
    uc->mcontext.regs[0] = (u64)sig;
    uc->mcontext.sp = harness_sp;
    uc->mcontext.pc = (u64)case_return;
}

static void install_handlers(void)
{
    struct k_stack ss = { (u64)alt_stack, 0, 0, sizeof alt_stack };
    if (syscall6(SYS_SIGALTSTACK, (i64)&ss, 0, 0, 0, 0, 0) != 0) die("difftest: sigaltstack\n");
    static const int sigs[] = { 4 /* ILL */, 5 /* TRAP */, 7 /* BUS */, 8 /* FPE */, 11 /* SEGV */ };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct k_sigaction sa = { (u64)on_fault, SA_SIGINFO | SA_ONSTACK | SA_NODEFER, 0, 0 };
        if (syscall6(SYS_RT_SIGACTION, sigs[i], (i64)&sa, 0, 8, 0, 0) != 0) die("difftest: sigaction\n");
    }
}

static u64 dcache_line, icache_line;

static void sync_code(u64 start, u64 end)
{
    for (u64 a = start & ~(dcache_line - 1); a < end; a += dcache_line)
        __asm__ volatile("dc cvau, %0" :: "r"(a) : "memory");
    __asm__ volatile("dsb ish" ::: "memory");
    for (u64 a = start & ~(icache_line - 1); a < end; a += icache_line)
        __asm__ volatile("ic ivau, %0" :: "r"(a) : "memory");
    __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

static u32 branch_word(u64 from, u64 to)
{
    return 0x14000000u | (u32)(((i64)(to - from) >> 2) & 0x3ffffff);
}

struct chunk { u32 offset; u32 count; };
static struct chunk chunks[MAX_CHUNKS], old_chunks[MAX_CHUNKS];
static u32 old_chunk_count, old_scratch_len;

int harness_main(void)
{
    u64 ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    dcache_line = 4ul << ((ctr >> 16) & 15);
    icache_line = 4ul << (ctr & 15);

    install_handlers();
    /* PROT_READ|WRITE|EXEC, MAP_PRIVATE|ANONYMOUS|FIXED */
    i64 m = syscall6(SYS_MMAP, (i64)REGION_BASE, (i64)REGION_SIZE, 7, 0x02 | 0x20 | 0x10, -1, 0);
    if (m != (i64)REGION_BASE) die("difftest: cannot map the region\n");

    u8 *region = (u8 *)REGION_BASE;
    u64 exit_size = (u64)(exit_stub_end - exit_stub_start);
    u64 entry_size = (u64)(entry_stub_end - entry_stub_start);
    memcpy(region + EXIT_STUB_OFFSET, exit_stub_start, exit_size);
    memcpy(region + ENTRY_STUB_OFFSET, entry_stub_start, entry_size);
    u64 branch_at = REGION_BASE + ENTRY_STUB_OFFSET + (u64)(entry_stub_branch - entry_stub_start);
    *(u32 *)branch_at = branch_word(branch_at, REGION_BASE);
    sync_code(REGION_BASE + EXIT_STUB_OFFSET, REGION_BASE + REGION_SIZE);

    u32 hello[4] = { HELLO_MAGIC, PROTOCOL_VERSION, (u32)REGION_BASE, (u32)(REGION_BASE >> 32) };
    out_put(hello, sizeof hello);

    u8 *scratch = region + SCRATCH_OFFSET;
    for (;;) {
        u32 head[2];
        if (!in_get(head, 4)) break;
        if (head[0] == END_MAGIC) break;
        if (head[0] != CASE_MAGIC) die("difftest: bad case magic\n");
        in_get(&head[1], 4);
        u32 nchunks = head[1] & 0xffff, scratch_len = head[1] >> 16;
        if (nchunks > MAX_CHUNKS || scratch_len > SCRATCH_MAX || (scratch_len & 7)) die("difftest: bad case header\n");
        in_get(in_regs, sizeof in_regs);

        for (u32 i = 0; i < old_chunk_count; i++)
            memset(region + old_chunks[i].offset, 0, old_chunks[i].count * 4ul);
        u64 lo = CODE_LIMIT, hi = 0;
        for (u32 i = 0; i < old_chunk_count; i++) {
            if (old_chunks[i].offset < lo) lo = old_chunks[i].offset;
            if (old_chunks[i].offset + old_chunks[i].count * 4ul > hi) hi = old_chunks[i].offset + old_chunks[i].count * 4ul;
        }
        for (u32 i = 0; i < nchunks; i++) {
            in_get(&chunks[i], sizeof chunks[i]);
            u64 off = chunks[i].offset, end = off + chunks[i].count * 4ul;
            if ((off & 3) || end > CODE_LIMIT || (end > SCRATCH_PAGES && off < SCRATCH_PAGES + SCRATCH_PAGES_SIZE))
                die("difftest: chunk outside the code area\n");
            u32 *words = (u32 *)(region + off);
            in_get(words, chunks[i].count * 4ul);
            for (u32 k = 0; k < chunks[i].count; k++)
                if (words[k] == END_WORD)
                    words[k] = branch_word(REGION_BASE + off + k * 4ul, REGION_BASE + EXIT_STUB_OFFSET);
            if (off < lo) lo = off;
            if (end > hi) hi = end;
            old_chunks[i] = chunks[i];
        }
        old_chunk_count = nchunks;
        if (hi > lo) sync_code(REGION_BASE + lo, REGION_BASE + hi);

        if (old_scratch_len > scratch_len) memset(scratch + scratch_len, 0, old_scratch_len - scratch_len);
        in_get(scratch, scratch_len);
        old_scratch_len = scratch_len;

        fault_pc = fault_addr = 0;
        u32 status = (u32)run_case();
        harness_sp = 0;
        u32 rhead[2] = { RESULT_MAGIC, status };
        u64 fault[2] = { fault_pc, fault_addr };
        out_put(rhead, sizeof rhead);
        out_put(fault, sizeof fault);
        out_put(out_regs, sizeof out_regs);
        out_put(scratch, scratch_len);
    }
    out_flush();
    return 0;
}
