/* Isolation between domains, seen from inside one. Built twice:
   - probe: loads from the IPA just past its RAM, gaps in the guest memory map, RAM bank 1 (which it does not
     have) and the top of the 40-bit IPA space; each must fault inside the guest (a synchronous data abort),
     never read another domain's memory or the host's.
   - fill (-DFILL): fills its RAM above the image with a pattern, then checks it once a second and says whether
     it is intact, so a test can see that a probing neighbour changed nothing.
   Both stay up in WFI when done, so the toolstack lists them. MMU off: addresses are IPAs. */
#include "sys.h"

static volatile int faulted;
static volatile u64 fault_esr;

static void hook(struct frame *f, u64 vector)
{
    if (vector == VEC_SYNC_SPX) {
        faulted = 1;
        fault_esr = f->esr;
        f->elr += 4;
        return;
    }
    say("unexpected exception: vector %lu ESR 0x%lx\n", vector, f->esr);
    fail("unexpected exception");
}

static void stay(void)
{
    for (;;) __asm__ volatile("wfi");
}

#ifndef FILL
static void probe(const char *what, u64 ipa)
{
    faulted = 0;
    fault_esr = 0;
    u64 v = do_load(ipa);
    if (faulted)
        say("probe %s 0x%lx: fault EC 0x%lx DFSC 0x%lx\n", what, ipa, EC(fault_esr), fault_esr & 0x3f);
    else
        say("probe %s 0x%lx: READ 0x%lx\n", what, ipa, v);
}

int main(void)
{
    exception_hook = hook;
    say("isolation probe: RAM 0x%lx+0x%lx\n", platform.ram_base, platform.ram_size);
    probe("past-ram", platform.ram_base + platform.ram_size);
    probe("gap-low", 0x1000);
    probe("gap-gic-ecam", 0x08000000);
    probe("gap-uart-mem", 0x22010000 + 0x10000);
    probe("gap-magic-ram", 0x3a000000);
    probe("ram1", 0x200000000UL);
    probe("ram1-end", 0x200000000UL + (64UL << 20) - 8);
    probe("ipa-top", (1UL << 40) - 8);
    say("isolation probe: done\n");
    stay();
    return 0;
}
#else
extern char __stack_top[];

#define PATTERN(a) ((a) * 0x9E3779B97F4A7C15UL ^ 0x5A5A5A5A5A5A5A5AUL)

int main(void)
{
    exception_hook = hook;
    u64 from = ((u64)__stack_top + 0xFFF) & ~0xFFFUL, to = platform.ram_base + platform.ram_size;
    for (u64 a = from; a < to; a += 8) *(volatile u64 *)a = PATTERN(a);
    say("isolation fill: 0x%lx..0x%lx filled\n", from, to);
    u64 freq = sysreg_read(cntfrq_el0);
    for (int round = 1; round <= 600; round++) {
        u64 until = sysreg_read(cntvct_el0) + freq;
        while (sysreg_read(cntvct_el0) < until)
            ;
        u64 bad = 0;
        for (u64 a = from; a < to; a += 8)
            if (*(volatile u64 *)a != PATTERN(a)) bad++;
        say("isolation fill: round %d: %s (%lu words changed)\n", round, bad ? "CHANGED" : "intact", bad);
    }
    stay();
    return 0;
}
#endif
