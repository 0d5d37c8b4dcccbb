/* Device-tree lookup, console and helpers of the system guests (sys.h). */
#include <stdarg.h>
#include "sys.h"

struct platform platform;
void (*exception_hook)(struct frame *f, u64 vector);
void (*secondary_hook)(void);

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

#define UART_DR  0x000
#define UART_FR  0x018
#define FR_TXFF  (1u << 5)

/* The tree is big-endian and, at the RAM base with the MMU off, Device memory: read it a byte at a time. */
static u32 be32(const unsigned char *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u64 be64(const unsigned char *p)
{
    return (u64)be32(p) << 32 | be32(p + 4);
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static unsigned long str_len(const char *s)
{
    unsigned long n = 0;
    while (s[n]) n++;
    return n;
}

/* A compatible property is a list of NUL-terminated strings. */
static int has_compatible(const char *list, u32 len, const char *want)
{
    u32 i = 0;
    while (i < len) {
        if (str_eq(list + i, want)) return 1;
        i += str_len(list + i) + 1;
    }
    return 0;
}

/* Both machines describe their devices under a root with #address-cells = #size-cells = 2, so every reg
   entry is an (address, size) pair of 64-bit numbers. Only direct children of the root are considered. */
static void find_devices(const unsigned char *fdt)
{
    if (be32(fdt) != FDT_MAGIC) fail("no device tree");
    const unsigned char *p = fdt + be32(fdt + 8);
    const char *strings = (const char *)fdt + be32(fdt + 12);
    int depth = 0;
    const unsigned char *reg = 0;
    u32 reg_len = 0;
    int kind = 0; /* 1 pl011, 2 gic-v3, 3 memory */
    for (;;) {
        u32 token = be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            while (*p) p++;
            p = (const unsigned char *)(((u64)p + 4) & ~3UL);
            depth++;
            if (depth == 2) reg = 0, kind = 0;
        } else if (token == FDT_END_NODE) {
            if (depth == 2 && reg) {
                if (kind == 1 && !platform.uart) platform.uart = be64(reg);
                if (kind == 2 && reg_len >= 32) platform.gicd = be64(reg), platform.gicr = be64(reg + 16);
                if (kind == 3 && reg_len >= 16 && !platform.ram_size) platform.ram_base = be64(reg), platform.ram_size = be64(reg + 8);
            }
            depth--;
        } else if (token == FDT_PROP) {
            u32 len = be32(p);
            const char *name = strings + be32(p + 4);
            const unsigned char *value = p + 8;
            if (depth == 2 && str_eq(name, "reg")) reg = value, reg_len = len;
            if (depth == 2 && str_eq(name, "compatible")) {
                if (has_compatible((const char *)value, len, "arm,pl011")) kind = 1;
                if (has_compatible((const char *)value, len, "arm,gic-v3")) kind = 2;
            }
            if (depth == 2 && str_eq(name, "device_type") && has_compatible((const char *)value, len, "memory")) kind = 3;
            p = value + ((len + 3) & ~3u);
        } else if (token == FDT_END) {
            break;
        } else if (token != FDT_NOP) {
            break;
        }
    }
}

static void put_char(char c)
{
    if (!platform.uart) return;
    while (mmio_read32(platform.uart + UART_FR) & FR_TXFF)
        ;
    mmio_write32(platform.uart + UART_DR, (unsigned char)c);
}

static void put_unsigned(u64 v, unsigned base, int width)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = v % base;
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n < width) buf[n++] = '0';
    while (n) put_char(buf[--n]);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n') put_char('\r');
            put_char(*fmt);
            continue;
        }
        int width = 0, plus = 0;
        if (fmt[1] == '+') plus = 1, fmt++;
        while (fmt[1] >= '0' && fmt[1] <= '9') width = width * 10 + (*++fmt - '0');
        if (fmt[1] == 'l') fmt++;
        switch (*++fmt) {
        case 's': for (const char *s = va_arg(ap, const char *); *s; s++) put_char(*s); break;
        case 'd': {
            long v = va_arg(ap, long);
            if (v < 0) put_char('-'), v = -v;
            else if (plus) put_char('+');
            put_unsigned((u64)v, 10, width);
            break;
        }
        case 'u': put_unsigned(va_arg(ap, u64), 10, width); break;
        case 'x': put_unsigned(va_arg(ap, u64), 16, width); break;
        default: put_char(*fmt); break;
        }
    }
    va_end(ap);
}

void fail(const char *what)
{
    say("FAIL %s\n", what);
    hvc_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;) __asm__ volatile("wfi");
}

/* The command line: /chosen/bootargs of the tree the guest was entered with, or "" without one. */
const char *bootargs(void)
{
    const unsigned char *fdt = (const unsigned char *)platform.fdt;
    if (!fdt || be32(fdt) != FDT_MAGIC) return "";
    const unsigned char *p = fdt + be32(fdt + 8);
    const char *strings = (const char *)fdt + be32(fdt + 12);
    int depth = 0, chosen = 0;
    for (;;) {
        u32 token = be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            while (*p) p++;
            p = (const unsigned char *)(((u64)p + 4) & ~3UL);
            depth++;
            if (depth == 2) chosen = str_eq(name, "chosen");
        } else if (token == FDT_END_NODE) {
            depth--;
        } else if (token == FDT_PROP) {
            u32 len = be32(p);
            const char *name = strings + be32(p + 4);
            if (depth == 2 && chosen && str_eq(name, "bootargs")) return (const char *)(p + 8);
            p += 8 + ((len + 3) & ~3u);
        } else if (token != FDT_NOP) {
            return "";
        }
    }
}

u64 argument(const char *args, const char *key, u64 otherwise)
{
    for (const char *s = args; *s; s++) {
        if (s != args && s[-1] != ' ') continue;
        const char *k = key, *v = s;
        while (*k && *v == *k) k++, v++;
        if (*k || *v != '=') continue;
        v++;
        u64 n = 0, base = 10;
        if (v[0] == '0' && v[1] == 'x') base = 16, v += 2;
        for (;; v++) {
            u64 d;
            if (*v >= '0' && *v <= '9') d = *v - '0';
            else if (base == 16 && *v >= 'a' && *v <= 'f') d = *v - 'a' + 10;
            else break;
            n = n * base + d;
        }
        return n;
    }
    return otherwise;
}

u64 hvc_call(u64 fid, u64 a1, u64 a2, u64 a3)
{
    register u64 x0 __asm__("x0") = fid;
    register u64 x1 __asm__("x1") = a1;
    register u64 x2 __asm__("x2") = a2;
    register u64 x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return x0;
}

void sys_exception(struct frame *f, u64 vector)
{
    if (exception_hook) {
        exception_hook(f, vector);
        return;
    }
    say("unexpected exception: vector %lu EC 0x%lx ISS 0x%lx\n", vector, EC(f->esr), ISS(f->esr));
    fail("unexpected exception");
}

void sys_boot(u64 fdt)
{
    platform.fdt = fdt;
    find_devices((const unsigned char *)fdt);
    if (!platform.uart) fail("no arm,pl011 in the device tree");
    say("start\n");
    int status = main();
    say("end %ld\n", (long)status);
}

void secondary_main(void)
{
    if (secondary_hook) secondary_hook();
    hvc_call(PSCI_CPU_OFF, 0, 0, 0);
    fail("CPU_OFF returned");
}
