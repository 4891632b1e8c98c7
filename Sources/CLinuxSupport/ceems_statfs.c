#include "ceems_linux.h"

#include <errno.h>
#include <sys/vfs.h>

long ceems_filesystem_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) {
        return -errno;
    }
    return (long)info.f_type;
}
