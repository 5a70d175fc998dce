#ifndef C_RILL_CHECKSUM_H
#define C_RILL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has a CRC-32C instruction that rill_crc32c_hardware_update can use (SSE4.2 on x86-64).
int rill_crc32c_hardware_available(void);

/// Feeds `count` bytes at `bytes` to the running (inverted, not finalised) CRC-32C register and returns the new
/// register. Only call it when rill_crc32c_hardware_available() returned non-zero.
uint32_t rill_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count);

#endif
