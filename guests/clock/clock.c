/*
 * Reads the virtual counter (CNTVCT_EL0) twice around a fixed amount of work and prints both values and their
 * difference. Under host time the figures change from run to run; in instruction-count time (jit run
 * --icount) they depend only on the instructions retired, so every run prints the same lines.
 */
#include "console.h"

typedef unsigned long u64;

static u64 cntvct(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static void put(const char *label, u64 value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    unsigned long len = 0;
    while (label[len]) len++;
    console_write(label, len);
    char line[22];
    int at = 0;
    line[at++] = ' ';
    while (n > 0) line[at++] = digits[--n];
    line[at++] = '\n';
    console_write(line, (unsigned long)at);
}

int main(void)
{
    u64 first = cntvct();
    volatile u64 sum = 0;
    for (u64 i = 0; i < 10000; i++)
        sum += i * i;
    u64 second = cntvct();
    put("first", first);
    put("second", second);
    put("difference", second - first);
    return 0;
}
