/* mpwrite.h -- msgpack encoding straight into an event's buffer.
 *
 * The producer's hot path writes msgpack with these inline functions
 * instead of msgpack-c's packer because builders need patchable container
 * headers (map32/array32 whose count is filled in at the end) and the
 * event buffer must be reused without a callback per value. Decoding and
 * validation use msgpack-c. Every function returns 0, or -1 on OOM. */
#ifndef EVT_CORE_MPWRITE_H
#define EVT_CORE_MPWRITE_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "event.h"

/* v as n (1, 2, 4 or 8) big-endian bytes: one byte-swapped store (a byte
 * loop here cost ~140 instructions per sample event). */
static inline void mp_put_be(unsigned char *p, uint64_t v, unsigned n)
{
    switch (n) {
    case 1: p[0] = (unsigned char)v; break;
    case 2: { uint16_t x = __builtin_bswap16((uint16_t)v); memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = __builtin_bswap32((uint32_t)v); memcpy(p, &x, 4); break; }
    default: { uint64_t x = __builtin_bswap64(v); memcpy(p, &x, 8); break; }
    }
}

static inline int mp_tagged(struct evt_event *e, unsigned char tag,
                            uint64_t v, unsigned n)
{
    if (evt__event_reserve(e, 1 + n))
        return -1;
    e->buf[e->len] = tag;
    mp_put_be(e->buf + e->len + 1, v, n);
    e->len += 1 + n;
    return 0;
}

static inline int mp_raw(struct evt_event *e, const void *p, size_t n)
{
    if (evt__event_reserve(e, n))
        return -1;
    if (n)
        memcpy(e->buf + e->len, p, n);
    e->len += n;
    return 0;
}

static inline int mp_nil(struct evt_event *e)
{
    unsigned char c = 0xc0;
    return mp_raw(e, &c, 1);
}

static inline int mp_bool(struct evt_event *e, int v)
{
    unsigned char c = v ? 0xc3 : 0xc2;
    return mp_raw(e, &c, 1);
}

static inline int mp_uint(struct evt_event *e, uint64_t v)
{
    if (v < 128) {
        unsigned char c = (unsigned char)v;
        return mp_raw(e, &c, 1);
    }
    if (v <= 0xff)
        return mp_tagged(e, 0xcc, v, 1);
    if (v <= 0xffff)
        return mp_tagged(e, 0xcd, v, 2);
    if (v <= 0xffffffffu)
        return mp_tagged(e, 0xce, v, 4);
    return mp_tagged(e, 0xcf, v, 8);
}

static inline int mp_int(struct evt_event *e, int64_t v)
{
    if (v >= 0)
        return mp_uint(e, (uint64_t)v);
    if (v >= -32) {
        unsigned char c = (unsigned char)(0xe0 | (v & 0x1f));
        return mp_raw(e, &c, 1);
    }
    if (v >= INT8_MIN)
        return mp_tagged(e, 0xd0, (uint64_t)v & 0xff, 1);
    if (v >= INT16_MIN)
        return mp_tagged(e, 0xd1, (uint64_t)v & 0xffff, 2);
    if (v >= INT32_MIN)
        return mp_tagged(e, 0xd2, (uint64_t)v & 0xffffffffu, 4);
    return mp_tagged(e, 0xd3, (uint64_t)v, 8);
}

static inline int mp_double(struct evt_event *e, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return mp_tagged(e, 0xcb, bits, 8);
}

static inline int mp_str_hdr(struct evt_event *e, size_t n)
{
    if (n < 32) {
        unsigned char c = (unsigned char)(0xa0 | n);
        return mp_raw(e, &c, 1);
    }
    if (n <= 0xff)
        return mp_tagged(e, 0xd9, n, 1);
    if (n <= 0xffff)
        return mp_tagged(e, 0xda, n, 2);
    return mp_tagged(e, 0xdb, n, 4);
}

static inline int mp_str(struct evt_event *e, const char *s, size_t n)
{
    if (evt__event_reserve(e, n + 5))
        return -1;
    mp_str_hdr(e, n); /* cannot fail: room was reserved */
    if (n)
        memcpy(e->buf + e->len, s, n);
    e->len += n;
    return 0;
}

/* Copy n < 32 bytes from s to d with overlapping word moves (as memcpy
 * does for small sizes); returns the OR of the words moved, so that the
 * caller learns on the way whether a byte is >= 0x80. */
static inline uint64_t mp_copy_small(unsigned char *d, const char *s,
                                     size_t n)
{
    uint64_t a, b, c, w;
    if (n >= 16) {
        memcpy(&a, s, 8), memcpy(&b, s + 8, 8);
        memcpy(&c, s + n - 16, 8), memcpy(&w, s + n - 8, 8);
        memcpy(d, &a, 8), memcpy(d + 8, &b, 8);
        memcpy(d + n - 16, &c, 8), memcpy(d + n - 8, &w, 8);
        return a | b | c | w;
    }
    if (n >= 8) {
        memcpy(&a, s, 8), memcpy(&w, s + n - 8, 8);
        memcpy(d, &a, 8), memcpy(d + n - 8, &w, 8);
        return a | w;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4), memcpy(&y, s + n - 4, 4);
        memcpy(d, &x, 4), memcpy(d + n - 4, &y, 4);
        return x | y;
    }
    if (n == 0)
        return 0;
    unsigned char x = (unsigned char)s[0], y = (unsigned char)s[n >> 1],
                  z = (unsigned char)s[n - 1]; /* all of n <= 3 bytes */
    d[0] = x, d[n >> 1] = y, d[n - 1] = z;
    return x | y | z;
}

/* Append s[0..n), n < 32, as a fixstr when every byte is ASCII; room for
 * 1 + n bytes must be reserved. Returns 0, or -1 (nothing appended) when
 * a byte is >= 0x80: the caller then checks it as UTF-8. */
static inline int mp_fixstr_ascii(struct evt_event *e, const char *s,
                                  size_t n)
{
    unsigned char *d = e->buf + e->len;
    if (mp_copy_small(d + 1, s, n) & 0x8080808080808080ull)
        return -1;
    d[0] = (unsigned char)(0xa0 | n);
    e->len += 1 + n;
    return 0;
}

/* Copy n >= 16 bytes from s to d, 16 at a time (the last 16 overlapping);
 * returns 1 when every byte is ASCII. One pass does what memcpy and the
 * UTF-8 check's ASCII test did in two. */
static inline int mp_copy_ascii(unsigned char *d, const char *s, size_t n)
{
#if defined(__SSE2__)
    __m128i acc = _mm_setzero_si128(), v;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        _mm_storeu_si128((__m128i *)(void *)(d + i), v);
        acc = _mm_or_si128(acc, v);
    }
    if (i < n) {
        v = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
        _mm_storeu_si128((__m128i *)(void *)(d + n - 16), v);
        acc = _mm_or_si128(acc, v);
    }
    return _mm_movemask_epi8(acc) == 0;
#else
    uint64_t acc = 0, a, b;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&a, s + i, 8), memcpy(&b, s + i + 8, 8);
        memcpy(d + i, &a, 8), memcpy(d + i + 8, &b, 8);
        acc |= a | b;
    }
    if (i < n) {
        memcpy(&a, s + n - 16, 8), memcpy(&b, s + n - 8, 8);
        memcpy(d + n - 16, &a, 8), memcpy(d + n - 8, &b, 8);
        acc |= a | b;
    }
    return (acc & 0x8080808080808080ull) == 0;
#endif
}

/* Append s[0..n), n >= 32 and < 4 GiB, as a str when every byte is ASCII;
 * room for 5 + n bytes must be reserved. Returns 0, or -1 (nothing
 * appended) when a byte is >= 0x80. */
static inline int mp_str_ascii(struct evt_event *e, const char *s, size_t n)
{
    size_t at = e->len;
    mp_str_hdr(e, n); /* cannot fail: room was reserved */
    if (!mp_copy_ascii(e->buf + e->len, s, n)) {
        e->len = at;
        return -1;
    }
    e->len += n;
    return 0;
}

static inline int mp_cstr(struct evt_event *e, const char *s)
{
    return mp_str(e, s, strlen(s));
}

/* A map32 or array32 header whose count is patched later; returns its
 * offset in *off. */
static inline int mp_container32(struct evt_event *e, int is_map,
                                 size_t *off)
{
    *off = e->len;
    return mp_tagged(e, is_map ? 0xdf : 0xdd, 0, 4);
}

static inline void mp_patch_count(struct evt_event *e, size_t off,
                                  uint32_t count)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    count = __builtin_bswap32(count);
#endif
    memcpy(e->buf + off + 1, &count, 4);
}

#endif
