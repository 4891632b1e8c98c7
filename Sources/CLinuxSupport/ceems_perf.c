#include "ceems_linux.h"

#ifdef __linux__
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int ceems_perf_event_open(unsigned int type, unsigned long long config, int pid, int exclude_kernel) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    // Threads and children the process creates after this call are counted too.
    attr.inherit = 1;
    attr.exclude_hv = 1;
    attr.exclude_kernel = exclude_kernel ? 1 : 0;
    long fd = syscall(SYS_perf_event_open, &attr, (pid_t)pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

int ceems_perf_read(int fd, unsigned long long *value, unsigned long long *enabled, unsigned long long *running) {
    unsigned long long values[3];
    ssize_t count = read(fd, values, sizeof(values));
    if (count < 0) {
        return -errno;
    }
    if (count != (ssize_t)sizeof(values)) {
        return -EIO;
    }
    *value = values[0];
    *enabled = values[1];
    *running = values[2];
    return 0;
}
#else
int ceems_perf_event_open(unsigned int type, unsigned long long config, int pid, int exclude_kernel) { return -38; }
int ceems_perf_read(int fd, unsigned long long *value, unsigned long long *enabled, unsigned long long *running) {
    return -38;
}
#endif
