/* The specific hostile cases: each is one call (or a short sequence) with the answer it must get: an OP-TEE SMC
   status (OPTEE_SMC_RETURN_*), a GlobalPlatform result in the argument struct (TEEC_ERROR_*, from the mediator's
   refusal or the OS's), or SMCCC's NOT_SUPPORTED. They run once over SMC and once over HVC. */
#include "teehostile.h"

static u64 arena_next;

/* Zeroed pages of the arena, page-aligned. */
static u64 pages(u64 n)
{
    u64 at = arena_next;
    arena_next += n * PAGE;
    if (arena_next > ram_base + ARENA_OFFSET + ARENA_SIZE) fail("teehostile: arena exhausted");
    for (u64 a = at; a < arena_next; a += 8) *(volatile u64 *)a = 0;
    return at;
}

static struct msg_arg *header(u64 at, u32 cmd, u32 func, u32 session, u32 nparams)
{
    struct msg_arg *a = (struct msg_arg *)at;
    a->cmd = cmd;
    a->func = func;
    a->session = session;
    a->cancel_id = 0;
    a->pad = 0;
    a->ret = 0xdeadbeef;
    a->ret_origin = 0xdeadbeef;
    a->num_params = nparams; /* the parameters are the caller's to write (pages() gives zeroed ones) */
    return a;
}

static u64 call_at(u64 fid, u64 at)
{
    return tee(fid, at >> 32, at & 0xffffffffUL, 0, 0, 0).x0;
}

/* A yielding call that must complete (status OK) with `want` in the struct's ret. */
static void expect_ret(const char *what, u64 fid, struct msg_arg *a, u32 want)
{
    u64 status = call_at(fid, (u64)a);
    if (status != RETURN_OK) expect(what, status, RETURN_OK);
    else expect(what, a->ret, want);
}

/* A page list of `n` entries, all `page` (with `bad` at index `bad_at` when bad_at < n), next pointer `next`. */
static u64 list_of(u64 n, u64 page, long bad_at, u64 bad, u64 next)
{
    u64 list = pages(1);
    volatile u64 *e = (volatile u64 *)list;
    for (u64 i = 0; i < n && i < LIST_ENTRIES; i++) e[i] = (long)i == bad_at ? bad : page;
    e[LIST_ENTRIES] = next;
    return list;
}

static u32 open_echo(u64 at)
{
    struct msg_arg *a = header(at, CMD_OPEN_SESSION, 0, 0, 2);
    a->params[0] = (struct msg_param){ ATTR_VALUE_INPUT | ATTR_META, ECHO_UUID_LO, ECHO_UUID_HI, 0 };
    a->params[1] = (struct msg_param){ ATTR_VALUE_INPUT | ATTR_META, 0, 0, 0 /* public login */ };
    u64 status = call_at(OPTEE_CALL_WITH_ARG, at);
    if (status != RETURN_OK || a->ret != TEE_SUCCESS) {
        say("teehostile: open session: status 0x%lx ret 0x%x\n", status, a->ret);
        fail("teehostile: cannot open the echo TA's session");
    }
    return a->session;
}

static void close_session(u64 at, u32 session)
{
    expect_ret("close a session", OPTEE_CALL_WITH_ARG, header(at, CMD_CLOSE_SESSION, 0, session, 0), TEE_SUCCESS);
}

/* An invoke of `func` with one temporary-memory parameter, answered with `want` (a refusal, or success). */
static void expect_tmem(const char *what, u32 session, u32 func, u64 attr, u64 buf_ptr, u64 size, u32 want)
{
    struct msg_arg *a = header(pages(1), CMD_INVOKE, func, session, 1);
    a->params[0] = (struct msg_param){ attr, buf_ptr, size, 0 };
    expect_ret(what, OPTEE_CALL_WITH_ARG, a, want);
}

static void fast_calls(void)
{
    struct smccc_result r = tee(OPTEE_CALLS_UID, 0, 0, 0, 0, 0);
    expect("CALLS_UID", r.x0, OPTEE_UID0);
    r = tee(OPTEE_EXCHANGE_CAPS, 0, 0, 0, 0, 0);
    expect("EXCHANGE_CAPABILITIES status", r.x0, RETURN_OK);
    expect("EXCHANGE_CAPABILITIES offers dynamic shared memory", r.x1 & SEC_CAP_DYNAMIC_SHM, SEC_CAP_DYNAMIC_SHM);
    caps = r.x1;
    expect("GET_SHM_CONFIG (no reserved shared memory for a guest)", tee(OPTEE_GET_SHM_CONFIG, 0, 0, 0, 0, 0).x0, RETURN_ENOTAVAIL);
    expect("DISABLE_SHM_CACHE with nothing cached", tee(OPTEE_DISABLE_SHM_CACHE, 0, 0, 0, 0, 0).x0, RETURN_ENOTAVAIL);
    r = tee(OPTEE_GET_THREAD_COUNT, 0, 0, 0, 0, 0);
    expect("GET_THREAD_COUNT status", r.x0, RETURN_OK);
    expect("GET_THREAD_COUNT within the mediator's 16", r.x1 >= 1 && r.x1 <= 16, 1);
    /* The hypervisor's own calls: a guest that makes them, naming any client, gets NOT_SUPPORTED. */
    for (u64 client = 0; client < 4; client++) {
        expect("VM_CREATED from a guest", tee(OPTEE_VM_CREATED, client, 0, 0, 0, 0).x0, NOT_SUPPORTED);
        expect("VM_DESTROYED from a guest", tee(OPTEE_VM_DESTROYED, client, 0, 0, 0, 0).x0, NOT_SUPPORTED);
    }
    expect("L2CC_MUTEX", tee(OPTEE_L2CC_MUTEX, 0, 0, 0, 0, 0).x0, NOT_SUPPORTED);
    expect("BOOT_SECONDARY", tee(OPTEE_BOOT_SECONDARY, 0, 0x40000000, 0, 0, 0).x0, NOT_SUPPORTED);
    expect("an unallocated Trusted OS fast call", tee(0xB2000063UL, 1, 2, 3, 4, 5).x0, NOT_SUPPORTED);
    expect("CALLS_UID as SMC64 (OP-TEE is SMC32 only)", tee(OPTEE_CALLS_UID | 0x40000000UL, 0, 0, 0, 0, 0).x0, NOT_SUPPORTED);
    expect("an unallocated yielding call", tee(0x32000063UL, 0, 0, 0, 0, 0).x0, NOT_SUPPORTED);
}

/* CALL_WITH_ARG (and its RPC-argument forms) with the struct where the guest has no RAM, or not all of it. */
static void argument_addresses(u32 session)
{
    static const struct { const char *what; u64 offset_from_end; } tails[] = {
        {"the argument at the end of RAM", 0}, {"the argument's header across the end of RAM", 16},
    };
    u64 at_places[] = {0, 0x1000, PL011_BASE, platform.gicd, platform.gicr, ECAM_BASE, RAM1_BASE, foreign, foreign + 0x200000,
                       ~7UL, 1UL << 47};
    for (unsigned i = 0; i < sizeof at_places / sizeof at_places[0]; i++)
        expect("the argument outside RAM, in MMIO or at another domain's machine address",
               call_at(OPTEE_CALL_WITH_ARG, at_places[i]), RETURN_EBADADDR);
    for (unsigned i = 0; i < sizeof tails / sizeof tails[0]; i++)
        expect(tails[i].what, call_at(OPTEE_CALL_WITH_ARG, ram_end - tails[i].offset_from_end), RETURN_EBADADDR);
    /* The header in the last bytes of RAM, its two parameters past the end. */
    header(ram_end - 32, CMD_INVOKE, ECHO_NULL, session, 2);
    expect("the argument's parameters past the end of RAM", call_at(OPTEE_CALL_WITH_ARG, ram_end - 32), RETURN_EBADADDR);
    u64 aligned = pages(1);
    header(aligned, CMD_INVOKE, ECHO_NULL, session, 0);
    expect("a misaligned argument (+4)", call_at(OPTEE_CALL_WITH_ARG, aligned + 4), RETURN_EBADADDR);
    expect("a misaligned argument (+1)", call_at(OPTEE_CALL_WITH_ARG, aligned + 1), RETURN_EBADADDR);

    /* Page-crossing inside RAM is the guest's right: the header on one page, the parameters on the next. */
    u64 two = pages(2);
    struct msg_arg *a = header(two + PAGE - 32, CMD_INVOKE, ECHO_VALUE, session, 2);
    a->params[0] = (struct msg_param){ ATTR_VALUE_INPUT, 0x1234, 0x5678, 0 };
    a->params[1] = (struct msg_param){ ATTR_VALUE_OUTPUT, 0, 0, 0 };
    expect_ret("a page-crossing argument (works)", OPTEE_CALL_WITH_ARG, a, TEE_SUCCESS);
    expect("a page-crossing argument's results", a->params[1].a << 32 | a->params[1].b, 0x5678UL << 32 | 0x1234);

    /* Malformed headers: too many parameters, commands a guest may not send. */
    a = header(pages(1), CMD_INVOKE, ECHO_NULL, session, 9);
    expect_ret("num_params 9 (more than the mediator's 8)", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);
    a = header(pages(1), CMD_INVOKE, ECHO_NULL, session, 0);
    a->num_params = 0xffffffff;
    expect_ret("num_params 0xffffffff", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);
    u32 bad_cmds[] = {CMD_DO_BOTTOM_HALF, 7, 99, 0xffffffff};
    for (unsigned i = 0; i < sizeof bad_cmds / sizeof bad_cmds[0]; i++)
        expect("a command a guest may not send", call_at(OPTEE_CALL_WITH_ARG, (u64)header(pages(1), bad_cmds[i], 0, session, 0)),
               RETURN_EBADCMD);
    expect_ret("invoke on a session never opened", OPTEE_CALL_WITH_ARG, header(pages(1), CMD_INVOKE, ECHO_NULL, 0x7fffffff, 0),
               TEE_ERROR_BAD_PARAMS);
    expect_ret("close a session never opened", OPTEE_CALL_WITH_ARG, header(pages(1), CMD_CLOSE_SESSION, 0, session + 1000, 0),
               TEE_ERROR_BAD_PARAMS);

    /* The RPC-argument forms: the inline RPC argument must be the guest's RAM too; a cookie must be its own. */
    int rpc_arg = (caps & SEC_CAP_RPC_ARG) != 0;
    header(ram_end - 32, CMD_INVOKE, ECHO_NULL, session, 0);
    expect("CALL_WITH_RPC_ARG, the RPC argument past the end of RAM", call_at(OPTEE_CALL_WITH_RPC_ARG, ram_end - 32),
           rpc_arg ? RETURN_EBADADDR : NOT_SUPPORTED);
    expect("CALL_WITH_RPC_ARG at PL011", call_at(OPTEE_CALL_WITH_RPC_ARG, PL011_BASE), rpc_arg ? RETURN_EBADADDR : NOT_SUPPORTED);
    expect("CALL_WITH_REGD_ARG with a bogus cookie", tee(OPTEE_CALL_WITH_REGD_ARG, 0xdead, 0xbeef, 0, 0, 0).x0,
           rpc_arg ? RETURN_EBADADDR : NOT_SUPPORTED);
}

/* Temporary memory references: page lists that point where the guest has no RAM, loop, are truncated or too big. */
static void page_lists(u32 session)
{
    const u64 t = ATTR_TMEM_INPUT | ATTR_NONCONTIG;
    u64 data = pages(1);
    u64 ok = list_of(1, data, -1, 0, 0);
    expect_tmem("tmem by physical address (no NONCONTIG)", session, ECHO_NULL, ATTR_TMEM_INPUT, data, 64, TEE_ERROR_BAD_PARAMS);
    u64 list_places[] = {0x1000, PL011_BASE, platform.gicd, ram_end, foreign, ~0xfffUL};
    for (unsigned i = 0; i < sizeof list_places / sizeof list_places[0]; i++)
        expect_tmem("the page list outside RAM, in MMIO or at another domain's machine address", session, ECHO_NULL, t,
                    list_places[i], 64, TEE_ERROR_BAD_PARAMS);
    u64 entries[] = {0, 0x1000, PL011_BASE, platform.gicd, platform.gicr, ram_end, foreign, foreign + 0x5000,
                     RAM1_BASE, data + 8, ram_base + CANARY_OFFSET - PAGE + 1};
    for (unsigned i = 0; i < sizeof entries / sizeof entries[0]; i++)
        expect_tmem("a page of the list outside RAM, in MMIO, at another domain's machine address or misaligned", session,
                    ECHO_NULL, t, list_of(3, data, 1, entries[i], 0), 3 * PAGE, TEE_ERROR_BAD_PARAMS);
    expect_tmem("size 0", session, ECHO_NULL, t, ok, 0, TEE_ERROR_BAD_PARAMS);
    expect_tmem("size 2^64-1", session, ECHO_NULL, t, ok, ~0UL, TEE_ERROR_BAD_PARAMS);
    expect_tmem("size 2^64-4096 with an offset", session, ECHO_NULL, t, ok | 0x800, ~0UL - PAGE + 1, TEE_ERROR_BAD_PARAMS);
    expect_tmem("size 2^40 (oversized)", session, ECHO_NULL, t, ok, 1UL << 40, TEE_ERROR_OUT_OF_MEM);
    expect_tmem("4097 pages (over the mediator's 4096)", session, ECHO_NULL, t, ok, 4097 * PAGE, TEE_ERROR_OUT_OF_MEM);

    /* Lists longer than one list page: truncated, misdirected, looping. */
    u64 full = list_of(LIST_ENTRIES, data, -1, 0, 0);
    expect_tmem("a truncated list (next list page 0)", session, ECHO_NULL, t, full, 600 * PAGE, TEE_ERROR_BAD_PARAMS);
    expect_tmem("the next list page at PL011", session, ECHO_NULL, t, list_of(LIST_ENTRIES, data, -1, 0, PL011_BASE), 600 * PAGE,
                TEE_ERROR_BAD_PARAMS);
    expect_tmem("the next list page at another domain's machine address", session, ECHO_NULL, t,
                list_of(LIST_ENTRIES, data, -1, 0, foreign), 600 * PAGE, TEE_ERROR_BAD_PARAMS);
    expect_tmem("the next list page misaligned", session, ECHO_NULL, t, list_of(LIST_ENTRIES, data, -1, 0, full + 8), 600 * PAGE,
                TEE_ERROR_BAD_PARAMS);
    u64 loop = list_of(LIST_ENTRIES, data, -1, 0, 0);
    ((volatile u64 *)loop)[LIST_ENTRIES] = loop;
    /* A list that comes back to itself names the guest's own page again and again: bounded by its size, it is
       a buffer like any other (the OS takes up to 1024 pages), and one past the mediator's 4096 is refused. */
    expect_tmem("a looping list of 1000 pages of the guest's own (works)", session, ECHO_NULL, t, loop, 1000 * PAGE, TEE_SUCCESS);
    expect_tmem("a looping list of 5000 pages", session, ECHO_NULL, t, loop, 5000 * PAGE, TEE_ERROR_OUT_OF_MEM);
    u64 bad_loop = list_of(LIST_ENTRIES, data, 300, PL011_BASE, 0);
    ((volatile u64 *)bad_loop)[LIST_ENTRIES] = bad_loop;
    expect_tmem("a looping list with PL011 in it", session, ECHO_NULL, t, bad_loop, 4000 * PAGE, TEE_ERROR_BAD_PARAMS);

    /* Attributes no parameter has, and registered memory by a cookie the guest never registered. */
    u64 bad_attrs[] = {0x4, 0x8, 0xc, 0xff, ATTR_META | 0xd};
    for (unsigned i = 0; i < sizeof bad_attrs / sizeof bad_attrs[0]; i++)
        expect_tmem("an unknown parameter type", session, ECHO_NULL, bad_attrs[i], data, 64, TEE_ERROR_BAD_PARAMS);
    struct msg_arg *a = header(pages(1), CMD_INVOKE, ECHO_NULL, session, 1);
    a->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, 64, 0xdead0000beefUL };
    expect_ret("rmem with a cookie never registered", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);

    /* Overlapping buffers are the guest's business: the echo copies 128 bytes from the page's start to 64 bytes in. */
    volatile unsigned char *bytes = (volatile unsigned char *)data;
    for (int i = 0; i < 256; i++) bytes[i] = (unsigned char)(i ^ 0x5a);
    a = header(pages(1), CMD_INVOKE, ECHO_MEMREF, session, 2);
    a->params[0] = (struct msg_param){ ATTR_TMEM_INPUT | ATTR_NONCONTIG, ok, 128, 0 };
    a->params[1] = (struct msg_param){ ATTR_TMEM_OUTPUT | ATTR_NONCONTIG, list_of(1, data, -1, 0, 0) | 64, 128, 0 };
    expect_ret("overlapping input and output buffers (work)", OPTEE_CALL_WITH_ARG, a, TEE_SUCCESS);
    u64 wrong = 0;
    for (int i = 0; i < 128; i++) wrong += bytes[64 + i] != (unsigned char)(i ^ 0x5a);
    for (int i = 0; i < 64; i++) wrong += bytes[i] != (unsigned char)(i ^ 0x5a);
    expect("overlapping buffers: the bytes the echo moved", wrong, 0);
}

/* REGISTER_SHM and UNREGISTER_SHM with bogus, duplicate and stale cookies. */
static void shared_memory(u64 pass)
{
    u64 data = pages(2);
    u64 list = list_of(2, data, -1, 0, 0);
    ((volatile u64 *)list)[1] = data + PAGE;
    u64 c1 = 0xC00C1E0000000000UL | pass << 8 | 1, c2 = c1 + 1;
    struct msg_arg *a = header(pages(1), CMD_REGISTER_SHM, 0, 0, 2);
    a->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, c1 };
    a->params[1] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, c2 };
    expect_ret("REGISTER_SHM with two parameters", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);
    a = header(pages(1), CMD_REGISTER_SHM, 0, 0, 1);
    a->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list_of(2, data, 1, PL011_BASE, 0), 2 * PAGE, c1 };
    expect_ret("REGISTER_SHM of a list with PL011 in it", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);
    a = header(pages(1), CMD_REGISTER_SHM, 0, 0, 1);
    a->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, PAGE, c1 };
    expect_ret("REGISTER_SHM of registered memory never registered", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);

    struct msg_arg *reg = header(pages(1), CMD_REGISTER_SHM, 0, 0, 1);
    reg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, c1 };
    expect_ret("REGISTER_SHM (works)", OPTEE_CALL_WITH_ARG, reg, TEE_SUCCESS);
    reg = header((u64)reg, CMD_REGISTER_SHM, 0, 0, 1);
    reg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, c1 };
    expect_ret("REGISTER_SHM again under the same cookie", OPTEE_CALL_WITH_ARG, reg, TEE_ERROR_BAD_PARAMS);
    reg = header((u64)reg, CMD_REGISTER_SHM, 0, 0, 1);
    reg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, c2 };
    expect_ret("REGISTER_SHM of the same pages under another cookie (works)", OPTEE_CALL_WITH_ARG, reg, TEE_SUCCESS);

    u64 cookies[] = {0, 0xbad, c1 ^ (1UL << 63), c2 + 1};
    for (unsigned i = 0; i < sizeof cookies / sizeof cookies[0]; i++) {
        a = header(pages(1), CMD_UNREGISTER_SHM, 0, 0, 1);
        a->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, 0, cookies[i] };
        expect_ret("UNREGISTER_SHM of a bogus cookie", OPTEE_CALL_WITH_ARG, a, TEE_ERROR_BAD_PARAMS);
    }
    for (int round = 0; round < 2; round++)
        for (u64 c = c1; c <= c2; c++) {
            a = header(pages(1), CMD_UNREGISTER_SHM, 0, 0, 1);
            a->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, 0, c };
            expect_ret(round ? "UNREGISTER_SHM again (stale cookie)" : "UNREGISTER_SHM (works)", OPTEE_CALL_WITH_ARG, a,
                       round ? TEE_ERROR_BAD_PARAMS : TEE_SUCCESS);
        }
    if (caps & SEC_CAP_RPC_ARG)
        expect("CALL_WITH_REGD_ARG with an unregistered cookie", tee(OPTEE_CALL_WITH_REGD_ARG, c1 >> 32, c1 & 0xffffffffUL, 0, 0, 0).x0,
               RETURN_EBADADDR);
}

/* How the guest answers the echo TA's request for shared memory. */
enum answer { ANSWER_PAGES, ANSWER_NO_MEMORY, ANSWER_WRONG_COUNT, ANSWER_MMIO };

/* An echo RPC round trip: its argument (and the inline RPC argument after it) and the buffer it works on. */
struct rpc_call {
    struct msg_arg *arg;
    u64 data, list;
    u32 thread;
};

static struct smccc_result start_rpc_call(struct rpc_call *c, u32 session)
{
    c->arg = header(pages(1), CMD_INVOKE, ECHO_RPC, session, 1);
    c->data = pages(1);
    c->list = list_of(1, c->data, -1, 0, 0);
    for (int i = 0; i < 256; i++) ((volatile unsigned char *)c->data)[i] = (unsigned char)i;
    c->arg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, c->list, 256, 0 };
    struct smccc_result r = tee(OPTEE_CALL_WITH_RPC_ARG, 0, (u64)c->arg, 0, 0, 0);
    c->thread = (u32)r.x3;
    return r;
}

/* Answers the RPCs of a call (SHM_ALLOC as `how` says, SHM_FREE and anything else with success) until it completes. */
static u64 drive(struct rpc_call *c, struct smccc_result r, enum answer how)
{
    struct msg_arg *rpc = (struct msg_arg *)((u64)c->arg + ARG_SIZE(c->arg->num_params));
    for (int rounds = 0; r.x0 == RETURN_RPC_CMD || r.x0 == RETURN_RPC_ALLOC; rounds++) {
        if (rounds == 8) fail("teehostile: a call keeps asking for RPCs");
        if (r.x0 == RETURN_RPC_ALLOC) {
            r = tee(OPTEE_RETURN_FROM_RPC, 0, 0, r.x3, 0, 0); /* no buffer: allocation failed */
            continue;
        }
        rpc->ret = TEE_SUCCESS;
        rpc->ret_origin = 0;
        if (rpc->cmd == RPC_CMD_SHM_ALLOC) {
            u64 size = rpc->params[0].b;
            switch (how) {
            case ANSWER_PAGES:
                rpc->params[0] = (struct msg_param){ ATTR_TMEM_OUTPUT | ATTR_NONCONTIG, list_of(1, pages(1), -1, 0, 0), size, 0x5A110C };
                break;
            case ANSWER_NO_MEMORY:
                rpc->ret = TEE_ERROR_OUT_OF_MEM;
                break;
            case ANSWER_WRONG_COUNT:
                rpc->num_params = 3;
                break;
            case ANSWER_MMIO:
                rpc->params[0] = (struct msg_param){ ATTR_TMEM_OUTPUT | ATTR_NONCONTIG, list_of(1, PL011_BASE, -1, 0, 0), size, 0x5A110D };
                break;
            }
        }
        r = tee(OPTEE_RETURN_FROM_RPC, r.x1, r.x2, r.x3, 0, 0);
    }
    return r.x0;
}

/* CALL_WITH_REGD_ARG: the argument at an offset in registered shared memory, which must hold it and the inline
   RPC argument after it; a buffer that holds the argument of a call waiting at an RPC cannot be unregistered. */
static void registered_arguments(u32 session, u64 pass)
{
    if (!(caps & SEC_CAP_RPC_ARG)) return;
    u64 data = pages(2);
    u64 list = list_of(2, data, -1, 0, 0);
    ((volatile u64 *)list)[1] = data + PAGE;
    u64 cookie = 0xA4600000000000UL | pass;
    struct msg_arg *reg = header(pages(1), CMD_REGISTER_SHM, 0, 0, 1);
    reg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list, 2 * PAGE, cookie };
    expect_ret("REGISTER_SHM for arguments (works)", OPTEE_CALL_WITH_ARG, reg, TEE_SUCCESS);
    u64 hi = cookie >> 32, lo = cookie & 0xffffffffUL;
    static const struct { u64 offset; const char *what; } outside[] = {
        {2 * PAGE - 16, "CALL_WITH_REGD_ARG, the header across the buffer's end"},
        {2 * PAGE - 32, "CALL_WITH_REGD_ARG, the RPC argument past the buffer's end"},
        {4, "CALL_WITH_REGD_ARG, a misaligned offset"},
        {0xfffffff8, "CALL_WITH_REGD_ARG, an offset far past the buffer"},
    };
    header(data + 2 * PAGE - 32, CMD_INVOKE, ECHO_NULL, session, 0);
    for (unsigned i = 0; i < sizeof outside / sizeof outside[0]; i++)
        expect(outside[i].what, tee(OPTEE_CALL_WITH_REGD_ARG, hi, lo, outside[i].offset, 0, 0).x0, RETURN_EBADADDR);
    struct msg_arg *a = header(data + PAGE - 32, CMD_INVOKE, ECHO_NULL, session, 0);
    u64 status = tee(OPTEE_CALL_WITH_REGD_ARG, hi, lo, PAGE - 32, 0, 0).x0;
    expect("CALL_WITH_REGD_ARG across the buffer's two pages (works)", status == RETURN_OK ? a->ret : status, TEE_SUCCESS);

    struct rpc_call c = {header(data, CMD_INVOKE, ECHO_RPC, session, 1), pages(1), 0, 0};
    c.list = list_of(1, c.data, -1, 0, 0);
    c.arg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, c.list, 256, 0 };
    struct smccc_result r = tee(OPTEE_CALL_WITH_REGD_ARG, hi, lo, 0, 0, 0);
    expect("CALL_WITH_REGD_ARG of an RPC round trip waits at its RPC", r.x0, RETURN_RPC_CMD);
    struct msg_arg *un = header(pages(1), CMD_UNREGISTER_SHM, 0, 0, 1);
    un->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, 0, cookie };
    expect_ret("UNREGISTER_SHM of the buffer a waiting call's argument is in", OPTEE_CALL_WITH_ARG, un, TEE_ERROR_BUSY);
    status = drive(&c, r, ANSWER_NO_MEMORY);
    expect("the waiting call, answered, completes", status == RETURN_OK ? c.arg->ret : status, TEE_ERROR_OUT_OF_MEM);
    un = header(pages(1), CMD_UNREGISTER_SHM, 0, 0, 1);
    un->params[0] = (struct msg_param){ ATTR_RMEM_INPUT, 0, 0, cookie };
    expect_ret("UNREGISTER_SHM once the call is over (works)", OPTEE_CALL_WITH_ARG, un, TEE_SUCCESS);
}

static void rpcs(u32 session)
{
    for (u64 thread = 0; thread < 3; thread++)
        expect("RETURN_FROM_RPC with no call waiting", tee(OPTEE_RETURN_FROM_RPC, 0, 0, thread * 7, 0, 0).x0, RETURN_ERESUME);
    expect("RETURN_FROM_RPC, thread 0xffffffff", tee(OPTEE_RETURN_FROM_RPC, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0).x0,
           RETURN_ERESUME);
    if (!(caps & SEC_CAP_RPC_ARG)) {
        say("teehostile: no inline RPC argument offered; RPC cases skipped\n");
        return;
    }
    /* A well-formed round trip: the TA writes to the guest's buffer through the RPC, then inverts its own. */
    struct rpc_call c;
    struct smccc_result r = start_rpc_call(&c, session);
    expect("an RPC round trip asks for shared memory", r.x0, RETURN_RPC_CMD);
    u64 status = drive(&c, r, ANSWER_PAGES);
    expect("an RPC round trip completes", status, RETURN_OK);
    expect("an RPC round trip's result", c.arg->ret, TEE_SUCCESS);
    u64 wrong = 0;
    for (int i = 0; i < 256; i++) wrong += ((volatile unsigned char *)c.data)[i] != (unsigned char)~i;
    expect("an RPC round trip's data", wrong, 0);
    expect("RETURN_FROM_RPC with the finished call's (stale) thread", tee(OPTEE_RETURN_FROM_RPC, 0, 0, c.thread, 0, 0).x0,
           RETURN_ERESUME);

    /* Hostile answers: a wrong parameter count, shared memory at PL011, no memory. */
    static const struct { enum answer how; u32 want; const char *what; } answers[] = {
        {ANSWER_WRONG_COUNT, TEE_ERROR_BAD_PARAMS, "an RPC answer with another parameter count"},
        {ANSWER_MMIO, TEE_ERROR_OUT_OF_MEM, "an RPC answer of shared memory at PL011"},
        {ANSWER_NO_MEMORY, TEE_ERROR_OUT_OF_MEM, "an RPC answer of no memory"},
    };
    for (unsigned i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        r = start_rpc_call(&c, session);
        status = drive(&c, r, answers[i].how);
        if (status != RETURN_OK) expect(answers[i].what, status, RETURN_OK);
        else expect(answers[i].what, c.arg->ret, answers[i].want);
    }

    /* Every thread waiting at an RPC: the next call gets ETHREAD_LIMIT, the shm cache cannot be turned off. A
       session runs one command at a time, so each call has its own. */
    struct rpc_call waiting[16];
    u32 sessions[17];
    u64 count = tee(OPTEE_GET_THREAD_COUNT, 0, 0, 0, 0, 0).x1; /* at most 16, the mediator's calls in flight */
    if (count > 16) count = 16;
    for (u64 i = 0; i <= count; i++) sessions[i] = open_echo(pages(1));
    for (u64 i = 0; i < count; i++) {
        r = start_rpc_call(&waiting[i], sessions[i]);
        expect("a call waits at an RPC", r.x0, RETURN_RPC_CMD);
    }
    struct rpc_call extra;
    expect("one call more than there are threads", start_rpc_call(&extra, sessions[count]).x0, RETURN_ETHREAD_LIMIT);
    expect("DISABLE_SHM_CACHE while calls wait", tee(OPTEE_DISABLE_SHM_CACHE, 0, 0, 0, 0, 0).x0, RETURN_EBUSY);
    expect("RETURN_FROM_RPC, a thread that does not exist", tee(OPTEE_RETURN_FROM_RPC, 0, 0, 1000, 0, 0).x0, RETURN_ERESUME);
    for (u64 i = 0; i < count; i++) {
        struct smccc_result resume = {RETURN_RPC_CMD, 0, 0, waiting[i].thread};
        status = drive(&waiting[i], resume, ANSWER_NO_MEMORY);
        if (status != RETURN_OK) expect("a waiting call, answered, completes", status, RETURN_OK);
        else expect("a waiting call, answered, completes", waiting[i].arg->ret, TEE_ERROR_OUT_OF_MEM);
    }
    for (u64 i = 0; i <= count; i++) close_session(pages(1), sessions[i]);
}

void specific_cases(void)
{
    for (use_hvc = 0; use_hvc < 2; use_hvc++) {
        arena_next = ram_base + ARENA_OFFSET;
        u64 before = failures, first = checks;
        fast_calls();
        u32 session = open_echo(pages(1));
        argument_addresses(session);
        page_lists(session);
        shared_memory((u64)use_hvc);
        rpcs(session);
        registered_arguments(session, (u64)use_hvc);
        close_session(pages(1), session);
        say("teehostile: %s: %lu checks, %lu failed\n", use_hvc ? "hvc" : "smc", checks - first, failures - before);
    }
    use_hvc = 0;
}

void well_behaved(void)
{
    arena_next = ram_base + ARENA_OFFSET;
    u64 before = failures;
    u32 session = open_echo(pages(1));
    struct msg_arg *a = header(pages(1), CMD_INVOKE, ECHO_VALUE, session, 2);
    a->params[0] = (struct msg_param){ ATTR_VALUE_INPUT, 7, 9, 0 };
    a->params[1] = (struct msg_param){ ATTR_VALUE_OUTPUT, 0, 0, 0 };
    expect_ret("after the random calls: a value echo", OPTEE_CALL_WITH_ARG, a, TEE_SUCCESS);
    expect("after the random calls: a value echo's values", a->params[1].a << 32 | a->params[1].b, 9UL << 32 | 7);
    if (caps & SEC_CAP_RPC_ARG) {
        struct rpc_call c;
        u64 status = drive(&c, start_rpc_call(&c, session), ANSWER_PAGES);
        expect("after the random calls: an RPC round trip", status == RETURN_OK ? c.arg->ret : (u32)status, TEE_SUCCESS);
    }
    close_session(pages(1), session);
    say("teehostile: after the random calls, a well-behaved client: %s\n", failures == before ? "ok" : "FAILED");
}

void leave_state_behind(void)
{
    arena_next = ram_base + ARENA_OFFSET;
    u32 session = open_echo(pages(1));
    u64 data = pages(1);
    struct msg_arg *reg = header(pages(1), CMD_REGISTER_SHM, 0, 0, 1);
    reg->params[0] = (struct msg_param){ ATTR_TMEM_INOUT | ATTR_NONCONTIG, list_of(1, data, -1, 0, 0), PAGE, 0x1EF7BE41D };
    expect_ret("left behind: a registered buffer", OPTEE_CALL_WITH_ARG, reg, TEE_SUCCESS);
    if (caps & SEC_CAP_RPC_ARG) {
        struct rpc_call c;
        expect("left behind: a call waiting at an RPC", start_rpc_call(&c, session).x0, RETURN_RPC_CMD);
    }
    say("teehostile: left behind for the domain's destruction: session %u, a registered buffer, a call at an RPC\n", session);
}
