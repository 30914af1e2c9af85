/* jwrite.c -- JSON text of msgpack values for the jsonl sink (jwrite.h).
 *
 * Output goes straight into the buffer's memory: jl_jw_room() makes space
 * once for a whole piece (a string, a number) instead of one evt_buf_put
 * per run of bytes, which is where the sdk writer spent much of its
 * time. */
#define _GNU_SOURCE /* memmem */
#include "jwrite.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- output buffer ------------------------------------------------------*/

char *jl_jw_grow(struct evt_buf *b, size_t n)
{
    if (b->oom || n >= SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return NULL;
    }
    size_t need = b->len + n + 1, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return NULL;
    }
    b->data = p;
    b->cap = cap;
    return p + b->len;
}

int jl_jw_fail(struct jl_jw *w, const char *msg)
{
    if (w->err && w->errlen)
        snprintf(w->err, w->errlen, "%s", msg);
    return -1;
}

/* ---- numbers ------------------------------------------------------------*/

int jl_jw_uint(struct jl_jw *w, uint64_t v)
{
    char t[20];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return jl_jw_raw(w, t + i, sizeof t - i);
}

static int put_int(struct jl_jw *w, int64_t v)
{
    if (v >= 0)
        return jl_jw_uint(w, (uint64_t)v);
    return jl_jw_raw(w, "-", 1) || jl_jw_uint(w, (uint64_t)0 - (uint64_t)v);
}

/* A float as json.dumps writes it: repr(float), or a bare NaN token. */
static size_t float_text(double d, char t[32])
{
    if (isfinite(d))
        return evt_py_float_repr(d, t);
    const char *tok = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    size_t n = strlen(tok);
    memcpy(t, tok, n + 1);
    return n;
}

static int put_float(struct jl_jw *w, double d)
{
    char t[32];
    return jl_jw_raw(w, t, float_text(d, t));
}

/* ---- strings ------------------------------------------------------------*/

/* The high bit of each byte of x that needs attention in a JSON string:
 * not ASCII, a control character, '"' or '\\'. Per byte, b - 0x20 sets
 * the high bit when b < 0x20, (b ^ '"') - 1 when b == '"', (b ^ '\\') - 1
 * when b == '\\', and b itself when b >= 0x80; for other ASCII bytes none
 * does. A borrow carried into the next byte only comes from a byte that
 * is flagged, so the lowest flagged byte is always a real one (later ones
 * may not be): put_body() only uses the lowest. */
static inline uint64_t special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    return (x | (x - ones * 0x20) | ((x ^ (ones * '"')) - ones) |
            ((x ^ (ones * '\\')) - ones)) & high;
}

/* Words are read from memory in native byte order: the first byte of a
 * string is the lowest byte of the word on a little-endian machine, which
 * the word tricks below rely on. Elsewhere they are not used. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JL_LE 1
#else
#define JL_LE 0
#endif

/* How many bytes of a word come before its first flagged one (mask !=
 * 0): 0 on a big-endian machine, where the bytes are then looked at one
 * by one, which is slower but as exact. */
static inline size_t plain_prefix(uint64_t mask)
{
#if JL_LE
    return (size_t)__builtin_ctzll(mask) / 8;
#else
    (void)mask;
    return 0;
#endif
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (s[0] >= 0x80), or
 * 0 when it is ill-formed (overlong, surrogate, above U+10FFFF,
 * truncated). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned c = s[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2
                 : (c & 0xf0) == 0xe0   ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    unsigned cp = c & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The escape json.dumps writes for the ASCII byte c ('"', '\\' or a
 * control character) at o; returns its length (2 or 6). */
static size_t put_escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e = c == '"'    ? '"'
             : c == '\\' ? '\\'
             : c == '\n' ? 'n'
             : c == '\r' ? 'r'
             : c == '\t' ? 't'
             : c == '\b' ? 'b'
             : c == '\f' ? 'f' : 0;
    o[0] = '\\';
    if (e) {
        o[1] = e;
        return 2;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return 6;
}

/* 1 for a byte json.dumps writes as it is: printable ASCII or DEL, but
 * not '"' or '\\' (UTF-8 sequences are checked apart). A table: this runs
 * for the last bytes of every string. */
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')
#define PLAIN4(c) PLAIN(c), PLAIN(c + 1), PLAIN(c + 2), PLAIN(c + 3)
#define PLAIN16(c) PLAIN4(c), PLAIN4(c + 4), PLAIN4(c + 8), PLAIN4(c + 12)
#define PLAIN64(c) PLAIN16(c), PLAIN16(c + 16), PLAIN16(c + 32), PLAIN16(c + 48)
static const unsigned char plain_byte[256] = {PLAIN64(0), PLAIN64(64),
                                              PLAIN64(128), PLAIN64(192)};
#undef PLAIN64
#undef PLAIN16
#undef PLAIN4
#undef PLAIN

/* The last r (1..7) bytes of s[0..n), n >= 8, as a word padded with
 * spaces (plain): the 8 bytes that end the string are read, and those
 * before the r, already written, are shifted out. No byte past the end
 * of s is read. Little-endian only. */
static inline uint64_t last_bytes(const unsigned char *s, size_t n, size_t r)
{
    uint64_t x;
    memcpy(&x, s + n - 8, 8);
    return x >> (8 * (8 - r)) | 0x2020202020202020ull << (8 * r);
}

/* Copy the plain bytes at the start of s[0..n) to *o (room for n + 8),
 * moving *o past them. Eight at a time: each word is stored as it is and
 * *o moves over its plain bytes; the last bytes as one padded word when
 * the string has 8 bytes or more, else one by one. Returns how many were
 * copied. */
static inline size_t plain_run(const unsigned char *s, size_t n, char **o)
{
    char *out = *o;
    size_t i = 0;
    uint64_t x, mask = 0;
#if defined(__SSE2__)
    /* Sixteen at a time first, flags exact: a byte below 0x20 or above
     * 0x7f (a signed compare catches both), '"' or '\'. */
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  bslash = _mm_set1_epi8('\\');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        _mm_storeu_si128((__m128i *)(void *)(out + i), v);
        __m128i flag = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                 _mm_cmpeq_epi8(v, bslash)));
        unsigned m = (unsigned)_mm_movemask_epi8(flag);
        if (m) {
            i += (size_t)__builtin_ctz(m);
            *o = out + i;
            return i;
        }
        i += 16;
    }
#endif
    while (n - i >= 8) {
        memcpy(&x, s + i, 8);
        memcpy(out + i, &x, 8);
        if ((mask = special8(x)))
            break;
        i += 8;
    }
    if (!mask && i < n && JL_LE && n >= 8) {
        x = last_bytes(s, n, n - i);
        memcpy(out + i, &x, 8);
        mask = special8(x);
        if (!mask)
            i = n;
    }
    if (mask) {
        i += plain_prefix(mask);
    } else {
        while (i < n && plain_byte[s[i]]) {
            out[i] = (char)s[i];
            i++;
        }
    }
    *o = out + i;
    return i;
}

/* The byte at s[0] that stopped plain_run, written at *o: an escape, a
 * UTF-8 sequence as it is, or (where plain_prefix cannot tell) a plain
 * byte. Returns the bytes of s it took, or 0 at ill-formed UTF-8. */
static size_t put_special(char **o, const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        if (plain_byte[c])
            *(*o)++ = (char)c;
        else
            *o += put_escape(*o, c);
        return 1;
    }
    size_t len = utf8_len(s, n);
    for (size_t k = 0; k < len; k++)
        *(*o)++ = (char)s[k];
    return len;
}

/* s[0..n) escaped (no quotes) at the end of b, which must have room for
 * n + 8 more bytes. Invariant: before byte i there is room for n - i + 8
 * bytes (a plain byte or UTF-8 sequence takes as many bytes as it gives;
 * an escape takes up to 6, so room is made again after one). 0, or -1 on
 * OOM or at ill-formed UTF-8 (its offset in *bad). */
static int put_body(struct evt_buf *b, const unsigned char *s, size_t n,
                    size_t *bad)
{
    char *o = b->data + b->len;
    size_t i = plain_run(s, n, &o); /* all of it, most of the time */
    while (i < n) {
        int esc = s[i] < 0x80;
        size_t took = put_special(&o, s + i, n - i);
        if (!took) {
            *bad = i;
            return -1;
        }
        i += took;
        if (esc) {
            b->len = (size_t)(o - b->data);
            if (!(o = jl_jw_room(b, n - i + 8)))
                return -1;
        }
        i += plain_run(s + i, n - i, &o);
    }
    b->len = (size_t)(o - b->data);
    return 0;
}

/* The error for ill-formed UTF-8 at byte bad of what. Not inlined
 * (here and below): its buffer would enlarge the frame of put_string,
 * which runs for every string. */
__attribute__((noinline)) static int bad_utf8(struct jl_jw *w,
                                              const char *what, size_t bad)
{
    char msg[96];
    if (w->out->oom)
        return -1;
    snprintf(msg, sizeof msg, "%s is not valid UTF-8 (byte %zu)", what, bad);
    return jl_jw_fail(w, msg);
}

/* The marker of a string cut by max_field_bytes, and the closing quote. */
__attribute__((noinline)) static int put_marker(struct jl_jw *w,
                                                size_t removed)
{
    char mark[64];
    int m = snprintf(mark, sizeof mark, JL_TRUNC_FMT "\"", removed);
    return jl_jw_raw(w, mark, (size_t)m);
}

/* "s[0..n)", with the marker of a cut when removed > 0, then ": " for a
 * key. what names the string in an error ("a string", "a map key"). */
static int put_string(struct jl_jw *w, const char *s, size_t n,
                      size_t removed, int key, const char *what)
{
    struct evt_buf *b = w->out;
    size_t bad = 0;
    if (!jl_jw_room(b, n + 12)) /* '"', put_body's n + 8, '"' and ": " */
        return -1;
    b->data[b->len++] = '"';
    if (put_body(b, (const unsigned char *)s, n, &bad))
        return bad_utf8(w, what, bad);
    if (removed) /* never for keys */
        return put_marker(w, removed);
    memcpy(b->data + b->len, "\": ", 3); /* put_body leaves room for 8 */
    b->len += key ? 3 : 1;
    return 0;
}

/* A string value, capped. */
static int put_capped(struct jl_jw *w, const char *s, size_t n)
{
    size_t cut = n;
    if (w->cap && n > w->cap) { /* back to the start of a character */
        cut = w->cap;
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
    }
    return put_string(w, s, cut, n - cut, 0, "a string");
}

/* A string that holds a secret: scrubbed into w->scr (s may be in
 * w->tmp, never in w->scr), then written as a key or a capped value. Not
 * inlined: it runs only when a token is found. */
__attribute__((noinline)) static int put_scrubbed(struct jl_jw *w,
                                                  const char *s, size_t n,
                                                  int key)
{
    struct evt_buf *b = w->scr;
    b->len = 0;
    b->oom = 0;
    jl_secrets_scrub(w->sec, s, n, b);
    if (b->oom) {
        w->out->oom = 1;
        return -1;
    }
    const char *t = b->data ? b->data : "";
    return key ? put_string(w, t, b->len, 0, 1, "a map key")
               : put_capped(w, t, b->len);
}

int jl_jw_str(struct jl_jw *w, const char *s, size_t n)
{
    if (w->sec && w->sec->n && jl_secrets_in(w->sec, s, n))
        return put_scrubbed(w, s, n, 0);
    return put_capped(w, s, n);
}

int jl_jw_key_text(struct jl_jw *w, const char *s, size_t n)
{
    if (w->sec && w->sec->n && jl_secrets_in(w->sec, s, n))
        return put_scrubbed(w, s, n, 1);
    return put_string(w, s, n, 0, 1, "a map key");
}

/* ---- secrets ------------------------------------------------------------*/

/* The filter's bit for the 4 bytes at p. */
static inline uint32_t bloom_bit(const char *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return (x * 0x9e3779b1u) >> (32 - JL_BLOOM_BITS);
}

void jl_secrets_init(struct jl_secrets *k, const char *const *list, size_t n)
{
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < n && k->n < JL_SECRETS_MAX; i++) {
        size_t len = list[i] ? strlen(list[i]) : 0;
        int dup = 0;
        for (size_t j = 0; j < k->n; j++)
            dup |= k->len[j] == len && memcmp(k->s[j], list[i], len) == 0;
        if (len < JL_SECRET_MIN || dup)
            continue;
        k->s[k->n] = list[i];
        k->len[k->n++] = len;
        if (k->minlen == 0 || len < k->minlen)
            k->minlen = len;
        for (size_t at = 0; at + 4 <= len; at++) {
            uint32_t b = bloom_bit(list[i] + at);
            k->bloom[b / 64] |= (uint64_t)1 << (b % 64);
        }
    }
    k->stride = k->minlen - 3; /* JL_SECRET_MIN > 3 */
}

int jl_secrets_in(const struct jl_secrets *k, const char *s, size_t n)
{
    if (!k || !k->n || n < k->minlen)
        return 0;
    size_t at = 0;
    for (; at + 4 <= n; at += k->stride) {
        uint32_t b = bloom_bit(s + at);
        if (k->bloom[b / 64] >> (b % 64) & 1)
            break;
    }
    if (at + 4 > n) /* no piece of a secret where one would have to be */
        return 0;
    for (size_t i = 0; i < k->n; i++)
        if (n >= k->len[i] && memmem(s, n, k->s[i], k->len[i]))
            return 1;
    return 0;
}

void jl_secrets_scrub(const struct jl_secrets *k, const char *s, size_t n,
                      struct evt_buf *out)
{
    size_t at = 0;
    while (at < n) {
        size_t best = n, which = 0;
        for (size_t i = 0; k && i < k->n; i++) {
            const char *h = n - at >= k->len[i]
                                ? memmem(s + at, n - at, k->s[i], k->len[i])
                                : NULL;
            /* the leftmost; at a tie the longest, so that no part of a
             * longer secret stays */
            if (h && ((size_t)(h - s) < best ||
                      ((size_t)(h - s) == best && k->len[i] > k->len[which]))) {
                best = (size_t)(h - s);
                which = i;
            }
        }
        evt_buf_put(out, s + at, best - at);
        if (best == n)
            break;
        evt_buf_puts(out, JL_REDACTED);
        at = best + k->len[which];
    }
}

/* Python str() of the value at c into w->tmp (not a str: those are
 * written directly). */
static int tmp_text(struct jl_jw *w, struct jl_cur *c, int repr)
{
    struct evt_buf *t = w->tmp;
    t->len = 0;
    t->oom = 0;
    int rc = repr ? jl_py_repr(t, c) : jl_py_str(t, c);
    if (t->oom) {
        w->out->oom = 1;
        return -1;
    }
    return rc ? jl_jw_fail(w, "a value nests too deep for str()") : 0;
}

int jl_jw_pystr(struct jl_jw *w, struct jl_cur *c)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v))
        return jl_jw_fail(w, "malformed msgpack");
    if (v.t == JL_MT_STR) {
        *c = peek;
        return jl_jw_str(w, v.s, v.n);
    }
    if (tmp_text(w, c, 0))
        return -1;
    return jl_jw_str(w, w->tmp->data ? w->tmp->data : "", w->tmp->len);
}

int jl_jw_key(struct jl_jw *w, struct jl_cur *c)
{
    struct jl_cur at = *c;
    struct jl_mv v;
    char t[32];
    size_t n = 0;
    if (jl_mp_read(c, &v))
        return jl_jw_fail(w, "malformed msgpack");
    switch (v.t) {
    case JL_MT_STR: return jl_jw_key_text(w, v.s, v.n);
    case JL_MT_NIL: return jl_jw_key_text(w, "null", 4);
    case JL_MT_BOOL:
        return v.v.b ? jl_jw_key_text(w, "true", 4)
                     : jl_jw_key_text(w, "false", 5);
    case JL_MT_UINT: n = (size_t)snprintf(t, sizeof t, "%llu",
                                          (unsigned long long)v.v.u); break;
    case JL_MT_NEG: n = (size_t)snprintf(t, sizeof t, "%lld",
                                         (long long)v.v.i); break;
    case JL_MT_F32:
    case JL_MT_F64: n = float_text(v.v.d, t); break;
    default: /* array, map, bin, ext: no JSON key form, so their str() */
        *c = at;
        if (tmp_text(w, c, 1))
            return -1;
        return jl_jw_key_text(w, w->tmp->data ? w->tmp->data : "",
                              w->tmp->len);
    }
    return jl_jw_key_text(w, t, n);
}

/* ---- containers ---------------------------------------------------------*/

static int put_array(struct jl_jw *w, struct jl_cur *c, uint32_t n,
                     int depth)
{
    if (n == 0)
        return jl_jw_raw(w, "[]", 2);
    if (jl_jw_raw(w, "[", 1))
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || jl_jw_value(w, c, depth + 1))
            return -1;
    return jl_jw_raw(w, "]", 1);
}

static int put_map(struct jl_jw *w, struct jl_cur *c, uint32_t n, int depth)
{
    if (n == 0)
        return jl_jw_raw(w, "{}", 2);
    if (jl_jw_raw(w, "{", 1))
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || jl_jw_key(w, c) ||
            jl_jw_value(w, c, depth + 1))
            return -1;
    return jl_jw_raw(w, "}", 1);
}

int jl_jw_value(struct jl_jw *w, struct jl_cur *c, int depth)
{
    struct jl_cur at = *c;
    struct jl_mv v;
    if (jl_mp_read(c, &v))
        return jl_jw_fail(w, "malformed msgpack");
    switch (v.t) {
    case JL_MT_STR: return jl_jw_str(w, v.s, v.n);
    case JL_MT_UINT: return jl_jw_uint(w, v.v.u);
    case JL_MT_NEG: return put_int(w, v.v.i);
    case JL_MT_F32:
    case JL_MT_F64: return put_float(w, v.v.d);
    case JL_MT_NIL: return jl_jw_raw(w, "null", 4);
    case JL_MT_BOOL:
        return v.v.b ? jl_jw_raw(w, "true", 4) : jl_jw_raw(w, "false", 5);
    case JL_MT_BIN:
    case JL_MT_EXT: /* no JSON form: str(), as the harnesses' json hook */
        *c = at;
        return jl_jw_pystr(w, c);
    case JL_MT_ARRAY:
    case JL_MT_MAP:
        if (depth >= JL_JW_MAX_DEPTH)
            return jl_jw_fail(w, "a value nests too deep");
        return v.t == JL_MT_ARRAY ? put_array(w, c, v.n, depth)
                                  : put_map(w, c, v.n, depth);
    }
    return jl_jw_fail(w, "malformed msgpack");
}
