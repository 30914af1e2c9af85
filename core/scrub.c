/* scrub.c -- keep tokens out of evtrack's own files and messages
 * (scrub.h). */
#define _GNU_SOURCE /* memmem */
#include "scrub.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MARK "[REDACTED]"
#define MARK_LEN (sizeof MARK - 1)
#define LONG_SECRET 8   /* bytes: replaced wherever it occurs */
#define MAX_DEPTH 1024  /* nesting the rewriter follows */

size_t evt__secrets(const char *out[EVT__SCRUB_MAX])
{
    static const char *const vars[EVT__SCRUB_MAX] = {
        "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY"};
    size_t n = 0;
    for (size_t i = 0; i < EVT__SCRUB_MAX; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            out[n++] = v;
    }
    return n;
}

void evt__scrub_text(char *buf, size_t cap)
{
    const char *sec[EVT__SCRUB_MAX];
    size_t nsec = evt__secrets(sec);
    if (!buf || cap == 0)
        return;
    for (size_t i = 0; i < nsec; i++) {
        size_t sl = strlen(sec[i]);
        if (sl < LONG_SECRET)
            continue;
        char *hit;
        size_t from = 0;
        while ((hit = strstr(buf + from, sec[i]))) {
            size_t at = (size_t)(hit - buf), len = strlen(buf);
            size_t tail = len - at - sl;
            /* buf = buf[0..at) MARK tail, cut to cap - 1 bytes. */
            if (at + MARK_LEN >= cap) {
                memcpy(buf + at, MARK, cap - 1 - at);
                buf[cap - 1] = '\0';
                break;
            }
            size_t keep = tail;
            if (at + MARK_LEN + keep > cap - 1)
                keep = cap - 1 - at - MARK_LEN;
            memmove(buf + at + MARK_LEN, hit + sl, keep);
            memcpy(buf + at, MARK, MARK_LEN);
            buf[at + MARK_LEN + keep] = '\0';
            from = at + MARK_LEN;
        }
    }
}

/* ---- msgpack ---------------------------------------------------------------*/

struct out {
    unsigned char *p;
    size_t len, cap;
    int oom;
};

static void put(struct out *o, const void *d, size_t n)
{
    if (o->oom || n == 0)
        return;
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap - o->len < n)
            cap *= 2;
        unsigned char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, d, n);
    o->len += n;
}

static uint64_t be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

struct secrets {
    const char *s[EVT__SCRUB_MAX];
    size_t len[EVT__SCRUB_MAX], n;
};

/* 1 when the string s[0..n) must be rewritten. */
static int str_dirty(const struct secrets *k, const unsigned char *s,
                     size_t n)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->len[i] >= LONG_SECRET ? memmem(s, n, k->s[i], k->len[i]) != NULL
                                     : (n == k->len[i] &&
                                        memcmp(s, k->s[i], n) == 0))
            return 1;
    }
    return 0;
}

/* Append the string s[0..n) with its secrets replaced, as a msgpack str
 * with the shortest header. */
static void put_scrubbed_str(struct out *o, const struct secrets *k,
                             const unsigned char *s, size_t n)
{
    struct out t = {0};
    int whole = 0;
    for (size_t i = 0; i < k->n; i++)
        if (k->len[i] < LONG_SECRET && n == k->len[i] &&
            memcmp(s, k->s[i], n) == 0)
            whole = 1;
    if (whole) {
        put(&t, MARK, MARK_LEN);
    } else {
        size_t at = 0;
        while (at < n) {
            size_t best = n, which = 0;
            for (size_t i = 0; i < k->n; i++) {
                if (k->len[i] < LONG_SECRET)
                    continue;
                const unsigned char *h = memmem(s + at, n - at, k->s[i],
                                                k->len[i]);
                if (h && (size_t)(h - s) < best) {
                    best = (size_t)(h - s);
                    which = i;
                }
            }
            put(&t, s + at, best - at);
            if (best == n)
                break;
            put(&t, MARK, MARK_LEN);
            at = best + k->len[which];
        }
    }
    size_t len = t.len;
    unsigned char h[5];
    if (len < 32) {
        h[0] = (unsigned char)(0xa0 | len);
        put(o, h, 1);
    } else if (len < 256) {
        h[0] = 0xd9;
        h[1] = (unsigned char)len;
        put(o, h, 2);
    } else if (len < 65536) {
        h[0] = 0xda;
        h[1] = (unsigned char)(len >> 8);
        h[2] = (unsigned char)len;
        put(o, h, 3);
    } else {
        h[0] = 0xdb;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        put(o, h, 5);
    }
    put(o, t.p, t.len);
    o->oom |= t.oom;
    free(t.p);
}

/* Copy the object at p[*pos] (n bytes in all) to o, rewriting strings.
 * 0, or -1 when the bytes are not msgpack. */
static int walk(const unsigned char *p, size_t n, size_t *pos, struct out *o,
                const struct secrets *k, int depth)
{
    if (*pos >= n || depth > MAX_DEPTH)
        return -1;
    size_t at = *pos, left = n - at;
    unsigned char b = p[at];
    size_t head = 1, body = 0; /* bytes to copy as they are */
    uint64_t items = 0;        /* container members that follow */
    int str = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        /* fixint, nil, bool */
    } else if (b <= 0x8f) {
        items = 2u * (b & 0x0fu);
    } else if (b <= 0x9f) {
        items = b & 0x0fu;
    } else if (b <= 0xbf) {
        body = b & 0x1fu;
        str = 1;
    } else {
        switch (b) {
        case 0xca: body = 4; break;
        case 0xcb: body = 8; break;
        case 0xcc: case 0xd0: body = 1; break;
        case 0xcd: case 0xd1: body = 2; break;
        case 0xce: case 0xd2: body = 4; break;
        case 0xcf: case 0xd3: body = 8; break;
        case 0xd4: body = 2; break;
        case 0xd5: body = 3; break;
        case 0xd6: body = 5; break;
        case 0xd7: body = 9; break;
        case 0xd8: body = 17; break;
        case 0xc4: case 0xc5: case 0xc6:   /* bin */
        case 0xc7: case 0xc8: case 0xc9:   /* ext */
        case 0xd9: case 0xda: case 0xdb: { /* str */
            /* bytes of the length after the type byte: 1, 2 or 4 */
            unsigned w = b == 0xc4 || b == 0xc7 || b == 0xd9   ? 1
                         : b == 0xc5 || b == 0xc8 || b == 0xda ? 2
                                                               : 4;
            if (left < 1 + w)
                return -1;
            body = (size_t)be(p + at + 1, w);
            head = 1 + w;
            if (b >= 0xc7 && b <= 0xc9)
                body += 1; /* the ext type byte */
            str = b >= 0xd9;
            break;
        }
        case 0xdc: case 0xdd: case 0xde: case 0xdf: {
            unsigned w = b == 0xdc || b == 0xde ? 2 : 4;
            if (left < 1 + w)
                return -1;
            items = be(p + at + 1, w);
            if (b >= 0xde)
                items *= 2;
            head = 1 + w;
            break;
        }
        default: /* 0xc1 */
            return -1;
        }
    }
    if (head > left || body > left - head)
        return -1;
    if (str && str_dirty(k, p + at + head, body)) {
        put_scrubbed_str(o, k, p + at + head, body);
    } else {
        put(o, p + at, head + body);
    }
    *pos = at + head + body;
    if (items > n - *pos) /* each member takes a byte at least */
        return -1;
    for (uint64_t i = 0; i < items; i++)
        if (walk(p, n, pos, o, k, depth + 1) != 0)
            return -1;
    return 0;
}

unsigned char *evt__scrub_msgpack(const unsigned char *p, size_t n,
                                  size_t *out_len, int *failed)
{
    struct secrets k = {{0}, {0}, 0};
    *failed = 0;
    k.n = evt__secrets(k.s);
    int any = 0, short_one = 0;
    for (size_t i = 0; i < k.n; i++) {
        k.len[i] = strlen(k.s[i]);
        if (k.len[i] < LONG_SECRET)
            short_one = 1; /* only a walk can tell */
        else if (memmem(p, n, k.s[i], k.len[i]))
            any = 1;
    }
    if (!any && !short_one)
        return NULL;
    struct out o = {0};
    size_t pos = 0;
    int rc = walk(p, n, &pos, &o, &k, 0);
    if (rc != 0 || pos != n || o.oom) {
        free(o.p);
        *failed = 1;
        return NULL;
    }
    if (o.len == n && memcmp(o.p, p, n) == 0) { /* nothing was replaced */
        free(o.p);
        return NULL;
    }
    *out_len = o.len;
    return o.p;
}
