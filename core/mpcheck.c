/* mpcheck.c -- msgpack validation without allocation (see mpcheck.h). */
#include "mpcheck.h"

#include "strbuf.h"
#include "utf8.h"

static uint64_t be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

struct walk {
    const unsigned char *start, *p, *end;
    char *err;
    size_t errlen;
};

static __attribute__((noinline, cold)) int bad(struct walk *w,
                                               const char *what)
{
    evt__err(w->err, w->errlen, -1, "msgpack at byte %zu: %s",
             (size_t)(w->p - w->start), what);
    return -1;
}

/* Size fields of the type byte c: header length and payload length or
 * element count. kind: 0 scalar, 1 raw bytes (str/bin/ext), 2 array, 3 map. */
static int head(struct walk *w, unsigned *hlen, uint64_t *n, int *kind,
                int *is_str)
{
    if (w->p >= w->end)
        return bad(w, "truncated");
    unsigned c = w->p[0];
    *is_str = 0;
    *kind = 0;
    *n = 0;
    *hlen = 1;
    unsigned sz = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 0;
    if ((c & 0xf0) == 0x80 || (c & 0xf0) == 0x90) {
        *kind = (c & 0xf0) == 0x80 ? 3 : 2;
        *n = c & 0x0f;
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        *kind = 1;
        *is_str = 1;
        *n = c & 0x1f;
        return 0;
    }
    switch (c) {
    case 0xcc: case 0xd0: *hlen = 2; return 0;
    case 0xcd: case 0xd1: *hlen = 3; return 0;
    case 0xca: case 0xce: case 0xd2: *hlen = 5; return 0;
    case 0xcb: case 0xcf: case 0xd3: *hlen = 9; return 0;
    case 0xd4: *kind = 1; *hlen = 2; *n = 1; return 0;
    case 0xd5: *kind = 1; *hlen = 2; *n = 2; return 0;
    case 0xd6: *kind = 1; *hlen = 2; *n = 4; return 0;
    case 0xd7: *kind = 1; *hlen = 2; *n = 8; return 0;
    case 0xd8: *kind = 1; *hlen = 2; *n = 16; return 0;
    case 0xd9: *is_str = 1; /* fall through */
    case 0xc4: sz = 1; *kind = 1; break;
    case 0xda: *is_str = 1; /* fall through */
    case 0xc5: sz = 2; *kind = 1; break;
    case 0xdb: *is_str = 1; /* fall through */
    case 0xc6: sz = 4; *kind = 1; break;
    case 0xc7: sz = 1; *kind = 1; *hlen = 1; break;
    case 0xc8: sz = 2; *kind = 1; *hlen = 1; break;
    case 0xc9: sz = 4; *kind = 1; *hlen = 1; break;
    case 0xdc: sz = 2; *kind = 2; break;
    case 0xdd: sz = 4; *kind = 2; break;
    case 0xde: sz = 2; *kind = 3; break;
    case 0xdf: sz = 4; *kind = 3; break;
    default: return bad(w, "invalid type byte 0xc1");
    }
    if ((size_t)(w->end - w->p) < 1 + sz)
        return bad(w, "truncated");
    *n = be(w->p + 1, sz);
    *hlen = 1 + sz + (c >= 0xc7 && c <= 0xc9 ? 1 : 0); /* ext type byte */
    return 0;
}

/* Check a str or bin body of n bytes at w->p and step over it. */
static inline __attribute__((always_inline)) int body(struct walk *w,
                                                    uint64_t n, int is_str)
{
    if ((uint64_t)(w->end - w->p) < n)
        return bad(w, "truncated");
    if (is_str && !evt__utf8_valid((const char *)w->p, (size_t)n, NULL))
        return bad(w, "invalid UTF-8 in a string");
    w->p += n;
    return 0;
}

/* Walk one object iteratively: todo counts the items left in the current
 * container, pending[] those of the containers around it. The common
 * scalar types are handled before the general header decoding. */
static int walk_one(struct walk *w, int max_depth)
{
    uint64_t pending[EVT_MP_EVENT_MAX_DEPTH + 1];
    int depth = 0;
    uint64_t todo = 1;
    for (;;) {
        while (todo == 0) {
            if (depth == 0)
                return 0;
            todo = pending[--depth];
        }
        todo--;
        if (w->p >= w->end)
            return bad(w, "truncated");
        unsigned c = w->p[0];
        if (c <= 0x7f || c >= 0xe0 || ((c & 0xfc) == 0xc0 && c != 0xc1)) {
            w->p++; /* fixint, nil, false, true */
            continue;
        }
        if ((c & 0xe0) == 0xa0) { /* fixstr */
            w->p++;
            if (body(w, c & 0x1f, 1))
                return -1;
            continue;
        }
        unsigned hlen;
        uint64_t n;
        int kind, is_str;
        if (head(w, &hlen, &n, &kind, &is_str))
            return -1;
        if ((size_t)(w->end - w->p) < hlen)
            return bad(w, "truncated");
        if (kind < 2) {
            w->p += hlen;
            if (kind == 1 && body(w, n, is_str))
                return -1;
            continue;
        }
        if (depth >= max_depth)
            return bad(w, "nesting too deep");
        w->p += hlen;
        uint64_t items = kind == 3 ? 2 * n : n;
        if (items > (uint64_t)(w->end - w->p))
            return bad(w, "truncated"); /* every item takes a byte */
        pending[depth++] = todo;
        todo = items;
    }
}

int evt__mp_check_from(const unsigned char *buf, size_t len, size_t at,
                       size_t *used, char *err, size_t errlen)
{
    struct walk w = {buf, buf + at, buf + len, err, errlen};
    if (walk_one(&w, EVT_MP_MAX_DEPTH))
        return -1;
    *used = (size_t)(w.p - buf) - at;
    return 0;
}

int evt__mp_check_event(const unsigned char *p, size_t len, char *err,
                        size_t errlen)
{
    struct walk w = {p, p, p + len, err, errlen};
    uint32_t count;
    size_t hdr;
    if (evt__mp_map_header(p, len, &count, &hdr) != 0)
        return bad(&w, "not a map");
    if (walk_one(&w, EVT_MP_EVENT_MAX_DEPTH))
        return -1;
    if (w.p != w.end)
        return bad(&w, "bytes after the map");
    return 0;
}

int evt__mp_check(const unsigned char *p, size_t len, size_t *used,
                  char *err, size_t errlen)
{
    return evt__mp_check_from(p, len, 0, used, err, errlen);
}

int evt__mp_map_header(const unsigned char *p, size_t len, uint32_t *count,
                       size_t *hdr)
{
    if (len >= 1 && (p[0] & 0xf0) == 0x80) {
        *count = p[0] & 0x0f;
        *hdr = 1;
    } else if (len >= 3 && p[0] == 0xde) {
        *count = (uint32_t)be(p + 1, 2);
        *hdr = 3;
    } else if (len >= 5 && p[0] == 0xdf) {
        *count = (uint32_t)be(p + 1, 4);
        *hdr = 5;
    } else
        return -1;
    return 0;
}

int evt__mp_str(const unsigned char *p, size_t len, const char **s,
                size_t *slen, size_t *used)
{
    size_t h;
    uint64_t n;
    if (len >= 1 && (p[0] & 0xe0) == 0xa0) {
        h = 1;
        n = p[0] & 0x1f;
    } else if (len >= 2 && p[0] == 0xd9) {
        h = 2;
        n = p[1];
    } else if (len >= 3 && p[0] == 0xda) {
        h = 3;
        n = be(p + 1, 2);
    } else if (len >= 5 && p[0] == 0xdb) {
        h = 5;
        n = be(p + 1, 4);
    } else
        return -1;
    if (n > len - h)
        return -1;
    *s = (const char *)p + h;
    *slen = (size_t)n;
    *used = h + (size_t)n;
    return 0;
}

int evt__mp_int(const unsigned char *p, size_t len, int64_t *v)
{
    if (len < 1)
        return -1;
    unsigned c = p[0];
    if (c <= 0x7f) {
        *v = c;
        return 0;
    }
    if (c >= 0xe0) {
        *v = (int64_t)(int8_t)c;
        return 0;
    }
    static const unsigned char sizes[] = {1, 2, 4, 8};
    if (c >= 0xcc && c <= 0xcf) { /* uint 8..64 */
        unsigned n = sizes[c - 0xcc];
        if (len < 1 + n)
            return -1;
        uint64_t u = be(p + 1, n);
        if (u > INT64_MAX)
            return -1;
        *v = (int64_t)u;
        return 0;
    }
    if (c >= 0xd0 && c <= 0xd3) { /* int 8..64, sign-extended */
        unsigned n = sizes[c - 0xd0];
        if (len < 1 + n)
            return -1;
        uint64_t u = be(p + 1, n);
        unsigned shift = 64 - 8 * n;
        *v = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
        return 0;
    }
    return -1;
}
