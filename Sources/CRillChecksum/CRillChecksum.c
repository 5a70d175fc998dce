// The CRC-32C instruction of SSE4.2, compiled for that instruction set function by function (the target
// attribute) so the rest of the build stays generic and the caller picks this path only after a CPU check.
#include "CRillChecksum.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

int rill_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t rill_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count) {
    const unsigned char *next = bytes;
    uint64_t crc = reg;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, next, 8);  // unaligned load without undefined behaviour
        crc = _mm_crc32_u64(crc, word);
        next += 8;
        count -= 8;
    }
    uint32_t crc32 = (uint32_t)crc;
    while (count > 0) {
        crc32 = _mm_crc32_u8(crc32, *next);
        next += 1;
        count -= 1;
    }
    return crc32;
}

#else

int rill_crc32c_hardware_available(void) { return 0; }

uint32_t rill_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return reg;
}

#endif
