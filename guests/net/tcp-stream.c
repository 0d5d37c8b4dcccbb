// tcp-stream: the bulk TCP transfer of `jit bench --only tcp`, a static Linux program for the bench
// initramfs. busybox nc moves data in small reads and writes, so with it a transfer measures the guest's
// system calls more than its network device; this one uses 256 KiB buffers on both ends.
//   tcp-stream send HOST PORT MIB     connect, write MIB MiB of zeros, close
//   tcp-stream receive HOST PORT      connect, read until the host closes
// Each prints one line, `tcp-stream send|receive bytes=N seconds=S`, timed with CLOCK_MONOTONIC from the
// connection's start to its end.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BufferSize = 256 << 10 };
static char buffer[BufferSize];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to(const char *host, const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "tcp-stream: %s is not an IPv4 address\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "tcp-stream: connect %s:%s: %s\n", host, port, strerror(errno));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    int sending = argc == 5 && strcmp(argv[1], "send") == 0;
    if (!sending && !(argc == 4 && strcmp(argv[1], "receive") == 0)) {
        fprintf(stderr, "usage: tcp-stream send HOST PORT MIB | tcp-stream receive HOST PORT\n");
        return 2;
    }
    double t0 = now();
    int fd = connect_to(argv[2], argv[3]);
    long long bytes = 0;
    if (sending) {
        long long total = atoll(argv[4]) << 20;
        while (bytes < total) {
            size_t chunk = total - bytes < BufferSize ? (size_t)(total - bytes) : BufferSize;
            ssize_t n = write(fd, buffer, chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            bytes += n;
        }
        shutdown(fd, SHUT_WR);
        // The host closes once it has it all: wait for that, so the time covers the data's arrival.
        while (read(fd, buffer, BufferSize) > 0) { }
    } else {
        for (;;) {
            ssize_t n = read(fd, buffer, BufferSize);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            bytes += n;
        }
    }
    double t1 = now();
    close(fd);
    printf("tcp-stream %s bytes=%lld seconds=%.3f\n", argv[1], bytes, t1 - t0);
    return 0;
}
