// SPDX-License-Identifier: GPL-2.0
// Per-cgroup VFS and TCP/UDP counters for ceems_exporter's eBPF sub-collector (exporter.md §7.12).
//
// Counts bytes, requests and errors under the current cgroup's id: the unified (v2) cgroup, or with
// config[0] = 1 / 2 the task's cpuacct / memory v1 cgroup. The exporter maps cgroup ids (the kernfs inode
// numbers of unit directories) to units and mount ids to mount points (/proc/self/mountinfo), sums the per-CPU
// values and deletes the entries of cgroups that are no unit (anymore). Maps are bounded and per CPU: no atomic
// operation and no shared cache line on the paths every read, write and socket message of the node takes.
//
// Built by bpf/build (clang -target bpf, CO-RE against /sys/kernel/btf/vmlinux); the object is embedded in
// Sources/CEEMSExporter/Units/BPFObject.swift so the Swift build needs no BPF toolchain.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 16384

struct io_key {
    __u64 cgroup;
    __u32 mount;
    __u32 op; // 0 read, 1 write
};
struct io_value {
    __u64 bytes;
    __u64 requests;
    __u64 errors;
};
struct file_key {
    __u64 cgroup;
    __u32 op; // 0 open, 1 create, 2 unlink
    __u32 pad;
};
struct file_value {
    __u64 requests;
    __u64 errors;
};
struct net_key {
    __u64 cgroup;
    __u16 proto;  // 0 tcp, 1 udp
    __u16 family; // 2 ipv4, 10 ipv6
    __u32 direction; // 0 ingress, 1 egress, 2 retransmitted
};
struct net_value {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct io_key);
    __type(value, struct io_value);
} io_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct file_key);
    __type(value, struct file_value);
} file_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct net_key);
    __type(value, struct net_value);
} net_stats SEC(".maps");

// [0]: 0 = unified cgroup, 1 = v1 cpuacct, 2 = v1 memory.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} ceems_config SEC(".maps");

static __always_inline __u64 current_cgroup(void) {
    __u32 zero = 0;
    __u32 *mode = bpf_map_lookup_elem(&ceems_config, &zero);
    if (!mode || *mode == 0) return bpf_get_current_cgroup_id();
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    int index = *mode == 1 ? bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id)
                           : bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
    if (index < 0 || index >= 16) return 0;
    struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
    struct cgroup_subsys_state *state = NULL;
    bpf_core_read(&state, sizeof(state), &cgroups->subsys[index]);
    if (!state) return 0;
    return BPF_CORE_READ(state, cgroup, kn, id);
}

// Present since Linux 6.2 (and free: the verifier turns it into a plain register move). Where it exists, the
// file and mount structures are read with direct loads instead of a helper call per field.
extern void *bpf_rdonly_cast(const void *object, __u32 btf_id) __ksym __weak;

#define S_IFMT_BITS 0170000
#define S_IFSOCK_BITS 0140000
#define S_IFIFO_BITS 0010000

// The file's mount id; 0 for sockets and pipes (network traffic and IPC, not file IO).
static __always_inline __u32 mount_id(struct file *file) {
    if (bpf_rdonly_cast) {
        struct file *typed = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
        __u16 kind = typed->f_inode->i_mode & S_IFMT_BITS;
        if (kind == S_IFSOCK_BITS || kind == S_IFIFO_BITS) return 0;
        struct vfsmount *vfs = typed->f_path.mnt;
        struct mount *mount = bpf_rdonly_cast(
            (void *)vfs - bpf_core_field_offset(struct mount, mnt), bpf_core_type_id_kernel(struct mount));
        return mount->mnt_id;
    }
    __u16 kind = BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT_BITS;
    if (kind == S_IFSOCK_BITS || kind == S_IFIFO_BITS) return 0;
    struct vfsmount *vfs = NULL;
    bpf_core_read(&vfs, sizeof(vfs), &file->f_path.mnt);
    struct mount *mount = (void *)vfs - bpf_core_field_offset(struct mount, mnt);
    return BPF_CORE_READ(mount, mnt_id);
}

// The map's value for `key`, created zeroed (from `zero`) when missing; NULL when the map is full.
static __always_inline void *lookup_or_create(void *map, const void *key, const void *zero) {
    void *value = bpf_map_lookup_elem(map, key);
    if (value) return value;
    bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
    return bpf_map_lookup_elem(map, key);
}

static __always_inline void count_io(__u32 op, __u32 mount, long ret) {
    struct io_key key = {.cgroup = current_cgroup(), .mount = mount, .op = op};
    struct io_value zero = {};
    struct io_value *value = lookup_or_create(&io_stats, &key, &zero);
    if (!value) return;
    value->requests += 1;
    if (ret > 0) value->bytes += ret;
    if (ret < 0) value->errors += 1;
}

static __always_inline void count_file(__u32 op, long ret) {
    struct file_key key = {.cgroup = current_cgroup(), .op = op};
    struct file_value zero = {};
    struct file_value *value = lookup_or_create(&file_stats, &key, &zero);
    if (!value) return;
    value->requests += 1;
    if (ret < 0) value->errors += 1;
}

static __always_inline void count_net(__u16 proto, __u32 direction, long ret, __u16 family) {
    if (ret <= 0) return;
    struct net_key key = {.cgroup = current_cgroup(), .proto = proto, .family = family, .direction = direction};
    struct net_value zero = {};
    struct net_value *value = lookup_or_create(&net_stats, &key, &zero);
    if (!value) return;
    value->packets += 1;
    value->bytes += ret;
}

// BTF tracepoints (no kprobes or BPF trampolines needed: kernels built without kprobes, or locked down, still
// offer them). One program at raw_syscalls:sys_exit sees each system call once, when its result is known: on
// x86_64 the saved registers still hold the call number (orig_ax) and its arguments, so nothing is stashed at
// entry (a sys_enter program would double the work every system call of the node pays while these are enabled).
// sock:sock_{send,recv}_length see every socket message in its process context.

// x86_64 system call numbers.
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_readv 19
#define NR_writev 20
#define NR_creat 85
#define NR_unlink 87
#define NR_openat 257
#define NR_unlinkat 263
#define NR_preadv 295
#define NR_pwritev 296
#define NR_preadv2 327
#define NR_pwritev2 328
#define NR_openat2 437
#define O_CREAT_FLAG 0100

static __always_inline __u32 mount_of_fd(long fd) {
    if (fd < 0) return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct fdtable *table = task->files->fdt;
    if ((unsigned long)fd >= table->max_fds) return 0;
    struct file *file = NULL;
    bpf_probe_read_kernel(&file, sizeof(file), &table->fd[fd]);
    if (!file) return 0;
    return mount_id(file);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(exit_syscall, struct pt_regs *regs, long ret) {
    // Typed arguments: plain loads, no helper call, for the one check every system call goes through.
    long id = regs->orig_ax;
    __u32 op;
    switch (id) {
    case NR_read: case NR_pread64: case NR_readv: case NR_preadv: case NR_preadv2:
        op = 0;
        break;
    case NR_write: case NR_pwrite64: case NR_writev: case NR_pwritev: case NR_pwritev2:
        op = 1;
        break;
    case NR_open:
        count_file((regs->si & O_CREAT_FLAG) ? 1 : 0, ret);
        return 0;
    case NR_openat:
        count_file((regs->dx & O_CREAT_FLAG) ? 1 : 0, ret);
        return 0;
    case NR_openat2:
        count_file(0, ret);
        return 0;
    case NR_creat:
        count_file(1, ret);
        return 0;
    case NR_unlink: case NR_unlinkat:
        count_file(2, ret);
        return 0;
    default:
        return 0;
    }
    // Socket and pipe reads and writes are not file IO: mount 0, skipped here.
    __u32 mount = mount_of_fd(regs->di);
    if (mount != 0) count_io(op, mount, ret);
    return 0;
}

static __always_inline void count_socket(struct sock *sk, int ret, __u32 direction) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != 2 && family != 10) return;
    __u16 protocol = BPF_CORE_READ(sk, sk_protocol);
    if (protocol != 6 && protocol != 17) return; // IPPROTO_TCP, IPPROTO_UDP
    count_net(protocol == 6 ? 0 : 1, direction, ret, family);
}

// Retransmissions happen in timers and softirqs, outside the sender's context: they are counted under the
// socket's own cgroup, which is a unit's only on the unified hierarchy (config 0).
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, struct sock *sk, struct sk_buff *skb) {
    __u32 zero = 0;
    __u32 *mode = bpf_map_lookup_elem(&ceems_config, &zero);
    if (!mode || *mode != 0) return 0;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != 2 && family != 10) return 0;
    __u64 cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
    if (!cgroup) return 0;
    struct net_key key = {.cgroup = cgroup, .proto = 0, .family = family, .direction = 2};
    struct net_value initial = {};
    struct net_value *value = lookup_or_create(&net_stats, &key, &initial);
    if (!value) return 0;
    value->packets += 1;
    value->bytes += BPF_CORE_READ(skb, len);
    return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(socket_send, struct sock *sk, int ret, int flags) {
    count_socket(sk, ret, 1);
    return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(socket_receive, struct sock *sk, int ret, int flags) {
    count_socket(sk, ret, 0);
    return 0;
}
