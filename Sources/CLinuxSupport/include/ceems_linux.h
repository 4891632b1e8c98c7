#ifndef CEEMS_LINUX_H
#define CEEMS_LINUX_H

#ifdef __linux__
#include <sys/xattr.h>
#endif

/// Sends one IPMI request to the BMC through the OpenIPMI driver (`/dev/ipmi0`…) and waits for the answer.
///
/// Returns the number of response bytes written to `response` (the first byte is the completion code), or a
/// negative errno (`-ETIMEDOUT` when the BMC did not answer within `timeout_ms`).
int ceems_ipmi_request(const char *device, unsigned char netfn, unsigned char command, const unsigned char *data,
                       unsigned short data_length, unsigned char *response, int response_capacity, int timeout_ms);

/// The file system type (`statfs(2)` `f_type`) of `path`, or -errno.
long ceems_filesystem_type(const char *path);

/// `perf_event_open(2)` counting `type`/`config` for process `pid` (and the threads and children it creates
/// after the call) on any CPU, with the enabled and running times in each read. Returns the fd or -errno.
int ceems_perf_event_open(unsigned int type, unsigned long long config, int pid, int exclude_kernel);

/// Reads a counter opened by `ceems_perf_event_open`: 0, or -errno.
int ceems_perf_read(int fd, unsigned long long *value, unsigned long long *enabled, unsigned long long *running);

/// With `switch_user`, switches every thread to `uid`/`gid` (the primary group only); then keeps the capabilities
/// of `keep` (a bit mask of CAP_* numbers, cut to the permitted set) as permitted, inheritable and ambient, and
/// executes `path`: the new image starts with exactly those capabilities (a constructor of this library then
/// clears the ambient set and, with capability awareness, the effective set). Returns -errno only on failure.
int ceems_exec_with_capabilities(int switch_user, unsigned int uid, unsigned int gid, unsigned long long keep,
                                 const char *path, char *const argv[], char *const envp[]);

/// 0: this image was not started by `ceems_exec_with_capabilities`; 1: it was, with empty effective sets
/// (capabilities raised around privileged actions); 2: it was, with capabilities left effective.
int ceems_privileges_state(void);

/// The calling thread's permitted and effective sets: 0, or -errno.
int ceems_capabilities(unsigned long long *permitted, unsigned long long *effective);

/// Sets the calling thread's effective set to `effective` (cut to the permitted set): 0, or -errno.
int ceems_set_effective(unsigned long long effective);

/// Whether `uid`/`gid` (no supplementary groups) may access `path` with `mode` (R_OK, W_OK, X_OK), checked in a
/// child process: 1 yes, 0 no, -errno when the check itself failed.
int ceems_access_as(unsigned int uid, unsigned int gid, const char *path, int mode);

/// Starts `path` as root (uid and gid 0, no supplementary group; the caller holds cap_setuid and cap_setgid
/// effective) in its own process group, stdin from /dev/null, stdout and stderr to pipes: 0, or -errno.
int ceems_spawn_as_root(const char *path, char *const argv[], char *const envp[], int *pid_out, int *stdout_fd,
                        int *stderr_fd);

/// Reads a started command's stdout and stderr (beyond the capacities: drained, dropped) until both close or
/// `timeout_ms` passes — then SIGTERM, 200 ms, SIGKILL to its process group — and reaps it. 0, -ETIMEDOUT, or -errno.
int ceems_collect_output(int pid, int stdout_fd, int stderr_fd, int timeout_ms, unsigned char *out,
                         unsigned long out_capacity, unsigned long *out_length, unsigned char *err,
                         unsigned long err_capacity, unsigned long *err_length, int *wait_status);

#include <stddef.h>

/// A loaded and attached BPF object (libbpf opened at run time).
struct ceems_bpf;

/// Opens `object` (an ELF BPF object), loads the program groups of `groups` (bit 0: VFS, bit 1: sockets), sets
/// the cgroup mode (0 unified, 1 v1 cpuacct, 2 v1 memory) and attaches them. NULL with `error` filled on failure.
struct ceems_bpf *ceems_bpf_open(const void *object, size_t size, unsigned int mode, unsigned int groups,
                                 char *error, int error_size);
/// Number of probes attached.
int ceems_bpf_links(const struct ceems_bpf *handle);
int ceems_bpf_map_fd(const struct ceems_bpf *handle, const char *name);
/// `bpf_map_get_next_key` (NULL `key` for the first): 0 or -errno (-ENOENT after the last).
int ceems_bpf_next_key(const struct ceems_bpf *handle, int fd, const void *key, void *next);
int ceems_bpf_lookup(const struct ceems_bpf *handle, int fd, const void *key, void *value);
/// `bpf_map_lookup_batch`: up to `*count` entries from `token` (NULL: the start; hash maps use a 4-byte token)
/// into `keys` and `values`, `*count` set to the number read: 0 (more to come from `next_token`), 1 (that was the
/// last batch), or -errno.
int ceems_bpf_lookup_batch(const struct ceems_bpf *handle, int fd, const void *token, void *next_token, void *keys,
                           void *values, unsigned int *count);
/// Deletes a map entry: 0, or -errno.
int ceems_bpf_delete(const struct ceems_bpf *handle, int fd, const void *key);
/// The number of possible CPUs (the values of a per-CPU map come one per possible CPU), or -errno.
int ceems_bpf_possible_cpus(const struct ceems_bpf *handle);
void ceems_bpf_close(struct ceems_bpf *handle);

#endif
