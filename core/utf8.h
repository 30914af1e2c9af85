/* utf8.h -- UTF-8 validation (RFC 3629: no overlongs, no surrogates). */
#ifndef EVT_CORE_UTF8_H
#define EVT_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 when s[0..len) is valid UTF-8 (NUL bytes allowed), else 0 and
 * *bad_at (if not NULL) is the offset of the first bad byte. */
int evt__utf8_check(const char *s, size_t len, size_t *bad_at);

/* The same, with the all-ASCII case of short strings (most keys and
 * values) decided inline. */
static inline int evt__utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    if (len <= 16) { /* overlapping word loads cover every byte */
        uint64_t a = 0, b = 0;
        if (len >= 8) {
            memcpy(&a, s, 8), memcpy(&b, s + len - 8, 8);
        } else if (len >= 4) {
            uint32_t x, y;
            memcpy(&x, s, 4), memcpy(&y, s + len - 4, 4);
            a = x | y;
        } else if (len > 0) {
            a = (unsigned char)s[0] | (unsigned char)s[len >> 1] |
                (unsigned char)s[len - 1];
        }
        if (((a | b) & 0x8080808080808080ull) == 0)
            return 1;
    }
    return evt__utf8_check(s, len, bad_at);
}

#endif
