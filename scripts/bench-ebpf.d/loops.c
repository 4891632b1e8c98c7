// The loops scripts/bench-ebpf times with and without the eBPF programs attached: dd-style sequential writes
// and reads of a file, and iperf-style sends over a loopback TCP connection to a thread that drains it.
//   loops write|read|tcp BLOCK_BYTES TOTAL_BYTES [FILE]   → prints the loop's wall time in nanoseconds
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *drain(void *argument) {
    int listener = *(int *)argument;
    int connection = accept(listener, NULL, NULL);
    char buffer[1 << 17];
    while (read(connection, buffer, sizeof(buffer)) > 0) {}
    close(connection);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    size_t block = strtoull(argv[2], NULL, 10), total = strtoull(argv[3], NULL, 10);
    char *buffer = calloc(1, block);
    long long start = 0, end = 0;
    if (strcmp(argv[1], "tcp") == 0) {
        int listener = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t length = sizeof(address);
        bind(listener, (struct sockaddr *)&address, sizeof(address));
        listen(listener, 1);
        getsockname(listener, (struct sockaddr *)&address, &length);
        pthread_t thread;
        pthread_create(&thread, NULL, drain, &listener);
        int client = socket(AF_INET, SOCK_STREAM, 0);
        connect(client, (struct sockaddr *)&address, sizeof(address));
        start = now();
        for (size_t sent = 0; sent < total;) {
            ssize_t count = write(client, buffer, block);
            if (count <= 0) return 1;
            sent += (size_t)count;
        }
        close(client);
        pthread_join(thread, NULL);
        end = now();
    } else {
        int writing = strcmp(argv[1], "write") == 0;
        int fd = open(argv[4], writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0600);
        if (fd < 0) return 1;
        start = now();
        for (size_t done = 0; done < total; done += block) {
            if ((writing ? write(fd, buffer, block) : read(fd, buffer, block)) != (ssize_t)block) return 1;
        }
        end = now();
        close(fd);
    }
    printf("%lld\n", end - start);
    return 0;
}
