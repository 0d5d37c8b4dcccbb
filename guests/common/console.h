/* Output for guests built both bare-metal and as Linux programs: each build links its own console. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

void console_write(const char *s, unsigned long n);

#endif
