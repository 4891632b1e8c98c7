#ifndef CEEMS_LINUX_H
#define CEEMS_LINUX_H

/// Sends one IPMI request to the BMC through the OpenIPMI driver (`/dev/ipmi0`…) and waits for the answer.
///
/// Returns the number of response bytes written to `response` (the first byte is the completion code), or a
/// negative errno (`-ETIMEDOUT` when the BMC did not answer within `timeout_ms`).
int ceems_ipmi_request(const char *device, unsigned char netfn, unsigned char command, const unsigned char *data,
                       unsigned short data_length, unsigned char *response, int response_capacity, int timeout_ms);

/// The file system type (`statfs(2)` `f_type`) of `path`, or -errno.
long ceems_filesystem_type(const char *path);

#endif
