// SPDX-License-Identifier: GPL-2.0
// Per-cgroup VFS and TCP/UDP counters for ceems_exporter's eBPF sub-collector (exporter.md §7.12).
//
// Counts bytes, requests and errors under the current cgroup's id: the unified (v2) cgroup, or with
// config[0] = 1 / 2 the task's cpuacct / memory v1 cgroup. The exporter maps cgroup ids (the kernfs inode
// numbers of unit directories) to units and mount ids to mount points (/proc/self/mountinfo). Maps are bounded.
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
    __u32 direction; // 0 ingress, 1 egress
};
struct net_value {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct io_key);
    __type(value, struct io_value);
} io_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct file_key);
    __type(value, struct file_value);
} file_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
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

static __always_inline __u32 mount_id(struct file *file) {
    struct vfsmount *vfs = NULL;
    bpf_core_read(&vfs, sizeof(vfs), &file->f_path.mnt);
    struct mount *mount = (void *)vfs - bpf_core_field_offset(struct mount, mnt);
    return BPF_CORE_READ(mount, mnt_id);
}

static __always_inline void count_io(__u32 op, __u32 mount, long ret) {
    struct io_key key = {.cgroup = current_cgroup(), .mount = mount, .op = op};
    struct io_value *value = bpf_map_lookup_elem(&io_stats, &key);
    if (!value) {
        struct io_value zero = {};
        bpf_map_update_elem(&io_stats, &key, &zero, BPF_NOEXIST);
        value = bpf_map_lookup_elem(&io_stats, &key);
        if (!value) return;
    }
    __sync_fetch_and_add(&value->requests, 1);
    if (ret > 0) __sync_fetch_and_add(&value->bytes, ret);
    if (ret < 0) __sync_fetch_and_add(&value->errors, 1);
}

static __always_inline void count_file(__u32 op, long ret) {
    struct file_key key = {.cgroup = current_cgroup(), .op = op};
    struct file_value *value = bpf_map_lookup_elem(&file_stats, &key);
    if (!value) {
        struct file_value zero = {};
        bpf_map_update_elem(&file_stats, &key, &zero, BPF_NOEXIST);
        value = bpf_map_lookup_elem(&file_stats, &key);
        if (!value) return;
    }
    __sync_fetch_and_add(&value->requests, 1);
    if (ret < 0) __sync_fetch_and_add(&value->errors, 1);
}

static __always_inline void count_net(__u16 proto, __u32 direction, long ret, __u16 family) {
    if (ret <= 0) return;
    struct net_key key = {.cgroup = current_cgroup(), .proto = proto, .family = family, .direction = direction};
    struct net_value *value = bpf_map_lookup_elem(&net_stats, &key);
    if (!value) {
        struct net_value zero = {};
        bpf_map_update_elem(&net_stats, &key, &zero, BPF_NOEXIST);
        value = bpf_map_lookup_elem(&net_stats, &key);
        if (!value) return;
    }
    __sync_fetch_and_add(&value->packets, 1);
    __sync_fetch_and_add(&value->bytes, ret);
}

// BTF tracepoints (no kprobes or BPF trampolines needed: kernels built without kprobes, or locked down, still
// offer them). raw_syscalls:sys_enter stashes what sys_exit needs by thread: the operation and, for reads and
// writes, the file's mount id; sock:sock_{send,recv}_length see every socket message in its process context.
struct pending_op {
    __u32 op;    // 0 read, 1 write, 10 open, 11 create, 12 unlink
    __u32 valid;
    long fd;
};

// Per-task storage: no hash update or delete on the syscall path.
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct pending_op);
} pending SEC(".maps");

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
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *table = BPF_CORE_READ(task, files, fdt);
    unsigned int max = BPF_CORE_READ(table, max_fds);
    if ((unsigned long)fd >= max) return 0;
    struct file **files = BPF_CORE_READ(table, fd);
    struct file *file = NULL;
    bpf_core_read(&file, sizeof(file), &files[fd]);
    if (!file) return 0;
    return mount_id(file);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(enter_syscall, struct pt_regs *regs, long id) {
    __u32 op;
    long fd = -1;
    switch (id) {
    case NR_read: case NR_pread64: case NR_readv: case NR_preadv: case NR_preadv2:
        op = 0;
        fd = BPF_CORE_READ(regs, di);
        break;
    case NR_write: case NR_pwrite64: case NR_writev: case NR_pwritev: case NR_pwritev2:
        op = 1;
        fd = BPF_CORE_READ(regs, di);
        break;
    case NR_open:
        op = (BPF_CORE_READ(regs, si) & O_CREAT_FLAG) ? 11 : 10;
        break;
    case NR_openat:
        op = (BPF_CORE_READ(regs, dx) & O_CREAT_FLAG) ? 11 : 10;
        break;
    case NR_openat2:
        op = 10;
        break;
    case NR_creat:
        op = 11;
        break;
    case NR_unlink: case NR_unlinkat:
        op = 12;
        break;
    default:
        return 0;
    }
    struct pending_op *pending_op =
        bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!pending_op) return 0;
    pending_op->op = op;
    pending_op->fd = fd;
    pending_op->valid = 1;
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(exit_syscall, struct pt_regs *regs, long ret) {
    struct pending_op *pending_op = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
    if (!pending_op || !pending_op->valid) return 0;
    pending_op->valid = 0;
    if (pending_op->op < 2) {
        // Socket reads and writes are network traffic, not file IO (their mount is not in mountinfo).
        __u32 mount = mount_of_fd(pending_op->fd);
        if (mount != 0) count_io(pending_op->op, mount, ret);
    } else {
        count_file(pending_op->op - 10, ret);
    }
    return 0;
}

static __always_inline void count_socket(struct sock *sk, int ret, __u32 direction) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != 2 && family != 10) return;
    __u16 protocol = BPF_CORE_READ(sk, sk_protocol);
    if (protocol != 6 && protocol != 17) return; // IPPROTO_TCP, IPPROTO_UDP
    count_net(protocol == 6 ? 0 : 1, direction, ret, family);
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
