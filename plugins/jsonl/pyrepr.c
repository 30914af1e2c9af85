/* pyrepr.c -- Python str() and repr() of msgpack values (pyrepr.h).
 *
 * The escaping follows CPython's unicode_repr and bytes_repr: single
 * quotes unless the text holds a ' and no ", backslash escapes for the
 * quote, '\\', \t, \n and \r, \xhh for other ASCII controls and DEL, and
 * \xhh, \uhhhh or \Uhhhhhhhh (lowercase) for non-printable code points
 * (pyprint_table.h). A byte that is not valid UTF-8 (never produced by the
 * core, which checks every string) is written as \xhh. */
#include "pyrepr.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyprint_table.h"

/* 1 when Python's str.isprintable() is true for code point c. */
static int py_printable(uint32_t c)
{
    if (c < 0x80)
        return c >= 0x20 && c < 0x7f;
    size_t lo = 0, hi = sizeof jl_nonprint / sizeof jl_nonprint[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < jl_nonprint[mid][0])
            hi = mid;
        else if (c > jl_nonprint[mid][1])
            lo = mid + 1;
        else
            return 0;
    }
    return 1;
}

/* Decode one UTF-8 sequence at p (left > 0 bytes): its length (1..4) and
 * *cp, or 0 when the bytes there are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *p, size_t left, uint32_t *cp)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    uint32_t v = n == 1 ? c : c & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3fu);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (n == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return n;
}

static void put_hex(struct evt_buf *b, const char *fmt, uint32_t v)
{
    char tmp[16];
    int n = snprintf(tmp, sizeof tmp, fmt, (unsigned)v);
    evt_buf_put(b, tmp, (size_t)n);
}

/* The quote Python picks: ' unless the text has a ' and no ". */
static char pick_quote(const char *p, size_t n)
{
    int sq = memchr(p, '\'', n) != NULL, dq = memchr(p, '"', n) != NULL;
    return sq && !dq ? '"' : '\'';
}

/* The escape of an ASCII byte c shared by str and bytes repr; 0 if c
 * needs none. */
static int put_ascii_escape(struct evt_buf *b, unsigned c, char quote)
{
    if (c == (unsigned char)quote || c == '\\') {
        char e[2] = {'\\', (char)c};
        evt_buf_put(b, e, 2);
    } else if (c == '\t') {
        evt_buf_puts(b, "\\t");
    } else if (c == '\n') {
        evt_buf_puts(b, "\\n");
    } else if (c == '\r') {
        evt_buf_puts(b, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
        put_hex(b, "\\x%02x", c);
    } else {
        return 0;
    }
    return 1;
}

static void repr_text(struct evt_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char quote = pick_quote(s, n);
    evt_buf_put(b, &quote, 1);
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = utf8_decode(p + i, n - i, &cp);
        if (len == 0) {
            put_hex(b, "\\x%02x", p[i++]);
            continue;
        }
        if (cp < 0x80 && put_ascii_escape(b, cp, quote)) {
            i++;
            continue;
        }
        if (cp < 0x80 || py_printable(cp))
            evt_buf_put(b, p + i, len);
        else
            put_hex(b, cp <= 0xff ? "\\x%02x" : cp <= 0xffff ? "\\u%04x"
                                                             : "\\U%08x", cp);
        i += len;
    }
    evt_buf_put(b, &quote, 1);
}

static void repr_bytes(struct evt_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char quote = pick_quote(s, n);
    evt_buf_put(b, "b", 1);
    evt_buf_put(b, &quote, 1);
    for (size_t i = 0; i < n; i++) {
        if (put_ascii_escape(b, p[i], quote))
            continue;
        if (p[i] >= 0x80)
            put_hex(b, "\\x%02x", p[i]);
        else
            evt_buf_put(b, p + i, 1);
    }
    evt_buf_put(b, &quote, 1);
}

static void repr_number(struct evt_buf *b, const struct jl_mv *v)
{
    char tmp[32];
    int n = 0;
    if (v->t == JL_MT_UINT)
        n = snprintf(tmp, sizeof tmp, "%" PRIu64, v->v.u);
    else if (v->t == JL_MT_NEG)
        n = snprintf(tmp, sizeof tmp, "%" PRId64, v->v.i);
    else
        n = (int)evt_py_float_repr(v->v.d, tmp);
    evt_buf_put(b, tmp, (size_t)n);
}

static int repr_at(struct evt_buf *b, struct jl_cur *c, int depth);

static int repr_array(struct evt_buf *b, struct jl_cur *c, uint32_t n,
                      int depth)
{
    evt_buf_put(b, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            evt_buf_put(b, ", ", 2);
        if (repr_at(b, c, depth + 1))
            return -1;
    }
    evt_buf_put(b, "]", 1);
    return 0;
}

static int repr_map(struct evt_buf *b, struct jl_cur *c, uint32_t n,
                    int depth)
{
    evt_buf_put(b, "{", 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            evt_buf_put(b, ", ", 2);
        if (repr_at(b, c, depth + 1))
            return -1;
        evt_buf_put(b, ": ", 2);
        if (repr_at(b, c, depth + 1))
            return -1;
    }
    evt_buf_put(b, "}", 1);
    return 0;
}

static void repr_ext(struct evt_buf *b, const struct jl_mv *v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "ExtType(code=%d, data=", v->ext);
    evt_buf_put(b, tmp, (size_t)n);
    repr_bytes(b, v->s, v->n);
    evt_buf_put(b, ")", 1);
}

static int repr_at(struct evt_buf *b, struct jl_cur *c, int depth)
{
    struct jl_mv v;
    if (depth > JL_PY_MAX_DEPTH || jl_mp_read(c, &v))
        return -1;
    switch (v.t) {
    case JL_MT_NIL: evt_buf_puts(b, "None"); return 0;
    case JL_MT_BOOL: evt_buf_puts(b, v.v.b ? "True" : "False"); return 0;
    case JL_MT_UINT:
    case JL_MT_NEG:
    case JL_MT_F32:
    case JL_MT_F64: repr_number(b, &v); return 0;
    case JL_MT_STR: repr_text(b, v.s, v.n); return 0;
    case JL_MT_BIN: repr_bytes(b, v.s, v.n); return 0;
    case JL_MT_EXT: repr_ext(b, &v); return 0;
    case JL_MT_ARRAY: return repr_array(b, c, v.n, depth);
    case JL_MT_MAP: return repr_map(b, c, v.n, depth);
    }
    return -1;
}

int jl_py_repr(struct evt_buf *b, struct jl_cur *c)
{
    return repr_at(b, c, 0);
}

int jl_py_str(struct evt_buf *b, struct jl_cur *c)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v) == 0 && v.t == JL_MT_STR) {
        evt_buf_put(b, v.s, v.n);
        *c = peek;
        return 0;
    }
    return repr_at(b, c, 0);
}
