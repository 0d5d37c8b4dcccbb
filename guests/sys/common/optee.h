/* OP-TEE's SMC interface (optee_smc.h) and message protocol (optee_msg.h) as the TEE guests use them, the
   GlobalPlatform results they check, and the echo TA they talk to. */
#ifndef OPTEE_H
#define OPTEE_H

#include "sys.h"

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
#define TEE_ERROR_BUSY        0xFFFF000DU

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

#endif
