#include "ceems_linux.h"

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <linux/ipmi.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int ceems_ipmi_request(const char *device, unsigned char netfn, unsigned char command, const unsigned char *data,
                       unsigned short data_length, unsigned char *response, int response_capacity, int timeout_ms) {
    int fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct ipmi_system_interface_addr bmc;
    memset(&bmc, 0, sizeof(bmc));
    bmc.addr_type = IPMI_SYSTEM_INTERFACE_ADDR_TYPE;
    bmc.channel = IPMI_BMC_CHANNEL;
    bmc.lun = 0;

    unsigned char payload[IPMI_MAX_MSG_LENGTH];
    if (data_length > sizeof(payload)) {
        close(fd);
        return -EINVAL;
    }
    if (data_length > 0) {
        memcpy(payload, data, data_length);
    }
    struct ipmi_req request;
    memset(&request, 0, sizeof(request));
    request.addr = (unsigned char *)&bmc;
    request.addr_len = sizeof(bmc);
    request.msgid = 1;
    request.msg.netfn = netfn;
    request.msg.cmd = command;
    request.msg.data = payload;
    request.msg.data_len = data_length;
    if (ioctl(fd, IPMICTL_SEND_COMMAND, &request) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }

    struct pollfd wait = {.fd = fd, .events = POLLIN};
    int ready;
    do {
        ready = poll(&wait, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
        int error = ready == 0 ? ETIMEDOUT : errno;
        close(fd);
        return -error;
    }

    struct ipmi_addr address;
    struct ipmi_recv received;
    memset(&received, 0, sizeof(received));
    received.addr = (unsigned char *)&address;
    received.addr_len = sizeof(address);
    received.msg.data = response;
    received.msg.data_len = (unsigned short)response_capacity;
    if (ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &received) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    close(fd);
    return received.msg.data_len;
}
#else
#include <errno.h>
int ceems_ipmi_request(const char *device, unsigned char netfn, unsigned char command, const unsigned char *data,
                       unsigned short data_length, unsigned char *response, int response_capacity, int timeout_ms) {
    (void)device; (void)netfn; (void)command; (void)data; (void)data_length; (void)response;
    (void)response_capacity; (void)timeout_ms;
    return -ENOSYS;
}
#endif
