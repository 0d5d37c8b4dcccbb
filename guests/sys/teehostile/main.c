/* A bare-metal guest that is a hostile OP-TEE client (issue 14, malicious guests), through real SMC and HVC
   instructions and the hypervisor's whole trap path: first the specific cases (cases.c), each of which must get
   the answer OP-TEE's ABI and the mediator specify, over SMC and again over HVC; then `teehostile.calls` calls
   (10^6 by default) with random function IDs of every owner, fast and yielding, SMC32 and SMC64, and random
   arguments, from a seeded generator, of which it asks only that each returns. A canary region of its RAM that
   it never hands to anyone must come through intact, and a well-behaved client must still get right answers
   afterwards. Prints
       TEEHOSTILE-SUMMARY checks=<n> failed=<n> calls=<n> returned=<n> not_supported=<n> optee_status=<n> other=<n> ms=<n>
       TEEHOSTILE-DONE canary=ok            (or canary=BAD, checks=FAILED)
   then leaves a session, a registered buffer and a call waiting at an RPC for the domain's destruction to
   clear (tests/Jit.Hypervisor.Tests/Tee/TeeHostileGuestTests.cs), and powers off.
   Options on the command line: teehostile.seed=N, teehostile.calls=N, teehostile.foreign=ADDR (the machine
   address of another domain's RAM, which the guest uses as an IPA: it must be refused like any address the
   guest has no RAM at; by default the start of the machine's RAM window). */
#include "teehostile.h"

u64 ram_base, ram_end, foreign, caps;
int use_hvc;
u64 checks, failures;

struct smccc_result tee(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    /* a7 is the hypervisor's to set (the client ID): garbage here must change nothing. */
    return use_hvc ? hvc8(fid, a1, a2, a3, a4, a5, 0, 0xdeadbeef) : smc8(fid, a1, a2, a3, a4, a5, 0, 0xdeadbeef);
}

void expect(const char *what, u64 got, u64 want)
{
    checks++;
    if (got == want) return;
    failures++;
    say("teehostile: FAIL %s (%s): got 0x%lx, want 0x%lx\n", what, use_hvc ? "hvc" : "smc", got, want);
}

/* ---- the generator: xorshift64*, seeded ---- */

static u64 state;

u64 rnd(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DUL;
}

u64 below(u64 n) { return n ? rnd() % n : 0; }

/* ---- the canary ---- */

#define CANARY(a) ((a) * 0xD6E8FEB86659FD93UL ^ 0x7EE5A11CA9A5A5A5UL)

static void canary_fill(void)
{
    for (u64 a = ram_base + CANARY_OFFSET; a < ram_base + CANARY_OFFSET + CANARY_SIZE; a += 8) *(volatile u64 *)a = CANARY(a);
}

static u64 canary_changed(void)
{
    u64 bad = 0;
    for (u64 a = ram_base + CANARY_OFFSET; a < ram_base + CANARY_OFFSET + CANARY_SIZE; a += 8)
        if (*(volatile u64 *)a != CANARY(a)) {
            if (!bad) say("teehostile: canary: first change at 0x%lx: 0x%lx\n", a, *(volatile u64 *)a);
            bad++;
        }
    return bad;
}

/* ---- the random phase ---- */

static u64 scratch(void) { return ram_base + SCRATCH_OFFSET; }

/* An address for an argument or a page-list entry: mostly in the scratch region, else anywhere hostile. */
static u64 junk_address(void)
{
    switch (below(8)) {
    case 0: return PL011_BASE + below(0x1000);
    case 1: return foreign + below(0x100000);
    case 2: return ram_end - below(64);
    case 3: return rnd();
    default: return scratch() + (below(SCRATCH_SIZE) & ~7UL);
    }
}

/* Rewrites one 256-byte block of the scratch region as something shaped like an argument struct or a page list
   (the mediator writes results back into it, and the next calls read it). */
static void scramble(void)
{
    volatile u64 *w = (volatile u64 *)(scratch() + (below(SCRATCH_SIZE / 256) * 256));
    if (below(4) == 0) {
        for (int i = 0; i < 32; i++) w[i] = below(3) ? (junk_address() & ~0xfffUL) : rnd();
        return;
    }
    static const u64 attrs[] = {0, 1, 2, 3, 5, 6, 7, 9, 0xa, 0xb, 0x209, 0x20a, 0x20b, 0x109, 4, 0xff};
    w[0] = below(8) | (u64)below(4) << 32;           /* cmd, func */
    w[1] = rnd();                                     /* session, cancel_id */
    w[2] = rnd();                                     /* pad, ret */
    w[3] = below(10) | (u64)rnd() << 32;             /* ret_origin, num_params */
    for (int p = 0; p < 7; p++) {
        w[4 + 4 * p] = below(8) ? attrs[below(sizeof attrs / sizeof attrs[0])] : rnd();
        w[5 + 4 * p] = below(2) ? junk_address() : rnd();
        w[6 + 4 * p] = below(2) ? below(0x10000) : rnd();
        w[7 + 4 * p] = below(2) ? below(16) : rnd();
    }
}

/* PSCI (standard secure service, functions 0-0x1F) can switch the guest's CPUs off or reset it: the one
   service a random call must not reach; PSCI_VERSION stands in for it. */
static u64 harmless(u64 fid)
{
    if ((fid & 0x80000000UL) && ((fid >> 24) & 0x3f) == 4 && (fid & 0xffff) <= 0x1f) return 0x84000000UL;
    return fid;
}

static u64 random_fid(void)
{
    static const u64 optee[] = {OPTEE_CALLS_UID, 0xBF00FF00UL, 0xBF00FF03UL, OPTEE_GET_OS_UUID, 0xB2000001UL, OPTEE_GET_SHM_CONFIG,
                                OPTEE_EXCHANGE_CAPS, OPTEE_DISABLE_SHM_CACHE, OPTEE_ENABLE_SHM_CACHE, OPTEE_VM_CREATED,
                                OPTEE_VM_DESTROYED, OPTEE_GET_THREAD_COUNT, 0xB2000010UL, 0xB2000011UL, OPTEE_RETURN_FROM_RPC,
                                OPTEE_CALL_WITH_ARG, OPTEE_CALL_WITH_RPC_ARG, OPTEE_CALL_WITH_REGD_ARG};
    u64 r = below(100);
    u64 fid;
    if (r < 35) fid = optee[below(sizeof optee / sizeof optee[0])] ^ (below(8) ? 0 : 0x40000000UL);
    else if (r < 50) fid = (below(2) ? 0x80000000UL : 0) | (below(2) ? 0x40000000UL : 0) | (50 + below(14)) << 24 | below(0x20);
    else if (r < 55) fid = 0x80000000UL | (below(2) ? 0x40000000UL : 0) | (48 + below(2)) << 24 | below(0x10000);
    else if (r < 75) fid = 0x80000000UL | (below(2) ? 0x40000000UL : 0) | below(7) << 24 | below(0x100);
    else fid = rnd() & 0xffffffffUL;
    return harmless(fid);
}

static u64 random_arg(void)
{
    switch (below(6)) {
    case 0: return 0;
    case 1: return below(64);
    case 2: return rnd();
    default: return junk_address();
    }
}

struct outcomes {
    u64 calls, not_supported, optee_status, other;
};

static void random_calls(u64 n, struct outcomes *o)
{
    for (u64 i = 0; i < n; i++) {
        if ((i & 63) == 0) scramble();
        u64 fid = random_fid();
        u64 a[7];
        for (int k = 0; k < 7; k++) a[k] = random_arg();
        /* OP-TEE passes addresses as two 32-bit halves: often a whole one, in the scratch region. */
        if (below(2)) {
            u64 at = junk_address();
            a[0] = at >> 32;
            a[1] = at & 0xffffffffUL;
        }
        /* The mediator writes results back into the guest's struct wherever the guest says it is: a pair that
           names the guest's own RAM (random halves do, one call in fifty) goes to the scratch region, so the
           canary, the code and the stack are never handed to anyone. */
        u64 pair = (a[0] & 0xffffffffUL) << 32 | (a[1] & 0xffffffffUL);
        if (pair >= ram_base && pair < ram_end && (pair < scratch() || pair >= scratch() + SCRATCH_SIZE))
            a[1] = scratch() + (pair & (SCRATCH_SIZE - 1));
        struct smccc_result r = below(2) ? hvc8(fid, a[0], a[1], a[2], a[3], a[4], a[5], a[6])
                                         : smc8(fid, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
        o->calls++;
        if (r.x0 == NOT_SUPPORTED) o->not_supported++;
        else if (r.x0 <= RETURN_ENOTAVAIL) o->optee_status++;
        else o->other++;
        if ((i + 1) % 250000 == 0) say("teehostile: %lu random calls\n", i + 1);
    }
}

/* Any exception is a failure: no SMC or HVC of an EL1 guest may fault, whatever it passes. */
static void hook(struct frame *f, u64 vector)
{
    say("teehostile: unexpected exception: vector %lu ESR 0x%lx ELR 0x%lx FAR 0x%lx\n", vector, f->esr, f->elr, f->far);
    fail("TEEHOSTILE-DONE canary=unchecked (unexpected exception)");
}

int main(void)
{
    exception_hook = hook;
    ram_base = platform.ram_base;
    ram_end = ram_base + platform.ram_size;
    const char *args = bootargs();
    u64 seed = argument(args, "teehostile.seed", 1);
    u64 calls = argument(args, "teehostile.calls", 1000000);
    foreign = argument(args, "teehostile.foreign", 0x1000000000UL);
    state = seed * 0x9E3779B97F4A7C15UL | 1;
    extern char __stack_top[];
    if ((u64)__stack_top > ram_base + ARENA_OFFSET || platform.ram_size < RAM_NEEDED)
        fail("TEEHOSTILE-DONE canary=unchecked (needs at least 32 MiB of RAM and an image below 8 MiB)");
    say("teehostile: seed %lu, %lu random calls, RAM 0x%lx-0x%lx, device tree at 0x%lx, foreign machine address 0x%lx\n", seed,
        calls, ram_base, ram_end, platform.fdt, foreign);
    canary_fill();

    struct smccc_result uid = smc8(OPTEE_CALLS_UID, 0, 0, 0, 0, 0, 0, 0);
    if (uid.x0 != OPTEE_UID0) fail("TEEHOSTILE-DONE canary=unchecked (no OP-TEE: run with --tee optee)");

    u64 freq = sysreg_read(cntfrq_el0), start = sysreg_read(cntvct_el0);
    specific_cases();
    u64 mid = sysreg_read(cntvct_el0);
    struct outcomes o = {0, 0, 0, 0};
    random_calls(calls, &o);
    u64 end = sysreg_read(cntvct_el0);
    say("teehostile: specific cases %lu ms, random calls %lu ms\n", (mid - start) * 1000 / freq, (end - mid) * 1000 / freq);
    well_behaved();

    u64 bad = canary_changed();
    say("TEEHOSTILE-SUMMARY checks=%lu failed=%lu calls=%lu returned=%lu not_supported=%lu optee_status=%lu other=%lu ms=%lu\n",
        checks, failures, calls, o.calls, o.not_supported, o.optee_status, o.other, (end - start) * 1000 / freq);
    leave_state_behind();
    if (bad) say("TEEHOSTILE-DONE canary=BAD (%lu words changed)\n", bad);
    else if (failures) say("TEEHOSTILE-DONE canary=ok checks=FAILED\n");
    else say("TEEHOSTILE-DONE canary=ok\n");
    return bad || failures;
}
