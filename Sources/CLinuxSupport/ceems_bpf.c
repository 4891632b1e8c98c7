#include "ceems_linux.h"

#ifdef __linux__
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libbpf (Debian's libbpf1) is opened at run time, so the exporter has no link-time dependency on it.
struct bpf_object;
struct bpf_program;
struct bpf_link;

struct libbpf {
    struct bpf_object *(*open_mem)(const void *, size_t, const void *);
    int (*load)(struct bpf_object *);
    struct bpf_program *(*next_program)(const struct bpf_object *, struct bpf_program *);
    const char *(*program_name)(const struct bpf_program *);
    int (*set_autoload)(struct bpf_program *, int);
    struct bpf_link *(*attach)(const struct bpf_program *);
    int (*map_fd_by_name)(const struct bpf_object *, const char *);
    int (*get_next_key)(int, const void *, void *);
    int (*lookup)(int, const void *, void *);
    int (*remove)(int, const void *);
    int (*lookup_batch)(int, void *, void *, void *, void *, unsigned int *, const void *);
    int (*possible_cpus)(void);
    int (*update)(int, const void *, const void *, unsigned long long);
    int (*link_destroy)(struct bpf_link *);
    void (*close)(struct bpf_object *);
    void *(*set_print)(void *);
};

struct ceems_bpf {
    void *library;
    struct libbpf api;
    struct bpf_object *object;
    struct bpf_link *links[64];
    int link_count;
};

static int quiet(int level, const char *format, va_list args) { return 0; }

#define LOOKUP(field, symbol)                                                                                         \
    do {                                                                                                              \
        *(void **)(&handle->api.field) = dlsym(handle->library, symbol);                                              \
        if (!handle->api.field) {                                                                                     \
            snprintf(error, error_size, "libbpf has no %s", symbol);                                                 \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

static int selected(const char *name, unsigned int groups) {
    int io = strstr(name, "syscall") != NULL;
    return io ? (groups & 1) != 0 : (groups & 2) != 0;
}

struct ceems_bpf *ceems_bpf_open(const void *object, size_t size, unsigned int mode, unsigned int groups,
                                 char *error, int error_size) {
    struct ceems_bpf *handle = calloc(1, sizeof(struct ceems_bpf));
    if (!handle) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    handle->library = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle->library) {
        snprintf(error, error_size, "cannot load libbpf.so.1 (Debian package libbpf1): %s", dlerror());
        free(handle);
        return NULL;
    }
    LOOKUP(open_mem, "bpf_object__open_mem");
    LOOKUP(load, "bpf_object__load");
    LOOKUP(next_program, "bpf_object__next_program");
    LOOKUP(program_name, "bpf_program__name");
    LOOKUP(set_autoload, "bpf_program__set_autoload");
    LOOKUP(attach, "bpf_program__attach");
    LOOKUP(map_fd_by_name, "bpf_object__find_map_fd_by_name");
    LOOKUP(get_next_key, "bpf_map_get_next_key");
    LOOKUP(lookup, "bpf_map_lookup_elem");
    LOOKUP(remove, "bpf_map_delete_elem");
    LOOKUP(lookup_batch, "bpf_map_lookup_batch");
    LOOKUP(possible_cpus, "libbpf_num_possible_cpus");
    LOOKUP(update, "bpf_map_update_elem");
    LOOKUP(link_destroy, "bpf_link__destroy");
    LOOKUP(close, "bpf_object__close");
    LOOKUP(set_print, "libbpf_set_print");
    handle->api.set_print((void *)quiet);

    handle->object = handle->api.open_mem(object, size, NULL);
    if (!handle->object) {
        snprintf(error, error_size, "cannot open the BPF object: %s", strerror(errno));
        goto fail;
    }
    for (struct bpf_program *program = handle->api.next_program(handle->object, NULL); program;
         program = handle->api.next_program(handle->object, program)) {
        handle->api.set_autoload(program, selected(handle->api.program_name(program), groups));
    }
    int status = handle->api.load(handle->object);
    if (status != 0) {
        snprintf(error, error_size, "cannot load the BPF programs: %s", strerror(status < 0 ? -status : errno));
        goto fail;
    }
    int config = handle->api.map_fd_by_name(handle->object, "ceems_config");
    unsigned int zero = 0;
    if (config < 0 || handle->api.update(config, &zero, &mode, 0) != 0) {
        snprintf(error, error_size, "cannot configure the BPF programs");
        goto fail;
    }
    int last_error = 0;
    for (struct bpf_program *program = handle->api.next_program(handle->object, NULL); program;
         program = handle->api.next_program(handle->object, program)) {
        if (!selected(handle->api.program_name(program), groups) || handle->link_count >= 64) continue;
        struct bpf_link *link = handle->api.attach(program);
        // A kernel without this function (inlined or renamed) leaves that probe out.
        if (link) {
            handle->links[handle->link_count++] = link;
        } else {
            last_error = errno;
        }
    }
    if (handle->link_count == 0) {
        snprintf(error, error_size, "no BPF probe could be attached: %s", strerror(last_error));
        goto fail;
    }
    return handle;
fail:
    if (handle->object) handle->api.close(handle->object);
    dlclose(handle->library);
    free(handle);
    return NULL;
}

int ceems_bpf_links(const struct ceems_bpf *handle) { return handle->link_count; }

int ceems_bpf_map_fd(const struct ceems_bpf *handle, const char *name) {
    return handle->api.map_fd_by_name(handle->object, name);
}

int ceems_bpf_next_key(const struct ceems_bpf *handle, int fd, const void *key, void *next) {
    return handle->api.get_next_key(fd, key, next) == 0 ? 0 : -errno;
}

int ceems_bpf_lookup(const struct ceems_bpf *handle, int fd, const void *key, void *value) {
    return handle->api.lookup(fd, key, value) == 0 ? 0 : -errno;
}

int ceems_bpf_delete(const struct ceems_bpf *handle, int fd, const void *key) {
    return handle->api.remove(fd, key) == 0 ? 0 : -errno;
}

int ceems_bpf_lookup_batch(const struct ceems_bpf *handle, int fd, const void *token, void *next_token, void *keys,
                           void *values, unsigned int *count) {
    int status = handle->api.lookup_batch(fd, (void *)token, next_token, keys, values, count, NULL);
    if (status == 0) return 0;
    return errno == ENOENT ? 1 : -errno;
}

int ceems_bpf_possible_cpus(const struct ceems_bpf *handle) { return handle->api.possible_cpus(); }

void ceems_bpf_close(struct ceems_bpf *handle) {
    if (!handle) return;
    for (int i = 0; i < handle->link_count; i++) handle->api.link_destroy(handle->links[i]);
    handle->api.close(handle->object);
    dlclose(handle->library);
    free(handle);
}
#endif
