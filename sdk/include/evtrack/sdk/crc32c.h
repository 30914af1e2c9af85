/* evtrack/sdk/crc32c.h -- CRC-32C (Castagnoli) and the TFRecord/LevelDB
 * mask.
 *
 * CRC-32C: reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF,
 * final XOR 0xFFFFFFFF. Uses the SSE4.2 crc32 instruction when the CPU has
 * it (checked once, thread-safe), a slicing-by-8 table otherwise. */
#ifndef EVTRACK_SDK_CRC32C_H
#define EVTRACK_SDK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32C of buf[0..len), continuing from crc. Pass 0 to start; the
 * pre/post inversion is done inside, so calls chain:
 *   evt_crc32c(evt_crc32c(0, a, n), b, m) == CRC-32C of a || b.
 * evt_crc32c(0, "123456789", 9) == 0xE3069283. buf may be NULL when
 * len is 0. Thread-safe. */
uint32_t evt_crc32c(uint32_t crc, const void *buf, size_t len);

/* The TFRecord/LevelDB masked form of a CRC:
 *   ((crc >> 15) | (crc << 17)) + 0xa282ead8, mod 2^32. */
uint32_t evt_crc32c_mask(uint32_t crc);

/* For tests: the portable table implementation (same contract as
 * evt_crc32c), and 1 when evt_crc32c uses the SSE4.2 instruction. */
uint32_t evt__crc32c_sw(uint32_t crc, const void *buf, size_t len);
int evt__crc32c_uses_hw(void);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SDK_CRC32C_H */
