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

#include "event.h"

static inline void mp_put_be(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
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

/* The C string s as a fixstr when it is ASCII and shorter than 32 bytes,
 * which most keys are: one pass copies it, finds its end and checks its
 * bytes, where the general path takes three (strlen, UTF-8 check, copy).
 * Returns its length, or -1 (nothing appended) when s is longer or holds
 * a byte >= 0x80, or on OOM: the caller then takes the general path,
 * which reports what is wrong. */
static inline long mp_short_ascii(struct evt_event *e, const char *s)
{
    if (evt__event_reserve(e, 1 + 32)) /* the header, and 32 bytes copied
                                          before a long s is noticed */
        return -1;
    unsigned char *d = e->buf + e->len + 1, acc = 0;
    size_t n = 0;
    for (; n < 32 && s[n]; n++) { /* never reads past the NUL */
        d[n] = (unsigned char)s[n];
        acc |= (unsigned char)s[n];
    }
    if (n == 32 || acc >= 0x80)
        return -1;
    d[-1] = (unsigned char)(0xa0 | n);
    e->len += 1 + n;
    return (long)n;
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
    mp_put_be(e->buf + off + 1, count, 4);
}

#endif
