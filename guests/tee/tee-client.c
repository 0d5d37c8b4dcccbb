/* tee-client: a TEE client application for the modelled OP-TEE (src/SecureWorld), talking to /dev/tee0 through
   the TEE subsystem's ioctls (<linux/tee.h>) directly: Debian ships no static libteec, and the busybox initramfs
   has no dynamic loader. Static, built by guests/Makefile; put into an initramfs with build.sh --add.

     tee-client echo                 echo TA: a value echo and a memref echo, printed
     tee-client decrypt KEYID IV HEX content-decryption TA: AES-128-CTR of HEX under key KEYID from IV (32 hex
                                     digits); prints `plain HEX`
     tee-client drm FRAMES [paced]   plays FRAMES frames of a 30 fps stream as a DRM player does: per frame one
                                     video sample (36–44 KiB) and three audio samples (about 1 KiB), each
                                     decrypted by one invoke; prints `bench drm ...` (see drm() below); `paced`
                                     waits for each frame's 33.3 ms slot, as a player does
     tee-client null N               N invokes of the echo TA's null command; prints `bench null ...`
     tee-client steal SESSION SHMID  uses a session ID and a shared-memory ID that are not this process's (another
                                     domain's, printed by its `drm`): each must fail; exit 0 when both did

   The stream's content is made here, so the host can compute the same (tests, jit bench): sample s (counted
   from 0 over the whole stream, video first in each frame) has length sample_length(s) and bytes from the LCG
   x(0) = (s + 1) * 0x9E3779B97F4A7C15, x(i+1) = x(i) * 6364136223846793005 + 1442695040888963407, byte i =
   x(i+1) >> 56; its IV is the big-endian s in bytes 0–7 and zeros in 8–15; key 1. The checksum is FNV-1a 64
   over every decrypted byte in stream order. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/tee.h>

#define ECHO_UUID    "1ca132ce-98f6-4c60-8132-33281bc6e3f6"
#define DECRYPT_UUID "ccf7b025-e55c-4090-a497-468515a16c91"

#define ECHO_CMD_NULL         0
#define ECHO_CMD_ECHO_VALUE   1
#define ECHO_CMD_ECHO_MEMREF  2
#define ECHO_CMD_REVERSE      3
#define DECRYPT_CMD_DECRYPT   0

#define STREAM_KEY       1
#define AUDIO_PER_FRAME  3
#define SAMPLES_PER_FRAME (1 + AUDIO_PER_FRAME)
#define MAX_SAMPLE       (48 * 1024)
#define FRAME_NS         33333333LL /* 30 fps */

/* An invoke or open-session argument with room for four parameters, as TEE_IOC_INVOKE takes it in one buffer. */
struct invoke {
    struct tee_ioctl_invoke_arg arg;
    struct tee_ioctl_param params[4];
};
struct open {
    struct tee_ioctl_open_session_arg arg;
    struct tee_ioctl_param params[4];
};

/* A buffer of TEE shared memory: TEE_IOC_SHM_ALLOC gives an ID and an fd to map it through. */
struct shm {
    int id;
    size_t size;
    uint8_t *data;
};

static int tee_fd = -1;

static void die(const char *what)
{
    fprintf(stderr, "tee-client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void tee_open(void)
{
    tee_fd = open("/dev/tee0", O_RDWR);
    if (tee_fd < 0) die("/dev/tee0");
    struct tee_ioctl_version_data v;
    if (ioctl(tee_fd, TEE_IOC_VERSION, &v) < 0) die("TEE_IOC_VERSION");
    /* TEE_IMPL_ID_OPTEE is 1; the driver must say it can register user memory (TEE_GEN_CAP_REG_MEM, bit 2). */
    if (v.impl_id != 1) { fprintf(stderr, "tee-client: /dev/tee0 is not OP-TEE (impl_id %u)\n", v.impl_id); exit(1); }
}

static void uuid_parse(const char *text, uint8_t out[16])
{
    int n = 0;
    for (const char *p = text; *p && n < 32; p++) {
        if (*p == '-') continue;
        unsigned d;
        if (sscanf(p, "%1x", &d) != 1) break;
        if (n % 2 == 0) out[n / 2] = (uint8_t)(d << 4); else out[n / 2] |= (uint8_t)d;
        n++;
    }
}

static struct shm shm_alloc(size_t size)
{
    struct tee_ioctl_shm_alloc_data a = { .size = size };
    int fd = ioctl(tee_fd, TEE_IOC_SHM_ALLOC, &a);
    if (fd < 0) die("TEE_IOC_SHM_ALLOC");
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap of TEE shared memory");
    close(fd);
    return (struct shm){ .id = a.id, .size = size, .data = p };
}

/* Opens a session with up to one value-input parameter (value_a, used when has_value); returns the session ID. */
static uint32_t open_session(const char *uuid, int has_value, uint64_t value_a)
{
    struct open o;
    memset(&o, 0, sizeof o);
    uuid_parse(uuid, o.arg.uuid);
    o.arg.clnt_login = TEE_IOCTL_LOGIN_PUBLIC;
    o.arg.num_params = 4;
    if (has_value) {
        o.params[0].attr = TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INPUT;
        o.params[0].a = value_a;
    }
    struct tee_ioctl_buf_data buf = { .buf_ptr = (uintptr_t)&o, .buf_len = sizeof o };
    if (ioctl(tee_fd, TEE_IOC_OPEN_SESSION, &buf) < 0) die("TEE_IOC_OPEN_SESSION");
    if (o.arg.ret != 0) {
        fprintf(stderr, "tee-client: open session to %s: TEE result 0x%08x origin %u\n", uuid, o.arg.ret, o.arg.ret_origin);
        exit(1);
    }
    return o.arg.session;
}

static void close_session(uint32_t session)
{
    struct tee_ioctl_close_session_arg c = { .session = session };
    if (ioctl(tee_fd, TEE_IOC_CLOSE_SESSION, &c) < 0) die("TEE_IOC_CLOSE_SESSION");
}

static void invoke_init(struct invoke *iv, uint32_t session, uint32_t func)
{
    memset(iv, 0, sizeof *iv);
    iv->arg.session = session;
    iv->arg.func = func;
    iv->arg.num_params = 4;
}

static void memref(struct tee_ioctl_param *p, uint64_t type, const struct shm *s, uint64_t offset, uint64_t size)
{
    p->attr = type;
    p->a = offset;
    p->b = size;
    p->c = (uint64_t)s->id;
}

/* TEE_IOC_INVOKE; returns the ioctl's result (0, or -1 with errno); the TEE's in iv->arg.ret. */
static int invoke(struct invoke *iv)
{
    struct tee_ioctl_buf_data buf = { .buf_ptr = (uintptr_t)iv, .buf_len = sizeof *iv };
    return ioctl(tee_fd, TEE_IOC_INVOKE, &buf);
}

static void invoke_ok(struct invoke *iv, const char *what)
{
    if (invoke(iv) < 0) die(what);
    if (iv->arg.ret != 0) {
        fprintf(stderr, "tee-client: %s: TEE result 0x%08x origin %u\n", what, iv->arg.ret, iv->arg.ret_origin);
        exit(1);
    }
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static int cmd_echo(void)
{
    tee_open();
    uint32_t session = open_session(ECHO_UUID, 0, 0);
    printf("echo session=%u\n", session);

    struct invoke iv;
    invoke_init(&iv, session, ECHO_CMD_ECHO_VALUE);
    iv.params[0].attr = TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INPUT;
    iv.params[0].a = 0x1234;
    iv.params[0].b = 0xabcdef;
    iv.params[1].attr = TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_OUTPUT;
    invoke_ok(&iv, "echo value");
    printf("echo value a=0x%llx b=0x%llx\n", (unsigned long long)iv.params[1].a, (unsigned long long)iv.params[1].b);

    const char *text = "jit-tee-echo-memref";
    size_t n = strlen(text);
    struct shm in = shm_alloc(4096), out = shm_alloc(4096);
    memcpy(in.data, text, n);
    memset(out.data, 0, out.size);
    invoke_init(&iv, session, ECHO_CMD_ECHO_MEMREF);
    memref(&iv.params[0], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT, &in, 0, n);
    memref(&iv.params[1], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_OUTPUT, &out, 0, out.size);
    invoke_ok(&iv, "echo memref");
    printf("echo memref size=%llu text=%.*s\n", (unsigned long long)iv.params[1].b, (int)iv.params[1].b, (char *)out.data);

    invoke_init(&iv, session, ECHO_CMD_NULL);
    invoke_ok(&iv, "echo null");
    printf("echo null ok\n");
    close_session(session);
    printf("echo done\n");
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t hex_parse(const char *text, uint8_t *out, size_t room, const char *what)
{
    size_t len = strlen(text);
    if (len % 2 || len / 2 > room) { fprintf(stderr, "tee-client: %s: an even number of hex digits, at most %zu bytes\n", what, room); exit(2); }
    for (size_t i = 0; i < len / 2; i++) {
        int h = hex_digit(text[2 * i]), l = hex_digit(text[2 * i + 1]);
        if (h < 0 || l < 0) { fprintf(stderr, "tee-client: %s: not hex\n", what); exit(2); }
        out[i] = (uint8_t)(h << 4 | l);
    }
    return len / 2;
}

static int cmd_decrypt(const char *key, const char *iv_hex, const char *data_hex)
{
    uint8_t iv_bytes[16];
    if (hex_parse(iv_hex, iv_bytes, 16, "IV") != 16) { fprintf(stderr, "tee-client: IV: 32 hex digits\n"); return 2; }
    tee_open();
    struct shm in = shm_alloc(MAX_SAMPLE), out = shm_alloc(MAX_SAMPLE), ivs = shm_alloc(4096);
    size_t n = hex_parse(data_hex, in.data, in.size, "HEX");
    memcpy(ivs.data, iv_bytes, 16);
    uint32_t session = open_session(DECRYPT_UUID, 1, strtoul(key, NULL, 0));
    struct invoke iv;
    invoke_init(&iv, session, DECRYPT_CMD_DECRYPT);
    memref(&iv.params[0], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT, &in, 0, n);
    memref(&iv.params[1], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_OUTPUT, &out, 0, out.size);
    memref(&iv.params[2], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT, &ivs, 0, 16);
    invoke_ok(&iv, "decrypt");
    printf("plain ");
    print_hex(out.data, iv.params[1].b);
    printf("\n");
    close_session(session);
    return 0;
}

/* ---- the stream ---- */

static size_t sample_length(uint64_t s)
{
    if (s % SAMPLES_PER_FRAME == 0) return 36 * 1024 + (size_t)((s * 2654435761u) % (8 * 1024)); /* video */
    return 960 + (size_t)((s * 40503u) % 128);                                                    /* audio */
}

static void sample_content(uint64_t s, uint8_t *p, size_t n)
{
    uint64_t x = (s + 1) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(x >> 56);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* p50/p99/max of n durations in ns, printed in µs with one decimal. */
static void print_percentiles(int64_t *t, long n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_i64);
    printf(" p50us=%.1f p99us=%.1f maxus=%.1f", t[n / 2] / 1000.0, t[(n * 99) / 100] / 1000.0, t[n - 1] / 1000.0);
}

/* bench drm frames=F invokes=N p50us= p99us= maxus= videop50us= audiop50us= budget=P% checksum=HEX16: the
   percentiles over every invoke, then the median of the video and of the audio samples' invokes alone. */
static int cmd_drm(long frames, int paced)
{
    if (frames <= 0) { fprintf(stderr, "tee-client: drm: FRAMES must be positive\n"); return 2; }
    tee_open();
    struct shm in = shm_alloc(MAX_SAMPLE), out = shm_alloc(MAX_SAMPLE), ivs = shm_alloc(4096);
    uint32_t session = open_session(DECRYPT_UUID, 1, STREAM_KEY);
    /* What another domain's `steal` is given. */
    printf("drm session=%u shm=%d frames=%ld\n", session, in.id, frames);
    fflush(stdout);

    long n = frames * SAMPLES_PER_FRAME;
    int64_t *times = malloc((size_t)n * sizeof *times), *video = malloc((size_t)frames * sizeof *video),
            *audio = malloc((size_t)frames * AUDIO_PER_FRAME * sizeof *audio);
    if (!times || !video || !audio) die("malloc");
    long audios = 0;
    uint64_t checksum = 0xcbf29ce484222325ULL;
    int64_t in_tee = 0, start = now_ns();
    struct invoke iv;
    for (long s = 0; s < n; s++) {
        if (paced && s % SAMPLES_PER_FRAME == 0) {
            int64_t slot = start + (s / SAMPLES_PER_FRAME) * FRAME_NS, wait = slot - now_ns();
            if (wait > 0) {
                struct timespec ts = { .tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL };
                nanosleep(&ts, NULL);
            }
        }
        size_t len = sample_length((uint64_t)s);
        sample_content((uint64_t)s, in.data, len);
        memset(ivs.data, 0, 16);
        for (int b = 0; b < 8; b++) ivs.data[b] = (uint8_t)((uint64_t)s >> (56 - 8 * b));
        invoke_init(&iv, session, DECRYPT_CMD_DECRYPT);
        memref(&iv.params[0], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT, &in, 0, len);
        memref(&iv.params[1], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_OUTPUT, &out, 0, out.size);
        memref(&iv.params[2], TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT, &ivs, 0, 16);
        int64_t t0 = now_ns();
        int r = invoke(&iv);
        int64_t t = now_ns() - t0;
        if (r < 0) die("decrypt");
        if (iv.arg.ret != 0 || iv.params[1].b != len) {
            fprintf(stderr, "tee-client: decrypt of sample %ld: TEE result 0x%08x, %llu bytes\n", s, iv.arg.ret, (unsigned long long)iv.params[1].b);
            return 1;
        }
        times[s] = t;
        if (s % SAMPLES_PER_FRAME == 0) video[s / SAMPLES_PER_FRAME] = t; else audio[audios++] = t;
        in_tee += t;
        for (size_t i = 0; i < len; i++) checksum = (checksum ^ out.data[i]) * 0x100000001b3ULL;
    }
    close_session(session);
    printf("bench drm frames=%ld invokes=%ld", frames, n);
    print_percentiles(times, n);
    qsort(video, (size_t)frames, sizeof *video, cmp_i64);
    qsort(audio, (size_t)audios, sizeof *audio, cmp_i64);
    printf(" videop50us=%.1f audiop50us=%.1f", video[frames / 2] / 1000.0, audio[audios / 2] / 1000.0);
    printf(" budget=%.2f%% checksum=%016llx\n", 100.0 * (double)in_tee / ((double)frames * FRAME_NS), (unsigned long long)checksum);
    return 0;
}

/* bench null invokes=N p50us= p99us= maxus= */
static int cmd_null(long n)
{
    if (n <= 0) { fprintf(stderr, "tee-client: null: N must be positive\n"); return 2; }
    tee_open();
    uint32_t session = open_session(ECHO_UUID, 0, 0);
    int64_t *times = malloc((size_t)n * sizeof *times);
    if (!times) die("malloc");
    struct invoke iv;
    for (long i = 0; i < n; i++) {
        invoke_init(&iv, session, ECHO_CMD_NULL);
        int64_t t0 = now_ns();
        int r = invoke(&iv);
        times[i] = now_ns() - t0;
        if (r < 0) die("null invoke");
        if (iv.arg.ret != 0) { fprintf(stderr, "tee-client: null invoke: TEE result 0x%08x\n", iv.arg.ret); return 1; }
    }
    close_session(session);
    printf("bench null invokes=%ld", n);
    print_percentiles(times, n);
    printf("\n");
    return 0;
}

/* Uses a session and a shared-memory ID this process never had: the driver must refuse both. */
static int cmd_steal(const char *session_text, const char *shm_text)
{
    uint32_t foreign_session = (uint32_t)strtoul(session_text, NULL, 0);
    int foreign_shm = (int)strtol(shm_text, NULL, 0);
    tee_open();
    int refused = 0;

    struct invoke iv;
    invoke_init(&iv, foreign_session, ECHO_CMD_NULL);
    if (invoke(&iv) < 0) { printf("steal session=%u: refused (%s)\n", foreign_session, strerror(errno)); refused++; }
    else if (iv.arg.ret != 0) { printf("steal session=%u: refused (TEE result 0x%08x)\n", foreign_session, iv.arg.ret); refused++; }
    else printf("steal session=%u: ACCEPTED\n", foreign_session);

    /* Through a session of our own, so only the memory reference can be what is refused; the process holds no
       shared memory of its own, so the ID can name nothing of it. */
    uint32_t own = open_session(ECHO_UUID, 0, 0);
    invoke_init(&iv, own, ECHO_CMD_REVERSE);
    iv.params[0].attr = TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INOUT;
    iv.params[0].b = 16;
    iv.params[0].c = (uint64_t)foreign_shm;
    if (invoke(&iv) < 0) { printf("steal shm=%d: refused (%s)\n", foreign_shm, strerror(errno)); refused++; }
    else if (iv.arg.ret != 0) { printf("steal shm=%d: refused (TEE result 0x%08x)\n", foreign_shm, iv.arg.ret); refused++; }
    else printf("steal shm=%d: ACCEPTED\n", foreign_shm);
    close_session(own);
    printf("steal refused=%d of 2\n", refused);
    return refused == 2 ? 0 : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: tee-client echo | decrypt KEYID IV HEX | drm FRAMES [paced] | null N | steal SESSION SHMID\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "echo") && argc == 2) return cmd_echo();
    if (!strcmp(cmd, "decrypt") && argc == 5) return cmd_decrypt(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "drm") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "paced")))) return cmd_drm(strtol(argv[2], NULL, 0), argc == 4);
    if (!strcmp(cmd, "null") && argc == 3) return cmd_null(strtol(argv[2], NULL, 0));
    if (!strcmp(cmd, "steal") && argc == 4) return cmd_steal(argv[2], argv[3]);
    return usage();
}
