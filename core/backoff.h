/* backoff.h -- capped full-jitter exponential backoff. */
#ifndef EVT_CORE_BACKOFF_H
#define EVT_CORE_BACKOFF_H

#include <stdint.h>

/* Delay in ms before retry number attempt (0-based):
 * uniform in [0, min(cap_ms, base_ms * 2^attempt)], drawn from *rng
 * (a xorshift state, never 0). */
int64_t evt__backoff_ms(int64_t base_ms, int64_t cap_ms, unsigned attempt,
                        uint64_t *rng);

/* The ceiling of that range, for tests and docs. */
int64_t evt__backoff_ceiling_ms(int64_t base_ms, int64_t cap_ms,
                                unsigned attempt);

#endif
