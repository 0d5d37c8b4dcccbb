/* Round trips of OP-TEE calls from EL1 with no operating system in the way, timed with the virtual counter like
   guests/sys/latency, one line each:
       latency tee-fast mean=<ns> p50=<ns> p99=<ns> n=<samples>    OPTEE_CALLS_UID: dispatcher, rights, mediator
       latency tee-null mean=<ns> p50=<ns> p99=<ns> n=<samples>    CALL_WITH_ARG invoking the echo TA's null command:
                                                                  argument shadowed by the mediator, the OS model,
                                                                  the TA, the result copied back
   With "tee.soak=S" on the command line it then goes on for S seconds as a well-behaved client beside others
   (tests/Jit.Hypervisor.Tests/Tee/TeeHostileGuestTests.cs): fast calls, null invokes and value echoes whose
   every answer it checks, one line a second:
       tee-latency soak <second>: <calls> calls, all answered right
   and a failure line, then power-off, at the first wrong answer.
   Jit only: `jit run --kernel build/sys-tee-latency.elf --tee optee`. Without a TEE the guest says
   "tee-latency: no OP-TEE" and reports both n/a. The argument struct (struct optee_msg_arg of OP-TEE's
   optee_msg.h: a 32-byte header and 32-byte parameters) lives in the guest's RAM, addressed physically, as the
   MMU is off. */
#include "sys.h"
#include "optee.h"
#include "smccc.h"
#include "timing.h"

#define SAMPLES 1000
#define BATCH 8
/* Warm-up: the timed loop itself, untimed, for this long (ms of counter time) and at least twice. The loop must
   be the same code as the measurement: tier 1 compiles it in the background once it is hot, which takes a
   tenth of a second or more, and a warm-up of other code (or of a few thousand calls) measured the interpreter. */
#define WARMUP_MS 400

/* The argument struct with room for two parameters. */
static union {
    struct msg_arg a;
    u64 room[ARG_SIZE(2) / 8];
} arg_space __attribute__((aligned(256)));
#define arg (arg_space.a)

static u64 samples[SAMPLES];
static u64 freq;
static volatile int undefined_taken;

static inline u64 now(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

static inline struct smccc_result smc(u64 fid, u64 a1, u64 a2)
{
    return smc8(fid, a1, a2, 0, 0, 0, 0, 0);
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
    return smc(OPTEE_CALL_WITH_ARG, pa >> 32, pa & 0xffffffffUL).x0;
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

/* SAMPLES batches of BATCH calls into samples[]; nonzero if any call did not answer as it should. */
static u64 sample_fast(u32 unused)
{
    (void)unused;
    u64 wrong = 0;
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) wrong |= smc(OPTEE_CALLS_UID, 0, 0).x0 ^ OPTEE_UID0;
        samples[i] = now() - t0;
    }
    return wrong;
}

static u64 sample_null(u32 session)
{
    u64 wrong = 0;
    for (int i = 0; i < SAMPLES; i++) {
        u64 t0 = now();
        for (int k = 0; k < BATCH; k++) {
            header(CMD_INVOKE, ECHO_NULL, session, 0);
            wrong |= call_with_arg() | arg.ret;
        }
        samples[i] = now() - t0;
    }
    return wrong;
}

/* Untimed rounds of the measurement itself until WARMUP_MS have passed, so the figures are of the steady state
   (the JIT's tiers, the OS's buffers). */
static void warm_up(u64 (*sample)(u32), u32 session)
{
    u64 start = now(), rounds = 0;
    while (rounds < 2 || now() - start < freq / 1000 * WARMUP_MS) {
        if (sample(session)) fail("a call failed during the warm-up");
        rounds++;
    }
}

/* The soak: S seconds of checked calls of three kinds, a line each second. */
static void soak(u32 session, u64 seconds)
{
    u64 calls = 0, start = now();
    for (u64 second = 1; second <= seconds; second++) {
        while (now() - start < freq * second) {
            if (smc(OPTEE_CALLS_UID, 0, 0).x0 != OPTEE_UID0) fail("tee-latency soak: a fast call answered wrong");
            header(CMD_INVOKE, ECHO_NULL, session, 0);
            if (call_with_arg() != RETURN_OK || arg.ret != 0) fail("tee-latency soak: a null invoke failed");
            /* A TA's values are 32-bit (GlobalPlatform's TEE_Param). */
            u64 a = (u32)(calls * 0x9E3779B9UL), b = (u32)~a ^ second;
            header(CMD_INVOKE, ECHO_VALUE, session, 2);
            arg.params[0] = (struct msg_param){ ATTR_VALUE_INPUT, a, b, 0 };
            arg.params[1] = (struct msg_param){ ATTR_VALUE_OUTPUT, 0, 0, 0 };
            if (call_with_arg() != RETURN_OK || arg.ret != 0 || arg.params[1].a != b || arg.params[1].b != a)
fail("tee-latency soak: a value echo answered wrong");
            calls += 3;
        }
        say("tee-latency soak %lu: %lu calls, all answered right\n", second, calls);
    }
}

int main(void)
{
    exception_hook = hook;
    freq = sysreg_read(cntfrq_el0);
    say("tee-latency-guest freq=%lu samples=%d batch=%d\n", freq, SAMPLES, BATCH);

    struct smccc_result uid = smc(OPTEE_CALLS_UID, 0, 0);
    if (undefined_taken || uid.x0 != OPTEE_UID0) {
        say("tee-latency: no OP-TEE (calls UID a0=0x%lx)\n", uid.x0);
        say("latency tee-fast n/a\nlatency tee-null n/a\n");
        return 0;
    }
    struct smccc_result caps = smc(OPTEE_EXCHANGE_CAPS, 1 /* uniprocessor */, 0);
    if (caps.x0 != RETURN_OK) fail("exchange capabilities");

    warm_up(sample_fast, 0);
    if (sample_fast(0)) fail("a fast call failed");
    report("tee-fast");

    header(CMD_OPEN_SESSION, 0, 0, 2);
    arg.params[0] = (struct msg_param){ ATTR_VALUE_INPUT | ATTR_META, ECHO_UUID_LO, ECHO_UUID_HI, 0 };
    arg.params[1] = (struct msg_param){ ATTR_VALUE_INPUT | ATTR_META, 0, 0, 0 /* public login */ };
    u64 r = call_with_arg();
    if (r != RETURN_OK || arg.ret != 0) {
        say("tee-latency: open session: a0=0x%lx ret=0x%x origin=%u\n", r, arg.ret, arg.ret_origin);
        fail("open session");
    }
    u32 session = arg.session;

    warm_up(sample_null, session);
    if (sample_null(session)) fail("a null invoke failed");
    report("tee-null");

    soak(session, argument(bootargs(), "tee.soak", 0));

    header(CMD_CLOSE_SESSION, 0, session, 0);
    if (call_with_arg() != RETURN_OK || arg.ret != 0) fail("close session");
    say("tee-latency done\n");
    return 0;
}
