/* The hostile OP-TEE client (issue 14, malicious guests): shared state of its parts.
   main.c   the command line, the generator, the canary, the random phase and the summary
   cases.c  the specific cases, each with the answer OP-TEE's ABI and the mediator specify
   Jit only: `jit run --kernel build/sys-teehostile.elf --tee optee [--append "teehostile.seed=N teehostile.calls=N
   teehostile.foreign=ADDR"]`. */
#ifndef TEEHOSTILE_H
#define TEEHOSTILE_H

#include "sys.h"
#include "smccc.h"
#include "optee.h"

#define PAGE 4096UL
#define LIST_ENTRIES 511 /* a NONCONTIG page list: 511 page addresses, then the next list page's */

/* ---- the guest's RAM: image at +2 MiB, then these ---- */
#define ARENA_OFFSET   (8UL << 20)  /* arguments, page lists and data of the specific cases */
#define ARENA_SIZE     (4UL << 20)
#define SCRATCH_OFFSET (12UL << 20) /* what the random calls point at: junk the mediator may read and write */
#define SCRATCH_SIZE   (1UL << 20)
#define CANARY_OFFSET  (16UL << 20) /* never handed to anyone */
#define CANARY_SIZE    (8UL << 20)
#define RAM_NEEDED     (32UL << 20)

/* ---- platform and options ---- */
#define PL011_BASE 0x22000000UL
#define ECAM_BASE  0x10000000UL
#define RAM1_BASE  0x200000000UL
extern u64 ram_base, ram_end, foreign, caps;

/* ---- checks (main.c) ---- */
extern int use_hvc;
extern u64 checks, failures;
struct smccc_result tee(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);
void expect(const char *what, u64 got, u64 want);
u64 rnd(void);
u64 below(u64 n);

/* ---- the specific cases (cases.c) ---- */
void specific_cases(void);
/* After the random phase: a well-behaved client still gets right answers. */
void well_behaved(void);
/* Leaves a session, a registered buffer and a call waiting at an RPC for the domain's destruction. */
void leave_state_behind(void);

#endif
