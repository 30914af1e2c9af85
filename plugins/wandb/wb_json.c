/* wb_json.c -- JSON values and ordered maps of the wandb sink (wb_json.h).
 * Strings, numbers and msgpack values go through the sdk's json.dumps
 * writer (evt_json_write, evt_py_float_repr). */
#include "wb_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct evt_json_style wb_style = {0, EVT_NAN_BARE, 0};

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2
                          : (c >= 0xe0 && c <= 0xef)   ? 3
                          : (c >= 0xf0 && c <= 0xf4)   ? 4
                                                       : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
        return 0; /* overlong, surrogate */
    if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
        return 0; /* overlong, above U+10FFFF */
    return len;
}

/* A copy of s with each invalid byte replaced by U+FFFD. */
static void sanitize(struct evt_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);
        if (k == 0) {
            evt_buf_put(out, "\xef\xbf\xbd", 3);
            i++;
        } else {
            evt_buf_put(out, p + i, k);
            i += k;
        }
    }
}

void wb_json_str(struct evt_buf *b, const char *s, size_t n)
{
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)n;
    if (evt_json_write(b, &o, &wb_style, NULL, 0) == 0 || b->oom)
        return;
    struct evt_buf clean;
    evt_buf_init(&clean);
    sanitize(&clean, s, n);
    o.via.str.ptr = clean.data ? clean.data : "";
    o.via.str.size = (uint32_t)clean.len;
    if (clean.oom || evt_json_write(b, &o, &wb_style, NULL, 0) != 0)
        b->oom = 1;
    evt_buf_free(&clean);
}

void wb_json_cstr(struct evt_buf *b, const char *s)
{
    if (s)
        wb_json_str(b, s, strlen(s));
    else
        evt_buf_puts(b, "null");
}

void wb_json_obj(struct evt_buf *b, const msgpack_object *o)
{
    if (evt_json_write(b, o, &wb_style, NULL, 0) == 0 || b->oom)
        return;
    /* bin/ext somewhere inside, or a string that is not UTF-8 (cannot
     * come from the core): keep the JSON valid. */
    if (o->type == MSGPACK_OBJECT_STR)
        wb_json_str(b, o->via.str.ptr, o->via.str.size);
    else
        evt_buf_puts(b, "null");
}

void wb_json_obj_text(struct evt_buf *b, const msgpack_object *o)
{
    struct evt_buf t;
    evt_buf_init(&t);
    wb_json_obj(&t, o);
    wb_json_str(b, t.data ? t.data : "", t.len);
    if (t.oom)
        b->oom = 1;
    evt_buf_free(&t);
}

void wb_json_double(struct evt_buf *b, double d)
{
    char t[32];
    if (isnan(d))
        evt_buf_puts(b, "NaN");
    else if (isinf(d))
        evt_buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
    else
        evt_buf_put(b, t, evt_py_float_repr(d, t));
}

void wb_json_int(struct evt_buf *b, int64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    evt_buf_put(b, t, (size_t)n);
}

/* ---- ordered maps ---------------------------------------------------- */

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static struct wb_kv *find(const struct wb_kvs *m, const char *key,
                          size_t klen)
{
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->v[i].key) == klen && memcmp(m->v[i].key, key, klen) == 0)
            return &m->v[i];
    return NULL;
}

int wb_kvs_set(struct wb_kvs *m, const char *key, size_t klen,
               const char *json, size_t jlen)
{
    /* Keys are kept as C strings: a key holding a NUL byte is its part
     * before it, here too, or setting it again would add it again. */
    klen = strnlen(key, klen);
    char *j = dupn(json, jlen);
    if (!j)
        return -1;
    struct wb_kv *hit = find(m, key, klen);
    if (hit) {
        free(hit->json);
        hit->json = j;
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        struct wb_kv *v = realloc(m->v, cap * sizeof *v);
        if (!v) {
            free(j);
            return -1;
        }
        m->v = v;
        m->cap = cap;
    }
    char *k = dupn(key, klen);
    if (!k) {
        free(j);
        return -1;
    }
    m->v[m->n].key = k;
    m->v[m->n].json = j;
    m->n++;
    return 0;
}

const char *wb_kvs_get(const struct wb_kvs *m, const char *key)
{
    struct wb_kv *hit = find(m, key, strlen(key));
    return hit ? hit->json : NULL;
}

int wb_kvs_merge(struct wb_kvs *dst, const struct wb_kvs *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (wb_kvs_set(dst, src->v[i].key, strlen(src->v[i].key),
                       src->v[i].json, strlen(src->v[i].json)) != 0)
            return -1;
    return 0;
}

void wb_kvs_clear(struct wb_kvs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].json);
    }
    m->n = 0;
}

void wb_kvs_free(struct wb_kvs *m)
{
    wb_kvs_clear(m);
    free(m->v);
    memset(m, 0, sizeof *m);
}

void wb_json_sep(struct evt_buf *b, int *first)
{
    if (!*first)
        evt_buf_put(b, ", ", 2);
    *first = 0;
}

void wb_json_key(struct evt_buf *b, int *first, const char *key)
{
    wb_json_sep(b, first);
    wb_json_cstr(b, key);
    evt_buf_put(b, ": ", 2);
}

void wb_kvs_members(const struct wb_kvs *m, struct evt_buf *b, int *first)
{
    for (size_t i = 0; i < m->n; i++) {
        wb_json_key(b, first, m->v[i].key);
        evt_buf_puts(b, m->v[i].json);
    }
}

void wb_kvs_object(const struct wb_kvs *m, struct evt_buf *b)
{
    int first = 1;
    evt_buf_put(b, "{", 1);
    wb_kvs_members(m, b, &first);
    evt_buf_put(b, "}", 1);
}
