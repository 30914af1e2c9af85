/* json_write.c -- msgpack to JSON text as Python's json.dumps writes it
 * (see evtrack/sdk/json_write.h).
 *
 * Float repr: for a digit count k, the nearest k-digit decimal to d comes
 * from printf's correctly rounded "%.{k-1}e"; if it does not read back as
 * d, its neighbour on d's other side may (at a power of two the rounding
 * interval is lopsided), and no other k-digit decimal can. Whether some
 * k-digit decimal reads back only grows with k, so a binary search over
 * k = 1..17 finds the shortest; ties go to the nearest, as CPython's dtoa
 * mode 0 does. printf's radix character depends on the locale, so only
 * its digits and exponent are used; candidates are read back from text
 * "<digits>e<exp>", which has no radix character, so strtod reads it the
 * same in every locale. */
#include "evtrack/sdk/json_write.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable buffer ------------------------------------------------- */

void evt_buf_init(struct evt_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void evt_buf_free(struct evt_buf *b)
{
    free(b->data);
    evt_buf_init(b);
}

/* Room for n more bytes and the NUL: 0, or -1 with b->oom set. */
static int buf_reserve(struct evt_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (n >= SIZE_MAX - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void evt_buf_put(struct evt_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void evt_buf_puts(struct evt_buf *b, const char *s)
{
    evt_buf_put(b, s, strlen(s));
}

void evt_buf_rollback_oom(struct evt_buf *b, size_t mark)
{
    if (!b->oom || mark > b->len)
        return;
    b->len = mark;
    if (b->data)
        b->data[mark] = '\0';
}

static void buf_putc(struct evt_buf *b, char c)
{
    if (!b->oom && b->cap - b->len > 1) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return;
    }
    evt_buf_put(b, &c, 1);
}

/* ---- numbers --------------------------------------------------------- */

/* Decimal digits of v into out (NUL-terminated); returns the length. */
static size_t u64_dec(uint64_t v, char *out)
{
    char t[24];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* Decimal text of a signed value; returns the length. */
static size_t i64_dec(int64_t v, char *out)
{
    if (v >= 0)
        return u64_dec((uint64_t)v, out);
    out[0] = '-';
    return 1 + u64_dec((uint64_t)0 - (uint64_t)v, out + 1);
}

static const uint64_t pow10_u64[18] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL};

/* m * 10^e as a double, correctly rounded by strtod. */
static double read_back(uint64_t m, int e)
{
    char s[48];
    snprintf(s, sizeof s, "%" PRIu64 "e%d", m, e);
    return strtod(s, NULL);
}

/* The decimal with p+1 significant digits nearest to a (finite, > 0), as
 * *m * 10^*e. */
static void nearest_digits(double a, int p, uint64_t *m, int *e)
{
    char s[64];
    snprintf(s, sizeof s, "%.*e", p, a);
    const char *q = s;
    uint64_t v = 0;
    for (; *q && *q != 'e'; q++) /* skips the radix, whatever it is */
        if (*q >= '0' && *q <= '9')
            v = v * 10 + (uint64_t)(*q - '0');
    int neg = 0, x = 0;
    if (*q == 'e')
        q++;
    if (*q == '-' || *q == '+')
        neg = *q++ == '-';
    for (; *q >= '0' && *q <= '9'; q++)
        x = x * 10 + (*q - '0');
    *m = v;
    *e = (neg ? -x : x) - p;
}

/* Find a (p+1)-digit decimal that reads back as a: the nearest, else its
 * neighbour on a's other side. 1 and *m, *e set, or 0 if none. */
static int digits_round_trip(double a, int p, uint64_t *m, int *e)
{
    uint64_t v;
    int x;
    nearest_digits(a, p, &v, &x);
    double r = read_back(v, x);
    if (r != a) {
        if (r < a) {
            v++; /* 10^(p+1) at most: a shorter decimal, still exact */
        } else if (v > pow10_u64[p]) {
            v--;
        } else { /* 1000..0 -> 9999..9 one decade down */
            v = pow10_u64[p + 1] - 1;
            x--;
        }
        if (read_back(v, x) != a)
            return 0;
    }
    *m = v;
    *e = x;
    return 1;
}

/* Shortest digits of a (finite, > 0) that read back, as *m * 10^*e. */
static void shortest_digits(double a, uint64_t *m, int *e)
{
    if (a < 9007199254740992.0 && (double)(uint64_t)a == a) {
        *m = (uint64_t)a; /* an integer below 2^53 is its own shortest */
        *e = 0;
        return;
    }
    int lo = 0, hi = 16;
    digits_round_trip(a, 16, m, e); /* 17 digits always read back */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        uint64_t tm;
        int te;
        if (digits_round_trip(a, mid, &tm, &te)) {
            hi = mid;
            *m = tm;
            *e = te;
        } else {
            lo = mid + 1;
        }
    }
}

/* Write "0" n times at out; returns n. */
static size_t put_zeros(char *out, size_t n)
{
    memset(out, '0', n);
    return n;
}

/* "d.ddde+XX" from dig[0..n) and the exponent x of the first digit. */
static size_t layout_sci(char *out, const char *dig, size_t n, int x)
{
    size_t o = 0;
    out[o++] = dig[0];
    if (n > 1) {
        out[o++] = '.';
        memcpy(out + o, dig + 1, n - 1);
        o += n - 1;
    }
    out[o++] = 'e';
    out[o++] = x < 0 ? '-' : '+';
    unsigned ax = (unsigned)(x < 0 ? -x : x);
    if (ax >= 100)
        out[o++] = (char)('0' + ax / 100);
    out[o++] = (char)('0' + ax / 10 % 10);
    out[o++] = (char)('0' + ax % 10);
    return o;
}

/* Positional form of dig[0..n) with first-digit exponent -4 <= x < 16. */
static size_t layout_fixed(char *out, const char *dig, size_t n, int x)
{
    size_t o = 0;
    if (x < 0) {
        out[o++] = '0';
        out[o++] = '.';
        o += put_zeros(out + o, (size_t)(-x - 1));
        memcpy(out + o, dig, n);
        return o + n;
    }
    size_t ip = (size_t)x + 1; /* digits before the point */
    size_t head = n < ip ? n : ip;
    memcpy(out, dig, head);
    o = head;
    if (n <= ip) {
        o += put_zeros(out + o, ip - n);
        out[o++] = '.';
        out[o++] = '0';
        return o;
    }
    out[o++] = '.';
    memcpy(out + o, dig + ip, n - ip);
    return o + n - ip;
}

/* Copy the literal s into out; returns its length. */
static size_t put_lit(char out[32], const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

size_t evt_py_float_repr(double d, char out[32])
{
    if (isnan(d))
        return put_lit(out, "nan");
    if (isinf(d))
        return put_lit(out, d < 0 ? "-inf" : "inf");
    int neg = signbit(d) != 0;
    double a = neg ? -d : d;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (a == 0)
        return o + put_lit(out + o, "0.0");
    uint64_t m;
    int e;
    shortest_digits(a, &m, &e);
    char dig[24];
    size_t n = u64_dec(m, dig);
    while (n > 1 && dig[n - 1] == '0') {
        n--;
        e++;
    }
    int x = e + (int)n - 1;
    if (x < -4 || x >= 16)
        o += layout_sci(out + o, dig, n, x);
    else
        o += layout_fixed(out + o, dig, n, x);
    out[o] = '\0';
    return o;
}

/* ---- JSON writer ----------------------------------------------------- */

/* One step of the path from the root to the value being written; only
 * turned into text when something fails. */
struct seg {
    const struct seg *up;
    const char *key; /* member name, NULL for an array element */
    size_t klen;
    uint32_t idx;
};

struct wctx {
    struct evt_buf *b;
    const struct evt_json_style *st;
    char *err;
    size_t errlen;
};

static const char hexd[] = "0123456789abcdef";

/* \uXXXX with lowercase hex, as json.dumps. */
static void put_u_escape(struct evt_buf *b, unsigned u)
{
    char t[6] = {'\\', 'u', hexd[(u >> 12) & 15], hexd[(u >> 8) & 15],
                 hexd[(u >> 4) & 15], hexd[u & 15]};
    evt_buf_put(b, t, sizeof t);
}

/* The escape of one ASCII byte that json.dumps does not write raw. */
static void put_byte_escape(struct evt_buf *b, unsigned char c)
{
    const char *s = NULL;
    switch (c) {
    case '"': s = "\\\""; break;
    case '\\': s = "\\\\"; break;
    case '\n': s = "\\n"; break;
    case '\r': s = "\\r"; break;
    case '\t': s = "\\t"; break;
    case '\b': s = "\\b"; break;
    case '\f': s = "\\f"; break;
    default: put_u_escape(b, c); return;
    }
    evt_buf_put(b, s, 2);
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (s[0] >= 0x80),
 * with its code point in *cp; 0 if ill-formed (overlong, surrogate, above
 * U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned c = s[0];
    size_t len;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if ((c & 0xf0) == 0xe0)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    *cp = c & (0x7fu >> len);
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min_cp[len] || *cp > 0x10ffff ||
        (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

/* \uXXXX, or a surrogate pair above U+FFFF (ensure_ascii). */
static void put_cp_escape(struct evt_buf *b, unsigned cp)
{
    if (cp < 0x10000) {
        put_u_escape(b, cp);
        return;
    }
    cp -= 0x10000;
    put_u_escape(b, 0xd800 | (cp >> 10));
    put_u_escape(b, 0xdc00 | (cp & 0x3ff));
}

/* Write s[0..n) as a quoted JSON string. Runs that need no escape are
 * copied in one piece. 0, or -1 with *bad = offset of ill-formed UTF-8. */
/* 1 when none of the 8 bytes of w needs attention in a string: each is
 * ASCII, not a control character, not '"' and not '\\'. */
static int plain8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    uint64_t special = ((w - ones * 0x20) | (q - ones) | (bs - ones)) &
                       ~w & high;
    return ((w & high) | special) == 0;
}

static int put_string(struct evt_buf *b, const char *str, size_t n,
                      int ascii, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;
    buf_putc(b, '"');
    while (i < n) {
        uint64_t w;
        if (i + 8 <= n && (memcpy(&w, s + i, 8), plain8(w))) {
            i += 8; /* the common case: plain ASCII text */
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && !(c == 0x7f && ascii)) {
                i++;
                continue;
            }
            evt_buf_put(b, s + run, i - run);
            put_byte_escape(b, c);
            run = ++i;
            continue;
        }
        unsigned cp;
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (!len) {
            *bad = i;
            return -1;
        }
        if (ascii) {
            evt_buf_put(b, s + run, i - run);
            put_cp_escape(b, cp);
            run = i + len;
        }
        i += len;
    }
    if (run < n) /* s is NULL for an empty str from msgpack-c */
        evt_buf_put(b, s + run, n - run);
    buf_putc(b, '"');
    return 0;
}

/* 1 if k[0..n) can follow a '.' in a path: [A-Za-z_][A-Za-z0-9_]*. */
static int is_ident(const char *k, size_t n)
{
    if (n == 0 || (k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* ['k'] with ' and \ escaped and control bytes as \u00XX. */
static void put_quoted_key(struct evt_buf *pb, const char *k, size_t n)
{
    evt_buf_put(pb, "['", 2);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c == '\'' || c == '\\') {
            buf_putc(pb, '\\');
            buf_putc(pb, (char)c);
        } else if (c < 0x20) {
            put_u_escape(pb, c);
        } else {
            buf_putc(pb, (char)c);
        }
    }
    evt_buf_put(pb, "']", 2);
}

/* The path of s, from "$". Depth is bounded by EVT_JSON_WRITE_MAX_DEPTH. */
static void put_path(struct evt_buf *pb, const struct seg *s)
{
    if (!s) {
        buf_putc(pb, '$');
        return;
    }
    put_path(pb, s->up);
    if (!s->key) {
        char t[24];
        size_t n = u64_dec(s->idx, t + 1);
        t[0] = '[';
        t[n + 1] = ']';
        evt_buf_put(pb, t, n + 2);
    } else if (is_ident(s->key, s->klen)) {
        buf_putc(pb, '.');
        evt_buf_put(pb, s->key, s->klen);
    } else {
        put_quoted_key(pb, s->key, s->klen);
    }
}

/* Fill err with "<path>: <msg>"; returns -1. */
static int fail(struct wctx *w, const struct seg *at, const char *msg)
{
    if (!w->err || !w->errlen)
        return -1;
    struct evt_buf pb;
    evt_buf_init(&pb);
    put_path(&pb, at);
    snprintf(w->err, w->errlen, "%s: %s", pb.oom ? "$" : pb.data, msg);
    evt_buf_free(&pb);
    return -1;
}

static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "a bin";
    case MSGPACK_OBJECT_EXT: return "an ext";
    default: return "of an unknown type";
    }
}

/* A non-finite float: a bare token or null, per the style. */
static const char *nonfinite_token(double d, int as_key,
                                   const struct evt_json_style *st)
{
    if (!as_key && st->nan == EVT_NAN_NULL)
        return "null";
    if (isnan(d))
        return "NaN";
    return d > 0 ? "Infinity" : "-Infinity";
}

static void put_float(struct wctx *w, double d)
{
    char t[32];
    if (!isfinite(d)) {
        evt_buf_puts(w->b, nonfinite_token(d, 0, w->st));
        return;
    }
    evt_buf_put(w->b, t, evt_py_float_repr(d, t));
}

/* The text of map key k as Python's json converts it, in *p and *n
 * (tmp holds it unless k is a str). 0, or -1 if k's type cannot be a
 * key. */
static int key_text(const msgpack_object *k, const struct evt_json_style *st,
                    char tmp[32], const char **p, size_t *n)
{
    *p = tmp;
    switch (k->type) {
    case MSGPACK_OBJECT_STR:
        *p = k->via.str.ptr;
        *n = k->via.str.size;
        return 0;
    case MSGPACK_OBJECT_NIL: *p = "null"; break;
    case MSGPACK_OBJECT_BOOLEAN: *p = k->via.boolean ? "true" : "false"; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *n = u64_dec(k->via.u64, tmp);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *n = i64_dec(k->via.i64, tmp);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(k->via.f64))
            *p = nonfinite_token(k->via.f64, 1, st);
        else
            evt_py_float_repr(k->via.f64, tmp);
        break;
    default:
        return -1;
    }
    *n = strlen(*p);
    return 0;
}

/* A newline, then indent * level spaces. */
static void put_newline(struct wctx *w, int level)
{
    static const char sp[] = "                                ";
    buf_putc(w->b, '\n');
    size_t n = (size_t)w->st->indent * (size_t)level;
    while (n) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        evt_buf_put(w->b, sp, k);
        n -= k;
    }
}

/* What goes before member/element i of a container at depth. */
static void put_item_start(struct wctx *w, uint32_t i, int depth)
{
    int pretty = w->st->indent > 0;
    if (i)
        evt_buf_put(w->b, ", ", pretty ? 1 : 2);
    if (pretty)
        put_newline(w, depth + 1);
}

/* What goes before the closing bracket of a non-empty container. */
static void put_close(struct wctx *w, int depth, char c)
{
    if (w->st->indent > 0)
        put_newline(w, depth);
    buf_putc(w->b, c);
}

static int write_value(struct wctx *w, const msgpack_object *o,
                       const struct seg *at, int depth);

static int write_array(struct wctx *w, const msgpack_object_array *a,
                       const struct seg *at, int depth)
{
    if (a->size == 0) {
        evt_buf_put(w->b, "[]", 2);
        return 0;
    }
    buf_putc(w->b, '[');
    for (uint32_t i = 0; i < a->size; i++) {
        put_item_start(w, i, depth);
        struct seg s = {at, NULL, 0, i};
        if (write_value(w, &a->ptr[i], &s, depth + 1))
            return -1;
    }
    put_close(w, depth, ']');
    return 0;
}

/* Write the key of member i of the map at `at`. */
static int write_key(struct wctx *w, const msgpack_object *k, uint32_t i,
                     const struct seg *at, struct seg *s, char tmp[32])
{
    char msg[128];
    if (key_text(k, w->st, tmp, &s->key, &s->klen)) {
        snprintf(msg, sizeof msg,
                 "map key %" PRIu32 " is %s; JSON keys must be str, int, "
                 "float, bool or nil", i, type_name(k->type));
        return fail(w, at, msg);
    }
    size_t bad;
    if (put_string(w->b, s->key, s->klen, w->st->ensure_ascii, &bad)) {
        snprintf(msg, sizeof msg,
                 "map key %" PRIu32 " is not valid UTF-8 (byte %zu)", i, bad);
        return fail(w, at, msg);
    }
    evt_buf_put(w->b, ": ", 2);
    return 0;
}

static int write_map(struct wctx *w, const msgpack_object_map *m,
                     const struct seg *at, int depth)
{
    if (m->size == 0) {
        evt_buf_put(w->b, "{}", 2);
        return 0;
    }
    buf_putc(w->b, '{');
    for (uint32_t i = 0; i < m->size; i++) {
        put_item_start(w, i, depth);
        struct seg s = {at, NULL, 0, 0};
        char tmp[32];
        if (write_key(w, &m->ptr[i].key, i, at, &s, tmp) ||
            write_value(w, &m->ptr[i].val, &s, depth + 1))
            return -1;
    }
    put_close(w, depth, '}');
    return 0;
}

static int write_str(struct wctx *w, const msgpack_object_str *s,
                     const struct seg *at)
{
    size_t bad;
    if (!put_string(w->b, s->ptr, s->size, w->st->ensure_ascii, &bad))
        return 0;
    char msg[64];
    snprintf(msg, sizeof msg, "string is not valid UTF-8 (byte %zu)", bad);
    return fail(w, at, msg);
}

static int write_scalar(struct wctx *w, const msgpack_object *o,
                        const struct seg *at)
{
    char t[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        evt_buf_put(w->b, "null", 4);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        evt_buf_puts(w->b, o->via.boolean ? "true" : "false");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        evt_buf_put(w->b, t, u64_dec(o->via.u64, t));
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        evt_buf_put(w->b, t, i64_dec(o->via.i64, t));
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        put_float(w, o->via.f64);
        return 0;
    case MSGPACK_OBJECT_STR:
        return write_str(w, &o->via.str, at);
    case MSGPACK_OBJECT_BIN:
        return fail(w, at, "msgpack bin has no JSON form");
    case MSGPACK_OBJECT_EXT:
        return fail(w, at, "msgpack ext has no JSON form");
    default:
        return fail(w, at, "unknown msgpack type");
    }
}

/* Write o, which sits inside depth containers. */
static int write_value(struct wctx *w, const msgpack_object *o,
                       const struct seg *at, int depth)
{
    if (o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP)
        return write_scalar(w, o, at);
    if (depth >= EVT_JSON_WRITE_MAX_DEPTH)
        return fail(w, at, "nesting too deep");
    if (o->type == MSGPACK_OBJECT_ARRAY)
        return write_array(w, &o->via.array, at, depth);
    return write_map(w, &o->via.map, at, depth);
}

int evt_json_write(struct evt_buf *b, const msgpack_object *obj,
                   const struct evt_json_style *style, char *err,
                   size_t errlen)
{
    static const struct evt_json_style compact;
    struct wctx w = {b, style ? style : &compact, err, errlen};
    if (err && errlen)
        err[0] = '\0';
    size_t start = b->len;
    int rc = b->oom ? -1 : write_value(&w, obj, NULL, 0);
    if (b->oom) {
        rc = -1;
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
    }
    if (rc) {
        b->len = start;
        if (b->data)
            b->data[start] = '\0';
    }
    return rc;
}
