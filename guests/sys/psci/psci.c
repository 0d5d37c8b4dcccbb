/* PSCI over HVC: version and feature discovery, and the life cycle of vCPU 1 (MPIDR 1): CPU_ON with an
   entry point and context ID, AFFINITY_INFO through OFF, ON and OFF again, CPU_OFF from the secondary, a
   second CPU_ON of the same vCPU, and the error returns of CPU_ON. SYSTEM_OFF ends the run (start.S). */
#include "sys.h"

#define AFF_ON  0
#define AFF_OFF 1

static volatile u64 up, go, runs;
static u64 secondary_stack[256] __attribute__((aligned(16)));

static void secondary(void)
{
    u64 sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    runs++;
    say("secondary: run %lu, MPIDR.Aff0 %lu, stack from the context ID: %s\n", runs, sysreg_read(mpidr_el1) & 0xff,
        sp <= (u64)&secondary_stack[256] && sp > (u64)secondary_stack ? "yes" : "no");
    dsb();
    up = 1;
    while (!go)
        ;
    /* Returning to secondary_main calls CPU_OFF. */
}

static long call(u64 fid, u64 a1, u64 a2, u64 a3)
{
    return (long)hvc_call(fid, a1, a2, a3);
}

static long wait_for_state(u64 mpidr, long state)
{
    long r = -100;
    for (int i = 0; i < 1000000; i++) {
        r = call(PSCI_AFFINITY_INFO, mpidr, 0, 0);
        if (r == state) break;
    }
    return r;
}

static void start_secondary(void)
{
    up = go = 0;
    dsb();
    long r = call(PSCI_CPU_ON, 1, (u64)secondary_entry, (u64)&secondary_stack[256]);
    /* The secondary prints as soon as it runs: report the call once it has, so the lines keep one order. */
    for (int i = 0; i < 100000000 && !up; i++)
        ;
    say("CPU_ON(1): %ld, secondary flag: %s\n", r, up ? "set" : "NOT SET");
}

int main(void)
{
    secondary_hook = secondary;
    u64 v = (u64)call(PSCI_VERSION, 0, 0, 0);
    say("PSCI_VERSION: %lu.%lu\n", v >> 16 & 0xffff, v & 0xffff);
    say("FEATURES(CPU_ON): %ld\n", call(PSCI_FEATURES, PSCI_CPU_ON, 0, 0));
    say("FEATURES(CPU_OFF): %ld\n", call(PSCI_FEATURES, PSCI_CPU_OFF, 0, 0));
    say("FEATURES(AFFINITY_INFO): %ld\n", call(PSCI_FEATURES, PSCI_AFFINITY_INFO, 0, 0));
    say("FEATURES(SYSTEM_OFF): %ld\n", call(PSCI_FEATURES, PSCI_SYSTEM_OFF, 0, 0));
    say("FEATURES(PSCI_FEATURES): %ld\n", call(PSCI_FEATURES, PSCI_FEATURES, 0, 0));
    say("FEATURES(0x8400001f): %ld\n", call(PSCI_FEATURES, 0x8400001fUL, 0, 0));

    say("AFFINITY_INFO(0): %ld\n", call(PSCI_AFFINITY_INFO, 0, 0, 0));
    say("AFFINITY_INFO(1) before CPU_ON: %ld\n", call(PSCI_AFFINITY_INFO, 1, 0, 0));
    start_secondary();
    say("AFFINITY_INFO(1) while running: %ld\n", call(PSCI_AFFINITY_INFO, 1, 0, 0));
    say("CPU_ON(1) again: %ld\n", call(PSCI_CPU_ON, 1, (u64)secondary_entry, 0));
    say("CPU_ON(0), the caller: %ld\n", call(PSCI_CPU_ON, 0, (u64)secondary_entry, 0));
    say("CPU_ON(0x7f), no such CPU: %ld\n", call(PSCI_CPU_ON, 0x7f, (u64)secondary_entry, 0));
    go = 1;
    dsb();
    say("AFFINITY_INFO(1) after CPU_OFF: %ld\n", wait_for_state(1, AFF_OFF));

    start_secondary();
    go = 1;
    dsb();
    say("AFFINITY_INFO(1) after the second CPU_OFF: %ld\n", wait_for_state(1, AFF_OFF));
    return 0;
}
