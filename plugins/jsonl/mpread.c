/* mpread.c -- reading msgpack bytes in place (mpread.h). */
#include "mpread.h"

#include <string.h>

static inline uint64_t be32(const unsigned char *p)
{
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
           (uint64_t)p[2] << 8 | p[3];
}

/* The big-endian unsigned number of n (0, 1, 2, 4 or 8) bytes at p. */
static inline uint64_t be(const unsigned char *p, unsigned n)
{
    switch (n) {
    case 1: return p[0];
    case 2: return (uint64_t)p[0] << 8 | p[1];
    case 4: return be32(p);
    case 8: return be32(p) << 32 | be32(p + 4);
    default: return 0;
    }
}

/* An integer as msgpack-c types it: UINT when >= 0, NEG below. */
static void set_int(struct jl_mv *v, int64_t x)
{
    if (x >= 0) {
        v->t = JL_MT_UINT;
        v->v.u = (uint64_t)x;
    } else {
        v->t = JL_MT_NEG;
        v->v.i = x;
    }
}

/* The signed integer of n big-endian bytes (two's complement). */
static int64_t be_signed(const unsigned char *p, unsigned n)
{
    uint64_t u = be(p, n);
    if (n < 8 && (u >> (8 * n - 1)))
        u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    int64_t x;
    memcpy(&x, &u, sizeof x); /* two's complement, without UB */
    return x;
}

static double be_float(const unsigned char *p, unsigned n)
{
    uint64_t u = be(p, n);
    if (n == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, sizeof f);
        return (double)f;
    }
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Move c past a header of 1 + size bytes when they are there. */
static int take(struct jl_cur *c, size_t size)
{
    if ((size_t)(c->end - c->p) - 1 < size)
        return -1;
    c->p += 1 + size;
    return 0;
}

/* str, bin, ext: a length field of lenb bytes (none for fixext, whose
 * size is n), for ext a type byte, then the payload. */
static int read_raw(struct jl_cur *c, struct jl_mv *v, enum jl_mt t,
                    unsigned lenb, uint32_t n)
{
    const unsigned char *q = c->p + 1;
    size_t left = (size_t)(c->end - q);
    if (left < lenb)
        return -1;
    v->t = t;
    v->n = lenb ? (uint32_t)be(q, lenb) : n;
    q += lenb;
    left -= lenb;
    if (t == JL_MT_EXT) {
        if (left < 1)
            return -1;
        v->ext = (signed char)*q++;
        left--;
    }
    if (left < v->n)
        return -1;
    v->s = (const char *)q;
    c->p = q + v->n;
    return 0;
}

/* array16/32, map16/32: a count of lenb bytes. */
static int read_count(struct jl_cur *c, struct jl_mv *v, enum jl_mt t,
                      unsigned lenb)
{
    const unsigned char *q = c->p + 1;
    if (take(c, lenb))
        return -1;
    v->t = t;
    v->n = (uint32_t)be(q, lenb);
    return 0;
}

/* A number of size bytes after the type byte. */
static int read_number(struct jl_cur *c, struct jl_mv *v, enum jl_mt t,
                       unsigned size)
{
    const unsigned char *q = c->p + 1;
    if (take(c, size))
        return -1;
    if (t == JL_MT_UINT) {
        v->t = JL_MT_UINT;
        v->v.u = be(q, size);
    } else if (t == JL_MT_NEG) {
        set_int(v, be_signed(q, size));
    } else {
        v->t = t;
        v->v.d = be_float(q, size);
    }
    return 0;
}

/* Any type byte (jl_mp_read decodes the common ones itself). */
int jl_mp_read_slow(struct jl_cur *c, struct jl_mv *v)
{
    if (c->p >= c->end)
        return -1;
    unsigned b = c->p[0];
    if (b <= 0x7f || (b & 0xe0) == 0xa0)
        return jl_mp_read(c, v);
    if (b >= 0xe0) { /* negative fixint */
        set_int(v, (int64_t)b - 256);
        c->p++;
        return 0;
    }
    if (b <= 0x9f) { /* fixmap, fixarray */
        v->t = b <= 0x8f ? JL_MT_MAP : JL_MT_ARRAY;
        v->n = b & 0x0f;
        c->p++;
        return 0;
    }
    switch (b) {
    case 0xc0: v->t = JL_MT_NIL; return take(c, 0);
    case 0xc2:
    case 0xc3: v->t = JL_MT_BOOL; v->v.b = b == 0xc3; return take(c, 0);
    case 0xc4: return read_raw(c, v, JL_MT_BIN, 1, 0);
    case 0xc5: return read_raw(c, v, JL_MT_BIN, 2, 0);
    case 0xc6: return read_raw(c, v, JL_MT_BIN, 4, 0);
    case 0xc7: return read_raw(c, v, JL_MT_EXT, 1, 0);
    case 0xc8: return read_raw(c, v, JL_MT_EXT, 2, 0);
    case 0xc9: return read_raw(c, v, JL_MT_EXT, 4, 0);
    case 0xca: return read_number(c, v, JL_MT_F32, 4);
    case 0xcb: return read_number(c, v, JL_MT_F64, 8);
    case 0xcc: return read_number(c, v, JL_MT_UINT, 1);
    case 0xcd: return read_number(c, v, JL_MT_UINT, 2);
    case 0xce: return read_number(c, v, JL_MT_UINT, 4);
    case 0xcf: return read_number(c, v, JL_MT_UINT, 8);
    case 0xd0: return read_number(c, v, JL_MT_NEG, 1);
    case 0xd1: return read_number(c, v, JL_MT_NEG, 2);
    case 0xd2: return read_number(c, v, JL_MT_NEG, 4);
    case 0xd3: return read_number(c, v, JL_MT_NEG, 8);
    case 0xd4: return read_raw(c, v, JL_MT_EXT, 0, 1);
    case 0xd5: return read_raw(c, v, JL_MT_EXT, 0, 2);
    case 0xd6: return read_raw(c, v, JL_MT_EXT, 0, 4);
    case 0xd7: return read_raw(c, v, JL_MT_EXT, 0, 8);
    case 0xd8: return read_raw(c, v, JL_MT_EXT, 0, 16);
    case 0xd9: return read_raw(c, v, JL_MT_STR, 1, 0);
    case 0xda: return read_raw(c, v, JL_MT_STR, 2, 0);
    case 0xdb: return read_raw(c, v, JL_MT_STR, 4, 0);
    case 0xdc: return read_count(c, v, JL_MT_ARRAY, 2);
    case 0xdd: return read_count(c, v, JL_MT_ARRAY, 4);
    case 0xde: return read_count(c, v, JL_MT_MAP, 2);
    case 0xdf: return read_count(c, v, JL_MT_MAP, 4);
    default: return -1; /* 0xc1: never used */
    }
}

int jl_mp_skip_n(struct jl_cur *c, uint64_t n, int max_depth)
{
    if (max_depth > JL_MP_MAX_DEPTH) /* bounds the recursion */
        max_depth = JL_MP_MAX_DEPTH;
    while (n--) {
        struct jl_mv v;
        if (jl_mp_read(c, &v))
            return -1;
        if (v.t != JL_MT_ARRAY && v.t != JL_MT_MAP)
            continue;
        uint64_t items = v.t == JL_MT_MAP ? 2 * (uint64_t)v.n : v.n;
        if (max_depth < 1 || jl_mp_skip_n(c, items, max_depth - 1))
            return -1;
    }
    return 0;
}
