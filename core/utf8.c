/* utf8.c -- UTF-8 validation with an ASCII fast path. */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid sequence at p (1..4), or 0 when invalid. */
static size_t seq_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* 1 when every byte of p[0..len) is ASCII. Branch-free over words: most
 * event strings are ASCII, so this is the common case. */
static int all_ascii(const unsigned char *p, size_t len)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    if (len >= 8) {
        for (; i + 16 <= len; i += 16) {
            uint64_t v;
            memcpy(&w, p + i, 8);
            memcpy(&v, p + i + 8, 8);
            acc |= w | v;
        }
        for (; i + 8 <= len; i += 8) {
            memcpy(&w, p + i, 8);
            acc |= w;
        }
        if (i < len) { /* the last 8 bytes, overlapping what was read */
            memcpy(&w, p + len - 8, 8);
            acc |= w;
        }
        return (acc & 0x8080808080808080ull) == 0;
    }
    unsigned char b = 0;
    for (; i < len; i++)
        b |= p[i];
    return b < 0x80;
}

int evt__utf8_check(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    if (all_ascii(p, len))
        return 1;
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] < 0x80)
            i++;
        if (i == len)
            break;
        size_t n = seq_len(p + i, len - i);
        if (n == 0) {
            if (bad_at)
                *bad_at = i;
            return 0;
        }
        i += n;
    }
    return 1;
}
