/* Console for the Linux builds of the guests: standard output. */
#include <unistd.h>
#include "console.h"

void console_write(const char *s, unsigned long n)
{
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (unsigned long)w;
    }
}
