/* The hostile OP-TEE client (issue 14, malicious guests): shared state of its parts.
   main.c   the command line, the generator, the canary, the random phase and the summary
   cases.c  the specific cases, each with the answer OP-TEE's ABI and the mediator specify
   Jit only: `jit run --kernel build/sys-teehostile.elf --tee optee [--append "teehostile.seed=N teehostile.calls=N
   teehostile.foreign=ADDR"]`. */
#ifndef TEEHOSTILE_H
#define TEEHOSTILE_H

#include "sys.h"
#include "smccc.h"

/* ---- OP-TEE's SMC interface (optee_smc.h) ---- */
#define OPTEE_CALLS_UID           0xBF00FF01UL
#define OPTEE_GET_OS_UUID         0xB2000000UL
#define OPTEE_GET_SHM_CONFIG      0xB2000007UL
#define OPTEE_L2CC_MUTEX          0xB2000008UL
#define OPTEE_EXCHANGE_CAPS       0xB2000009UL
#define OPTEE_DISABLE_SHM_CACHE   0xB200000AUL
#define OPTEE_ENABLE_SHM_CACHE    0xB200000BUL
#define OPTEE_BOOT_SECONDARY      0xB200000CUL
#define OPTEE_VM_CREATED          0xB200000DUL
#define OPTEE_VM_DESTROYED        0xB200000EUL
#define OPTEE_GET_THREAD_COUNT    0xB200000FUL
#define OPTEE_RETURN_FROM_RPC     0x32000003UL
#define OPTEE_CALL_WITH_ARG       0x32000004UL
#define OPTEE_CALL_WITH_RPC_ARG   0x32000012UL
#define OPTEE_CALL_WITH_REGD_ARG  0x32000013UL

#define RETURN_OK            0x0UL
#define RETURN_ETHREAD_LIMIT 0x1UL
#define RETURN_EBUSY         0x2UL
#define RETURN_ERESUME       0x3UL
#define RETURN_EBADADDR      0x4UL
#define RETURN_EBADCMD       0x5UL
#define RETURN_ENOTAVAIL     0x7UL
#define RETURN_RPC_ALLOC     0xFFFF0000UL
#define RETURN_RPC_CMD       0xFFFF0005UL
#define NOT_SUPPORTED        0xFFFFFFFFFFFFFFFFUL /* SMCCC's -1, in all of X0 */

#define OPTEE_UID0           0x384fb3e0UL
#define SEC_CAP_DYNAMIC_SHM  (1UL << 2)
#define SEC_CAP_RPC_ARG      (1UL << 6)

/* ---- the message protocol (optee_msg.h) and the GlobalPlatform results ---- */
#define ATTR_VALUE_INPUT  0x1UL
#define ATTR_VALUE_OUTPUT 0x2UL
#define ATTR_RMEM_INPUT   0x5UL
#define ATTR_TMEM_INPUT   0x9UL
#define ATTR_TMEM_OUTPUT  0xaUL
#define ATTR_TMEM_INOUT   0xbUL
#define ATTR_META         (1UL << 8)
#define ATTR_NONCONTIG    (1UL << 9)

#define CMD_OPEN_SESSION   0
#define CMD_INVOKE         1
#define CMD_CLOSE_SESSION  2
#define CMD_REGISTER_SHM   4
#define CMD_UNREGISTER_SHM 5
#define CMD_DO_BOTTOM_HALF 6
#define RPC_CMD_SHM_ALLOC  6
#define RPC_CMD_SHM_FREE   7

#define TEE_SUCCESS           0x00000000U
#define TEE_ERROR_BAD_PARAMS  0xFFFF0006U
#define TEE_ERROR_OUT_OF_MEM  0xFFFF000CU

/* The echo TA (src/SecureWorld/TrustedApplications/EchoTa.cs): 1ca132ce-98f6-4c60-8132-33281bc6e3f6. */
#define ECHO_UUID_LO 0x604cf698ce32a11cUL
#define ECHO_UUID_HI 0xf6e3c61b28333281UL
#define ECHO_NULL      0
#define ECHO_VALUE     1
#define ECHO_MEMREF    2
#define ECHO_RPC       4

struct msg_param {
    u64 attr, a, b, c;
};
struct msg_arg {
    u32 cmd, func, session, cancel_id, pad, ret, ret_origin, num_params;
    struct msg_param params[];
};
#define ARG_SIZE(n) (32UL + 32UL * (n))
/* Room the mediator wants after an argument for the inline RPC argument (4 parameters). */
#define RPC_ROOM ARG_SIZE(4)

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
