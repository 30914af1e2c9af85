/* json_msgpack.c -- a small recursive-descent JSON reader that writes
 * msgpack as it goes (see json_msgpack.h). */
#include "json_msgpack.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpwrite.h"
#include "strbuf.h"
#include "utf8.h"

struct jp {
    const char *s, *end, *p;
    struct evt_event *e;
    char *err;
    size_t errlen;
    int depth;
};

static int fail(struct jp *j, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = j->s; q < j->p && q < j->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else
            col++;
    }
    return evt__err(j->err, j->errlen, EVT_EINVAL,
                    "JSON line %d column %d: %s", line, col, what);
}

static int oom(struct jp *j)
{
    return evt__err(j->err, j->errlen, EVT_ENOMEM, "out of memory");
}

static void skip_ws(struct jp *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int parse_value(struct jp *j);

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decode one escape at j->p (after the backslash) into o; returns bytes
 * written or -1. */
static int unescape(struct jp *j, char *o)
{
    char c = *j->p++;
    switch (c) {
    case '"': case '\\': case '/':
        *o = c;
        return 1;
    case 'b': *o = '\b'; return 1;
    case 'f': *o = '\f'; return 1;
    case 'n': *o = '\n'; return 1;
    case 'r': *o = '\r'; return 1;
    case 't': *o = '\t'; return 1;
    case 'u': break;
    default: return -1;
    }
    unsigned cp, lo;
    if (j->end - j->p < 4 || hex4(j->p, &cp))
        return -1;
    j->p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
            hex4(j->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return -1;
        j->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    return (int)put_utf8(o, cp);
}

/* Parse a string at j->p (on the opening quote) and write it. Plain runs
 * are copied directly; escapes are decoded into the output. */
static int parse_string(struct jp *j)
{
    const char *start = ++j->p;
    const char *q = start;
    while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    if (q >= j->end)
        return fail(j, "unterminated string");
    struct evt_event *e = j->e;
    if (*q == '"') { /* fast path: no escapes */
        size_t n = (size_t)(q - start), bad;
        if (!evt__utf8_valid(start, n, &bad)) {
            j->p = start + bad;
            return fail(j, "invalid UTF-8 in string");
        }
        if (mp_str(e, start, n))
            return oom(j);
        j->p = q + 1;
        return 0;
    }
    /* Slow path: the decoded string is never longer than the source. */
    const char *close = q;
    while (close < j->end && *close != '"')
        close += (*close == '\\') ? 2 : 1;
    if (close >= j->end)
        return fail(j, "unterminated string");
    size_t max = (size_t)(close - start);
    size_t hdr_off = e->len;
    if (mp_tagged(e, 0xdb, 0, 4) || evt__event_reserve(e, max + 4))
        return oom(j);
    char *out = (char *)e->buf + e->len;
    size_t n = 0;
    j->p = start;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20)
            return fail(j, "control character in string");
        if (c == '\\') {
            j->p++;
            int w = unescape(j, out + n);
            if (w < 0)
                return fail(j, "bad escape in string");
            n += (size_t)w;
        } else {
            out[n++] = (char)c;
            j->p++;
        }
    }
    size_t bad;
    if (!evt__utf8_valid(out, n, &bad))
        return fail(j, "invalid UTF-8 in string");
    j->p++;
    /* Move the text down behind the shortest header, so the encoding is
     * the same as for an unescaped string. */
    e->len = hdr_off;
    size_t body = hdr_off + 5;
    mp_str_hdr(e, n); /* cannot fail: room was reserved */
    memmove(e->buf + e->len, e->buf + body, n);
    e->len += n;
    return 0;
}

static int is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
           c == 'e' || c == 'E';
}

/* strtod in the "C" locale whatever the host process set (a comma-decimal
 * LC_NUMERIC would otherwise break "1.5"). */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    if (!c_locale)
        return strtod(s, end);
    locale_t old = uselocale(c_locale);
    double d = strtod(s, end);
    uselocale(old);
    return d;
}

static int parse_number(struct jp *j)
{
    const char *start = j->p;
    int is_float = 0;
    while (j->p < j->end && is_num_char(*j->p)) {
        if (*j->p == '.' || *j->p == 'e' || *j->p == 'E')
            is_float = 1;
        j->p++;
    }
    size_t n = (size_t)(j->p - start);
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return fail(j, n ? "number too long" : "unexpected character");
    memcpy(buf, start, n);
    buf[n] = '\0';
    char *endp;
    errno = 0;
    if (!is_float) {
        if (buf[0] == '-') {
            long long v = strtoll(buf, &endp, 10);
            if (*endp == '\0' && errno == 0)
                return mp_int(j->e, v) ? oom(j) : 0;
        } else {
            unsigned long long v = strtoull(buf, &endp, 10);
            if (*endp == '\0' && errno == 0 && buf[0] != '+')
                return mp_uint(j->e, v) ? oom(j) : 0;
        }
        errno = 0;
    }
    double d = strtod_c(buf, &endp);
    if (*endp != '\0' || buf[0] == '+' || buf[0] == '.')
        return fail(j, "malformed number");
    return mp_double(j->e, d) ? oom(j) : 0;
}

static int match_word(struct jp *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

/* Hand the member whose key was written at koff to fn. */
static int call_member_fn(struct jp *j, evt__json_member_fn fn, void *ctx,
                          size_t koff, size_t voff)
{
    const unsigned char *b = j->e->buf + koff;
    size_t n, h;
    if ((b[0] & 0xe0) == 0xa0) {
        n = b[0] & 0x1f;
        h = 1;
    } else if (b[0] == 0xd9) {
        n = b[1];
        h = 2;
    } else if (b[0] == 0xda) {
        n = ((size_t)b[1] << 8) | b[2];
        h = 3;
    } else {
        n = ((size_t)b[1] << 24) | ((size_t)b[2] << 16) |
            ((size_t)b[3] << 8) | b[4];
        h = 5;
    }
    return fn(ctx, (const char *)b + h, n, voff, j->err, j->errlen);
}

static int parse_container(struct jp *j, int is_map, evt__json_member_fn fn,
                           void *ctx, uint32_t *count_out, int headerless)
{
    if (++j->depth > EVT_JSON_MAX_DEPTH)
        return fail(j, "nesting too deep");
    size_t off = 0;
    if (!headerless && mp_container32(j->e, is_map, &off))
        return oom(j);
    j->p++; /* past { or [ */
    uint32_t count = 0;
    char close = is_map ? '}' : ']';
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
    } else {
        for (;;) {
            skip_ws(j);
            size_t koff = j->e->len;
            if (is_map) {
                if (j->p >= j->end || *j->p != '"')
                    return fail(j, "expected a string key");
                int rc = parse_string(j);
                if (rc)
                    return rc;
                skip_ws(j);
                if (j->p >= j->end || *j->p != ':')
                    return fail(j, "expected ':'");
                j->p++;
            }
            size_t voff = j->e->len;
            int rc = parse_value(j);
            if (rc)
                return rc;
            if (fn && (rc = call_member_fn(j, fn, ctx, koff, voff)))
                return rc;
            count++;
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                break;
            }
            return fail(j, is_map ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (!headerless)
        mp_patch_count(j->e, off, count);
    if (count_out)
        *count_out = count;
    j->depth--;
    return 0;
}

static int parse_value(struct jp *j)
{
    skip_ws(j);
    if (j->p >= j->end)
        return fail(j, "unexpected end of input");
    char c = *j->p;
    if (c == '{' || c == '[')
        return parse_container(j, c == '{', NULL, NULL, NULL, 0);
    if (c == '"')
        return parse_string(j);
    if (match_word(j, "true"))
        return mp_bool(j->e, 1) ? oom(j) : 0;
    if (match_word(j, "false"))
        return mp_bool(j->e, 0) ? oom(j) : 0;
    if (match_word(j, "null"))
        return mp_nil(j->e) ? oom(j) : 0;
    if (match_word(j, "NaN"))
        return mp_double(j->e, NAN) ? oom(j) : 0;
    if (match_word(j, "Infinity"))
        return mp_double(j->e, INFINITY) ? oom(j) : 0;
    if (match_word(j, "-Infinity"))
        return mp_double(j->e, -INFINITY) ? oom(j) : 0;
    return parse_number(j);
}

static int finish(struct jp *j)
{
    skip_ws(j);
    if (j->p != j->end)
        return fail(j, "trailing characters after the JSON value");
    return 0;
}

int evt__json_to_mp(struct evt_event *e, const char *text, size_t len,
                    char *err, size_t errlen)
{
    struct jp j = {text, text + len, text, e, err, errlen, 0};
    int rc = parse_value(&j);
    return rc ? rc : finish(&j);
}

int evt__json_members_to_mp(struct evt_event *e, const char *text,
                            size_t len, evt__json_member_fn fn, void *ctx,
                            uint32_t *count, char *err, size_t errlen)
{
    struct jp j = {text, text + len, text, e, err, errlen, 0};
    skip_ws(&j);
    if (j.p >= j.end || *j.p != '{')
        return fail(&j, "expected a JSON object");
    int rc = parse_container(&j, 1, fn, ctx, count, 1);
    return rc ? rc : finish(&j);
}
