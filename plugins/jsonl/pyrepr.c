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

static void repr_number(struct evt_buf *b, const msgpack_object *o)
{
    char tmp[32];
    int n = 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        n = snprintf(tmp, sizeof tmp, "%" PRIu64, o->via.u64);
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        n = snprintf(tmp, sizeof tmp, "%" PRId64, o->via.i64);
    else
        n = (int)evt_py_float_repr(o->via.f64, tmp);
    evt_buf_put(b, tmp, (size_t)n);
}

static int repr_at(struct evt_buf *b, const msgpack_object *o, int depth);

static int repr_array(struct evt_buf *b, const msgpack_object *o, int depth)
{
    evt_buf_put(b, "[", 1);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (i)
            evt_buf_put(b, ", ", 2);
        if (repr_at(b, &o->via.array.ptr[i], depth + 1))
            return -1;
    }
    evt_buf_put(b, "]", 1);
    return 0;
}

static int repr_map(struct evt_buf *b, const msgpack_object *o, int depth)
{
    evt_buf_put(b, "{", 1);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        if (i)
            evt_buf_put(b, ", ", 2);
        if (repr_at(b, &o->via.map.ptr[i].key, depth + 1))
            return -1;
        evt_buf_put(b, ": ", 2);
        if (repr_at(b, &o->via.map.ptr[i].val, depth + 1))
            return -1;
    }
    evt_buf_put(b, "}", 1);
    return 0;
}

static void repr_ext(struct evt_buf *b, const msgpack_object *o)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "ExtType(code=%d, data=",
                     (int)o->via.ext.type);
    evt_buf_put(b, tmp, (size_t)n);
    repr_bytes(b, o->via.ext.ptr, o->via.ext.size);
    evt_buf_put(b, ")", 1);
}

static int repr_at(struct evt_buf *b, const msgpack_object *o, int depth)
{
    if (depth > JL_PY_MAX_DEPTH)
        return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: evt_buf_puts(b, "None"); return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        evt_buf_puts(b, o->via.boolean ? "True" : "False");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: repr_number(b, o); return 0;
    case MSGPACK_OBJECT_STR:
        repr_text(b, o->via.str.ptr, o->via.str.size);
        return 0;
    case MSGPACK_OBJECT_BIN:
        repr_bytes(b, o->via.bin.ptr, o->via.bin.size);
        return 0;
    case MSGPACK_OBJECT_EXT: repr_ext(b, o); return 0;
    case MSGPACK_OBJECT_ARRAY: return repr_array(b, o, depth);
    case MSGPACK_OBJECT_MAP: return repr_map(b, o, depth);
    }
    return -1;
}

int jl_py_repr(struct evt_buf *b, const msgpack_object *o)
{
    return repr_at(b, o, 0);
}

int jl_py_str(struct evt_buf *b, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        evt_buf_put(b, o->via.str.ptr, o->via.str.size);
        return 0;
    }
    return repr_at(b, o, 0);
}
