/* backoff.c -- capped full-jitter exponential backoff (as Fluent Bit's
 * backoff_full_jitter), so retries of many sinks do not synchronise. */
#include "backoff.h"

int64_t evt__backoff_ceiling_ms(int64_t base_ms, int64_t cap_ms,
                                unsigned attempt)
{
    if (base_ms <= 0)
        return 0;
    int64_t ceil = base_ms;
    for (unsigned i = 0; i < attempt && ceil < cap_ms; i++)
        ceil *= 2;
    return ceil < cap_ms ? ceil : cap_ms;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

int64_t evt__backoff_ms(int64_t base_ms, int64_t cap_ms, unsigned attempt,
                        uint64_t *rng)
{
    int64_t ceil = evt__backoff_ceiling_ms(base_ms, cap_ms, attempt);
    if (ceil <= 0)
        return 0;
    return (int64_t)(xorshift64(rng) % (uint64_t)(ceil + 1));
}
