/* Console for bare-metal guests: the PL011 of the guest platform, polled. */
#include "console.h"

#define UART_BASE 0x22000000UL
#define UART_DR   0x000
#define UART_FR   0x018
#define FR_TXFF   (1u << 5)

static inline volatile unsigned int *uart_reg(unsigned long offset)
{
    return (volatile unsigned int *)(UART_BASE + offset);
}

void console_write(const char *s, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        while (*uart_reg(UART_FR) & FR_TXFF)
            ;
        *uart_reg(UART_DR) = (unsigned char)s[i];
    }
}
