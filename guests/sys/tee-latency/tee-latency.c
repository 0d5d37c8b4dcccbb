/* Round trips of OP-TEE calls from EL1 with no operating system in the way, timed with the virtual counter like
   guests/sys/latency, one line each:
       latency tee-fast mean=<ns> p50=<ns> p99=<ns> n=<samples>    OPTEE_SMC_CALLS_UID: dispatcher, rights, mediator
       latency tee-null mean=<ns> p50=<ns> p99=<ns> n=<samples>    CALL_WITH_ARG invoking the echo TA's null command:
                                                                  argument shadowed by the mediator, the OS model,
                                                                  the TA, the result copied back
   Jit only: `jit run --kernel build/sys-tee-latency.elf --tee optee`. Without a TEE the guest says
   "tee-latency: no OP-TEE" and reports both n/a. The argument struct (struct optee_msg_arg of OP-TEE's
   optee_msg.h: a 32-byte header and 32-byte parameters) lives in the guest's RAM, addressed physically, as the
   MMU is off. */
#include "sys.h"
#include "timing.h"

#define SAMPLES 1000
#define BATCH 8
#define WARMUP 2000

#define OPTEE_SMC_CALLS_UID          0xBF00FF01UL
#define OPTEE_SMC_EXCHANGE_CAPS      0xB2000009UL
#define OPTEE_SMC_CALL_WITH_ARG      0x32000004UL
#define OPTEE_SMC_RETURN_OK          0
#define OPTEE_UID0                   0x384fb3e0UL

#define MSG_CMD_OPEN_SESSION   0
#define MSG_CMD_INVOKE         1
#define MSG_CMD_CLOSE_SESSION  2
#define MSG_ATTR_VALUE_INPUT   1
#define MSG_ATTR_META          (1UL << 8)
#define ECHO_CMD_NULL          0

struct msg_param {
    u64 attr, a, b, c;
};
struct msg_arg {
    u32 cmd, func, session, cancel_id, pad, ret, ret_origin, num_params;
    struct msg_param params[2];
};

static struct msg_arg arg __attribute__((aligned(256)));
static u64 samples[SAMPLES];
static u64 freq;
static volatile int undefined_taken;

static inline u64 now(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

struct smc_result {
    u64 x0, x1, x2, x3;
};

static inline struct smc_result smc(u64 fid, u64 a1, u64 a2)
{
    register u64 x0 __asm__("x0") = fid;
    register u64 x1 __asm__("x1") = a1;
    register u64 x2 __asm__("x2") = a2;
    register u64 x3 __asm__("x3") = 0;
    register u64 x4 __asm__("x4") = 0;
    register u64 x5 __asm__("x5") = 0;
    register u64 x6 __asm__("x6") = 0;
    register u64 x7 __asm__("x7") = 0;
    __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6), "+r"(x7) : : "memory");
    return (struct smc_result){ x0, x1, x2, x3 };
}

static void hook(struct frame *f, u64 vector)
{
    if (vector == VEC_SYNC_SPX && EC(f->esr) == 0) {
        undefined_taken = 1;
        f->elr += 4;
        return;
    }
    say("unexpected exception: vector %lu EC 0x%lx\n", vector, EC(f->esr));
    fail("unexpected exception");
}

static void report(const char *name)
{
    u64 sum = 0;
    for (int i = 0; i < SAMPLES; i++) sum += samples[i];
    sort(samples, SAMPLES);
    say("latency %s", name);
    print_tenths("mean", tenth_ns(sum, (u64)SAMPLES * BATCH, freq));
    print_tenths("p50", tenth_ns(samples[SAMPLES / 2], BATCH, freq));
    print_tenths("p99", tenth_ns(samples[(SAMPLES * 99) / 100], BATCH, freq));
    say(" n=%d\n", SAMPLES);
}

/* One yielding call with the argument struct as it stands; the OS's answer in a0, the TA's in arg.ret. */
static u64 call_with_arg(void)
{
    u64 pa = (u64)&arg;
    return smc(OPTEE_SMC_CALL_WITH_ARG, pa >> 32, pa & 0xffffffffUL).x0;
}

static void header(u32 cmd, u32 func, u32 session, u32 params)
{
    arg.cmd = cmd;
    arg.func = func;
    arg.session = session;
    arg.cancel_id = 0;
    arg.pad = 0;
    arg.ret = 0xffffffff;
    arg.ret_origin = 0;
    arg.num_params = params;
}

int main(void)
{
    exception_hook = hook;
    freq = sysreg_read(cntfrq_el0);
    say("tee-latency-guest freq=%lu samples=%d batch=%d\n", freq, SAMPLES, BATCH);

    struct smc_result uid = smc(OPTEE_SMC_CALLS_UID, 0, 0);
    if (undefined_taken || uid.x0 != OPTEE_UID0) {
        say("tee-latency: no OP-TEE (calls UID a0=0x%lx)\n", uid.x0);
        say("latency tee-fast n/a\nlatency tee-null n/a\n");
        return 0;
    }
    struct smc_result caps = smc(OPTEE_SMC_EXCHANGE_CAPS, 1 /* uniprocessor */, 0);
    if (caps.x0 != OPTEE_SMC_RETURN_OK) fail("exchange capabilities");

    /* Warm-up rounds, untimed, so the figures are of the steady state (the JIT's tiers, the OS's buffers). */
    for (int i = 0; i < WARMUP; i++) smc(OPTEE_SMC_CALLS_UID, 0, 0);
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) smc(OPTEE_SMC_CALLS_UID, 0, 0);
        samples[i] = now() - t0;
    }
    report("tee-fast");

    /* The echo TA, 1ca132ce-98f6-4c60-8132-33281bc6e3f6: its octets as two little-endian words. */
    header(MSG_CMD_OPEN_SESSION, 0, 0, 2);
    arg.params[0] = (struct msg_param){ MSG_ATTR_VALUE_INPUT | MSG_ATTR_META, 0x604cf698ce32a11cUL, 0xf6e3c61b28333281UL, 0 };
    arg.params[1] = (struct msg_param){ MSG_ATTR_VALUE_INPUT | MSG_ATTR_META, 0, 0, 0 /* public login */ };
    u64 r = call_with_arg();
    if (r != OPTEE_SMC_RETURN_OK || arg.ret != 0) {
        say("tee-latency: open session: a0=0x%lx ret=0x%x origin=%u\n", r, arg.ret, arg.ret_origin);
        fail("open session");
    }
    u32 session = arg.session;

    u64 wrong = 0;
    for (int i = 0; i < WARMUP; i++) {
        header(MSG_CMD_INVOKE, ECHO_CMD_NULL, session, 0);
        wrong |= call_with_arg() | arg.ret;
    }
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) {
            header(MSG_CMD_INVOKE, ECHO_CMD_NULL, session, 0);
            wrong |= call_with_arg() | arg.ret;
        }
        samples[i] = now() - t0;
    }
    if (wrong) fail("a null invoke failed");
    report("tee-null");

    header(MSG_CMD_CLOSE_SESSION, 0, session, 0);
    if (call_with_arg() != OPTEE_SMC_RETURN_OK || arg.ret != 0) fail("close session");
    say("tee-latency done\n");
    return 0;
}
