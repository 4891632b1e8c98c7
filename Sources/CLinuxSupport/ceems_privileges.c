#include "ceems_linux.h"

#ifdef __linux__
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int ceems_exec_as_user(unsigned int uid, unsigned int gid, unsigned long long keep, const char *path,
                       char *const argv[], char *const envp[]) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return -errno;
    gid_t groups[1] = {gid};
    if (setgroups(1, groups) != 0) return -errno;
    // glibc applies these to every thread of the process.
    if (setresgid(gid, gid, gid) != 0) return -errno;
    if (setresuid(uid, uid, uid) != 0) return -errno;
    int status = set_capabilities(keep, keep, keep);
    if (status != 0) return status;
    for (int cap = 0; cap < 64; cap++) {
        if ((keep >> cap) & 1ULL) {
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return -errno;
        }
    }
    execve(path, argv, envp);
    return -errno;
}

int ceems_trim_capabilities(unsigned long long keep) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) != 0) return -errno;
    unsigned long long permitted = ((unsigned long long)data[1].permitted << 32) | data[0].permitted;
    unsigned long long effective = ((unsigned long long)data[1].effective << 32) | data[0].effective;
    unsigned long long inheritable = ((unsigned long long)data[1].inheritable << 32) | data[0].inheritable;
    return set_capabilities(permitted & keep, effective & keep, inheritable & keep);
}
#else
int ceems_exec_as_user(unsigned int uid, unsigned int gid, unsigned long long keep, const char *path,
                       char *const argv[], char *const envp[]) { return -38; }
int ceems_trim_capabilities(unsigned long long keep) { return -38; }
#endif
