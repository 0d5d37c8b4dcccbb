/* What the latency guests share to turn counter ticks into figures: sorting samples and tenths of a ns. */
#ifndef TIMING_H
#define TIMING_H

#include "sys.h"

/* Shell sort: the interpreter runs this too, and an O(n^2) sort of a thousand samples would dominate. */
static inline void sort(u64 *a, int n)
{
    for (int gap = n / 2; gap > 0; gap /= 2)
        for (int i = gap; i < n; i++) {
            u64 v = a[i];
            int j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) a[j] = a[j - gap];
            a[j] = v;
        }
}

/* Tenths of a nanosecond per operation for `ticks` counter ticks at `freq` Hz spent on `ops` operations. */
static inline u64 tenth_ns(u64 ticks, u64 ops, u64 freq)
{
    return ticks * 10000000000UL / freq / ops;
}

static inline void print_tenths(const char *key, u64 t)
{
    say(" %s=%lu.%lu", key, t / 10, t % 10);
}

#endif
