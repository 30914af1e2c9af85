/* mpread.h -- reading msgpack bytes in place, one value header at a time.
 *
 * The jsonl sink writes each line straight from the event's bytes instead
 * of decoding them into msgpack-c's object tree first: the tree, its zone
 * and the intermediate record cost more than writing the line itself
 * (docs/PERFORMANCE.md, jsonl section). Values are read with a cursor;
 * containers are walked by reading their items in turn.
 *
 * Every read is bounds-checked: truncated or malformed bytes give -1,
 * never a read past the end. Types follow msgpack-c's decoding: an integer
 * is JL_MT_UINT when its value is >= 0 and JL_MT_NEG otherwise, whatever
 * its encoding; a float32 is read as the double it converts to. */
#ifndef JSONL_MPREAD_H
#define JSONL_MPREAD_H

#include <stddef.h>
#include <stdint.h>

/* Deepest container nesting of an event, its top-level map included:
 * msgpack-c's limit, which the sink used to decode events with. */
#define JL_MP_MAX_DEPTH 32

enum jl_mt {
    JL_MT_NIL, JL_MT_BOOL, JL_MT_UINT, JL_MT_NEG, JL_MT_F32, JL_MT_F64,
    JL_MT_STR, JL_MT_BIN, JL_MT_EXT, JL_MT_ARRAY, JL_MT_MAP
};

/* One value as read: its type, and its contents for scalars, str, bin and
 * ext (a container's items follow it in the bytes). */
struct jl_mv {
    enum jl_mt t;
    uint32_t n;    /* STR, BIN, EXT: payload bytes; ARRAY: items; MAP: pairs */
    const char *s; /* STR, BIN, EXT: the payload */
    int ext;       /* EXT: its type (-128..127) */
    union {
        int b;      /* BOOL */
        uint64_t u; /* UINT */
        int64_t i;  /* NEG */
        double d;   /* F32, F64 */
    } v;
};

/* A position in msgpack bytes; end is one past the last byte. */
struct jl_cur {
    const unsigned char *p, *end;
};

/* A cursor on p[0..n); on nothing (reads fail) when p is NULL. */
static inline struct jl_cur jl_cur_of(const void *p, size_t n)
{
    const unsigned char *b = p;
    struct jl_cur c = {b, b ? b + n : b};
    return c;
}

/* Read the value at c: its header and, for STR, BIN and EXT, its payload.
 * c moves past them (for a container, to its first item). 0, or -1 when
 * the bytes are truncated or hold the unused type byte 0xc1. Inline: it
 * runs for every value of every line. It decodes in place the headers
 * most values have: fixstr and positive fixint, and those the core's
 * builder writes for longer strings (str8) and for every container
 * (array32, map32, whose counts it patches); jl_mp_read_slow the rest. */
int jl_mp_read_slow(struct jl_cur *c, struct jl_mv *v);

static inline int jl_mp_read(struct jl_cur *c, struct jl_mv *v)
{
    if (c->p >= c->end)
        return -1;
    const unsigned char *p = c->p;
    size_t left = (size_t)(c->end - p) - 1; /* after the type byte */
    unsigned b = p[0];
    if ((b & 0xe0) == 0xa0 || b == 0xd9) { /* fixstr, str8 */
        size_t hl = b == 0xd9;
        if (left < hl)
            return -1;
        v->t = JL_MT_STR;
        v->n = hl ? p[1] : b & 0x1f;
        if (left - hl < v->n)
            return -1;
        v->s = (const char *)p + 1 + hl;
        c->p = p + 1 + hl + v->n;
        return 0;
    }
    if (b <= 0x7f) { /* positive fixint */
        v->t = JL_MT_UINT;
        v->v.u = b;
        c->p++;
        return 0;
    }
    if ((b == 0xdd || b == 0xdf) && left >= 4) { /* array32, map32 */
        v->t = b == 0xdd ? JL_MT_ARRAY : JL_MT_MAP;
        v->n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 8 | p[4];
        c->p = p + 5;
        return 0;
    }
    return jl_mp_read_slow(c, v);
}

/* Move c past n values, which may nest max_depth containers deep (at
 * most JL_MP_MAX_DEPTH). 0, or -1 when the bytes are truncated, malformed
 * or nest deeper. */
int jl_mp_skip_n(struct jl_cur *c, uint64_t n, int max_depth);

/* Move c past one whole value; the same limits, the value itself
 * counting as one level when it is a container. Inline: most values are
 * not containers and take one read. */
static inline int jl_mp_skip(struct jl_cur *c, int max_depth)
{
    struct jl_mv v;
    if (jl_mp_read(c, &v))
        return -1;
    if (v.t != JL_MT_ARRAY && v.t != JL_MT_MAP)
        return 0;
    if (max_depth < 1)
        return -1;
    return jl_mp_skip_n(c, v.t == JL_MT_MAP ? 2 * (uint64_t)v.n : v.n,
                        max_depth - 1);
}

/* 1 for the number types (ints and floats). */
static inline int jl_mt_number(enum jl_mt t)
{
    return t == JL_MT_UINT || t == JL_MT_NEG || t == JL_MT_F32 ||
           t == JL_MT_F64;
}

#endif
