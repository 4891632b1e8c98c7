#ifdef __linux__
#define _GNU_SOURCE
#endif
#include "ceems_linux.h"

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CEEMS_MARKER "CEEMS_PRIVILEGES_DROPPED"

static int get_capabilities(unsigned long long *permitted, unsigned long long *effective,
                            unsigned long long *inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) != 0) return -errno;
    *permitted = ((unsigned long long)data[1].permitted << 32) | data[0].permitted;
    *effective = ((unsigned long long)data[1].effective << 32) | data[0].effective;
    *inheritable = ((unsigned long long)data[1].inheritable << 32) | data[0].inheritable;
    return 0;
}

static int set_capabilities(unsigned long long permitted, unsigned long long effective,
                            unsigned long long inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    data[0].permitted = (unsigned int)(permitted & 0xffffffffULL);
    data[1].permitted = (unsigned int)(permitted >> 32);
    data[0].effective = (unsigned int)(effective & 0xffffffffULL);
    data[1].effective = (unsigned int)(effective >> 32);
    data[0].inheritable = (unsigned int)(inheritable & 0xffffffffULL);
    data[1].inheritable = (unsigned int)(inheritable >> 32);
    return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

/// 0: not re-executed; 1: re-executed, effective sets emptied (capability awareness); 2: re-executed, capabilities
/// left effective (awareness disabled).
static int dropped_state = 0;

/// Runs before any Swift code and before any thread exists, so that every thread the program later creates
/// inherits these sets: after the re-execution the ambient set (which gave the new image its capabilities) is
/// cleared, so that no child command inherits them, and the effective set is emptied unless awareness is off.
__attribute__((constructor)) static void ceems_privileges_start(void) {
    const char *marker = getenv(CEEMS_MARKER);
    if (marker == NULL) return;
    dropped_state = strcmp(marker, "direct") == 0 ? 2 : 1;
    unsetenv(CEEMS_MARKER);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    unsigned long long permitted, effective, inheritable;
    if (get_capabilities(&permitted, &effective, &inheritable) != 0) return;
    set_capabilities(permitted, dropped_state == 2 ? permitted : 0, 0);
}

int ceems_privileges_state(void) { return dropped_state; }

int ceems_exec_with_capabilities(int switch_user, unsigned int uid, unsigned int gid, unsigned long long keep,
                                 const char *path, char *const argv[], char *const envp[]) {
    // Opened before the switch: the new user needs no search permission on the directories of the program.
    int program = open(path, O_RDONLY | O_CLOEXEC);
    if (program < 0) return -errno;
    if (switch_user) {
        gid_t groups[1] = {gid};
        // glibc applies the set*id calls to every thread of the process.
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(1, groups) != 0 || setresgid(gid, gid, gid) != 0 ||
            setresuid(uid, uid, uid) != 0) {
            int code = errno;
            close(program);
            return -code;
        }
    }
    unsigned long long permitted, effective, inheritable;
    int status = get_capabilities(&permitted, &effective, &inheritable);
    if (status != 0) return status;
    keep &= permitted;
    status = set_capabilities(keep, keep, keep);
    if (status != 0) return status;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; cap < 64; cap++) {
        if ((keep >> cap) & 1ULL) {
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return -errno;
        }
    }
    fexecve(program, argv, envp);
    int code = errno;
    close(program);
    return -code;
}

int ceems_capabilities(unsigned long long *permitted, unsigned long long *effective) {
    unsigned long long inheritable;
    return get_capabilities(permitted, effective, &inheritable);
}

int ceems_set_effective(unsigned long long effective) {
    unsigned long long permitted, current, inheritable;
    int status = get_capabilities(&permitted, &current, &inheritable);
    if (status != 0) return status;
    return set_capabilities(permitted, effective & permitted, inheritable);
}

int ceems_access_as(unsigned int uid, unsigned int gid, const char *path, int mode) {
    pid_t child = fork();
    if (child < 0) return -errno;
    if (child == 0) {
        // Raw system calls only: the child of a multi-threaded parent.
        if (syscall(SYS_setgroups, 0, NULL) != 0) _exit(2);
        if (syscall(SYS_setresgid, gid, gid, gid) != 0) _exit(2);
        if (syscall(SYS_setresuid, uid, uid, uid) != 0) _exit(2);
        _exit(syscall(SYS_faccessat, AT_FDCWD, path, mode) == 0 ? 0 : 1);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    if (!WIFEXITED(status)) return -ECHILD;
    switch (WEXITSTATUS(status)) {
    case 0: return 1;
    case 1: return 0;
    default: return -EPERM;
    }
}
#else
int ceems_privileges_state(void) { return 0; }
int ceems_exec_with_capabilities(int switch_user, unsigned int uid, unsigned int gid, unsigned long long keep,
                                 const char *path, char *const argv[], char *const envp[]) { return -38; }
int ceems_capabilities(unsigned long long *permitted, unsigned long long *effective) { return -38; }
int ceems_set_effective(unsigned long long effective) { return -38; }
int ceems_access_as(unsigned int uid, unsigned int gid, const char *path, int mode) { return -38; }
#endif

#ifdef __linux__
#include <poll.h>
#include <signal.h>
#include <time.h>

int ceems_spawn_as_root(const char *path, char *const argv[], char *const envp[], int *pid_out, int *stdout_fd,
                        int *stderr_fd) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return -errno;
    if (pipe2(err, O_CLOEXEC) != 0) {
        int code = errno;
        close(out[0]);
        close(out[1]);
        return -code;
    }
    pid_t child = fork();
    if (child < 0) {
        int code = errno;
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return -code;
    }
    if (child == 0) {
        // Raw system calls and async-signal-safe functions only: the child of a multi-threaded parent.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int signal_number = 1; signal_number < 32; signal_number++) signal(signal_number, SIG_DFL);
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(126);
        if (syscall(SYS_setgroups, 0, NULL) != 0) _exit(126);
        if (syscall(SYS_setresgid, 0, 0, 0) != 0) _exit(126);
        if (syscall(SYS_setresuid, 0, 0, 0) != 0) _exit(126);
        syscall(SYS_close_range, 3, ~0U, 0);
        execve(path, argv, envp);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    *pid_out = child;
    *stdout_fd = out[0];
    *stderr_fd = err[0];
    return 0;
}

static long long now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int ceems_collect_output(int pid, int stdout_fd, int stderr_fd, int timeout_ms, unsigned char *out,
                         unsigned long out_capacity, unsigned long *out_length, unsigned char *err,
                         unsigned long err_capacity, unsigned long *err_length, int *wait_status) {
    struct pollfd fds[2] = {{stdout_fd, POLLIN, 0}, {stderr_fd, POLLIN, 0}};
    unsigned char *buffers[2] = {out, err};
    unsigned long capacities[2] = {out_capacity, err_capacity};
    unsigned long *lengths[2] = {out_length, err_length};
    *out_length = 0;
    *err_length = 0;
    long long deadline = now_ms() + timeout_ms;
    int open_count = 2, timed_out = 0;
    while (open_count > 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int ready = poll(fds, 2, (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        for (int index = 0; index < 2; index++) {
            if (fds[index].fd < 0 || fds[index].revents == 0) continue;
            unsigned char scratch[4096];
            unsigned long room = capacities[index] - *lengths[index];
            unsigned char *target = room > 0 ? buffers[index] + *lengths[index] : scratch;
            ssize_t count = read(fds[index].fd, target, room > 0 ? (room < 65536 ? room : 65536) : sizeof(scratch));
            if (count > 0) {
                if (room > 0) *lengths[index] += (unsigned long)count;
            } else if (count == 0 || errno != EINTR) {
                close(fds[index].fd);
                fds[index].fd = -1;
                open_count--;
            }
        }
    }
    for (int index = 0; index < 2; index++) {
        if (fds[index].fd >= 0) close(fds[index].fd);
    }
    // Both pipes closed: the command exits now, unless it lingers without them (bounded by the same deadline).
    while (!timed_out) {
        pid_t done = waitpid(pid, wait_status, WNOHANG);
        if (done == pid) return 0;
        if (done < 0 && errno != EINTR) return -errno;
        if (now_ms() >= deadline) {
            timed_out = 1;
            break;
        }
        struct timespec pause = {0, 5 * 1000000};
        nanosleep(&pause, NULL);
    }
    // The tool and everything it started.
    kill(-pid, SIGTERM);
    struct timespec grace = {0, 200 * 1000000};
    nanosleep(&grace, NULL);
    kill(-pid, SIGKILL);
    while (waitpid(pid, wait_status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    return -ETIMEDOUT;
}
#else
int ceems_spawn_as_root(const char *path, char *const argv[], char *const envp[], int *pid_out, int *stdout_fd,
                        int *stderr_fd) { return -38; }
int ceems_collect_output(int pid, int stdout_fd, int stderr_fd, int timeout_ms, unsigned char *out,
                         unsigned long out_capacity, unsigned long *out_length, unsigned char *err,
                         unsigned long err_capacity, unsigned long *err_length, int *wait_status) { return -38; }
#endif
