/*
 * Integer benchmark for the interpreter: bitwise CRC-32 over a buffer and a Shell sort, a fixed amount of work,
 * then one line with checksums. The same source is built bare-metal (for `jit run --bare`) and as a static
 * Linux program (for qemu-aarch64); both must print the same line.
 *
 * No floating point, no libc beyond the console: the bare build has neither.
 */
#include "console.h"

#ifndef ROUNDS
#define ROUNDS 24
#endif
#define BUF_SIZE (64 * 1024)
#define SORT_N 4096

typedef unsigned int u32;

static unsigned char buffer[BUF_SIZE];
static u32 keys[SORT_N];
static u32 rng = 0x2545F491u;

static u32 xorshift32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* One bit at a time on purpose: a long dependent chain of shifts, ANDs and XORs, no table lookups. */
static u32 crc32(u32 crc, const unsigned char *p, unsigned long n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
    }
    return ~crc;
}

/* Ciura's gap sequence; the last pass (gap 1) is an insertion sort. */
static void shell_sort(u32 *a, int n)
{
    static const int gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            u32 v = a[i];
            int j = i;
            while (j >= gap && a[j - gap] > v) {
                a[j] = a[j - gap];
                j -= gap;
            }
            a[j] = v;
        }
    }
}

static int is_sorted(const u32 *a, int n)
{
    for (int i = 1; i < n; i++)
        if (a[i - 1] > a[i])
            return 0;
    return 1;
}

static void put(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    console_write(s, n);
}

static void put_hex(u32 v)
{
    char text[8];
    for (int i = 7; i >= 0; i--) {
        text[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    console_write(text, 8);
}

int main(void)
{
    u32 crc = 0, sorted = 0;
    int ok = 1;

    for (int i = 0; i < BUF_SIZE; i++)
        buffer[i] = (unsigned char)xorshift32();

    for (int round = 0; round < ROUNDS; round++) {
        crc = crc32(crc, buffer, BUF_SIZE);
        for (int i = 0; i < SORT_N; i++)
            keys[i] = xorshift32() ^ crc;
        shell_sort(keys, SORT_N);
        ok &= is_sorted(keys, SORT_N);
        sorted = sorted * 31u + keys[0] + keys[SORT_N / 2] + keys[SORT_N - 1];
        /* Feed the result back so no round can be computed ahead of the previous one. */
        buffer[(crc >> 8) % BUF_SIZE] ^= (unsigned char)crc;
    }

    put("crc32 ");
    put_hex(crc);
    put(" sort ");
    put_hex(sorted);
    put(ok ? " ok\n" : " UNSORTED\n");
    return ok ? 0 : 1;
}
