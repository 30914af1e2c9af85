/* utf8.h -- UTF-8 validation (RFC 3629: no overlongs, no surrogates). */
#ifndef EVT_CORE_UTF8_H
#define EVT_CORE_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 (NUL bytes allowed), else 0 and
 * *bad_at (if not NULL) is the offset of the first bad byte. */
int evt__utf8_check(const char *s, size_t len, size_t *bad_at);

/* The same, with the all-ASCII case of short strings (most keys and
 * values) decided inline. */
static inline int evt__utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    if (len <= 16) {
        unsigned char acc = 0;
        for (size_t i = 0; i < len; i++)
            acc |= (unsigned char)s[i];
        if (acc < 0x80)
            return 1;
    }
    return evt__utf8_check(s, len, bad_at);
}

#endif
