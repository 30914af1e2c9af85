/* utf8.h -- UTF-8 validation (RFC 3629: no overlongs, no surrogates). */
#ifndef EVT_CORE_UTF8_H
#define EVT_CORE_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 (NUL bytes allowed), else 0 and
 * *bad_at (if not NULL) is the offset of the first bad byte. */
int evt__utf8_valid(const char *s, size_t len, size_t *bad_at);

#endif
