/* The floor of a scrape's file reading: one process opening, reading and closing the given files (one path per
 * line on stdin), as many rounds as asked; prints the median and minimum round time in milliseconds.
 * Built and run by scripts/bench-units. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    size_t count = 0, capacity = 4096;
    char **paths = malloc(capacity * sizeof *paths);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        if (count == capacity) paths = realloc(paths, (capacity *= 2) * sizeof *paths);
        paths[count++] = strdup(line);
    }
    static char buffer[65536];
    double *times = malloc(rounds * sizeof *times);
    long bytes = 0;
    for (int round = 0; round < rounds; round++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (size_t i = 0; i < count; i++) {
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t n;
            while ((n = read(fd, buffer, sizeof buffer)) > 0) bytes += n;
            close(fd);
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        times[round] = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
    }
    qsort(times, rounds, sizeof *times, compare);
    printf("%zu files, median %.3f ms, min %.3f ms (%ld bytes read)\n", count, times[rounds / 2], times[0], bytes);
    return 0;
}
