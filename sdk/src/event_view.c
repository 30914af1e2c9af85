/* event_view.c -- read an event's fields in a sink (event_view.h). */
#include "evtrack/sdk/event_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/json_write.h"

/* msgpack-c's unpacker nests at most 32 containers deep. */
#define VIEW_MAX_DEPTH 32

static uint64_t be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The value header at p (left bytes there): its size, then the payload
 * bytes after it (str, bin, ext) or its items (containers; a map's pairs
 * count twice). -1 for the unused type 0xc1 or a cut header. */
static int head(const unsigned char *p, size_t left, size_t *hlen,
                uint64_t *skip, uint64_t *items)
{
    static const unsigned char fixed[] = {2, 3, 5, 9}; /* 0xcc.. 0xd0.. */
    unsigned c = p[0], sz = 0;
    *hlen = 1;
    *skip = *items = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 0;
    if (c <= 0x9f) { /* fixmap, fixarray */
        *items = c <= 0x8f ? 2u * (c & 0x0f) : c & 0x0f;
        return 0;
    }
    if (c <= 0xbf) {
        *skip = c & 0x1f;
        return 0;
    }
    if (c == 0xca || c == 0xcb || (c >= 0xcc && c <= 0xd3)) {
        *hlen = c == 0xca ? 5 : c == 0xcb ? 9 : fixed[(c - 0xcc) & 3];
    } else if (c >= 0xd4 && c <= 0xd8) { /* fixext 1..16 */
        *hlen = 2;
        *skip = 1u << (c - 0xd4);
    } else if (c == 0xc4 || c == 0xd9 || c == 0xc7) {
        sz = 1;
    } else if (c == 0xc5 || c == 0xda || c == 0xc8 || c == 0xdc ||
               c == 0xde) {
        sz = 2;
    } else if (c != 0xc1) { /* 0xc6 0xdb 0xc9 0xdd 0xdf */
        sz = 4;
    } else {
        return -1;
    }
    if (sz) {
        int ext = c >= 0xc7 && c <= 0xc9;
        *hlen = 1 + sz + (unsigned)ext;
        if (left < *hlen)
            return -1;
        uint64_t n = be(p + 1, sz);
        if (c == 0xdc || c == 0xdd)
            *items = n;
        else if (c == 0xde || c == 0xdf)
            *items = 2 * n;
        else
            *skip = n;
    }
    return left < *hlen ? -1 : 0;
}

/* 0 when p[0..len) starts with one whole msgpack value nested at most
 * VIEW_MAX_DEPTH deep. msgpack-c allocates a container's items before it
 * reads them, so bytes that are not an event (a spool or log record from
 * disk) could make it ask for 64 GiB with 5 bytes; after this check it
 * allocates in proportion to len. */
static int whole(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint64_t pending[VIEW_MAX_DEPTH];
    int depth = 0;
    uint64_t todo = 1;
    for (;;) {
        while (todo == 0) {
            if (depth == 0)
                return 0;
            todo = pending[--depth];
        }
        todo--;
        size_t hlen;
        uint64_t skip, items;
        if (p >= end || head(p, (size_t)(end - p), &hlen, &skip, &items))
            return -1;
        p += hlen;
        if (skip > (uint64_t)(end - p))
            return -1;
        p += skip;
        if (!items)
            continue;
        if (depth == VIEW_MAX_DEPTH || items > (uint64_t)(end - p))
            return -1; /* every item takes a byte */
        pending[depth++] = todo;
        todo = items;
    }
}

int evt_view_open_bytes(struct evt_view *v, const void *buf, size_t len)
{
    v->open = 0;
    if (!buf || whole(buf, len) != 0)
        return -1;
    if (!msgpack_zone_init(&v->zone, 2048))
        return -1;
    v->open = 1;
    size_t off = 0;
    msgpack_unpack_return r =
        msgpack_unpack((const char *)buf, len, &off, &v->zone, &v->root);
    if (r != MSGPACK_UNPACK_SUCCESS || v->root.type != MSGPACK_OBJECT_MAP) {
        evt_view_close(v);
        return -1;
    }
    return 0;
}

int evt_view_open(struct evt_view *v, const struct evt_host_api *api,
                  const evt_event *e)
{
    const void *buf;
    size_t len;
    api->ev_msgpack(e, &buf, &len);
    return evt_view_open_bytes(v, buf, len);
}

void evt_view_close(struct evt_view *v)
{
    if (v->open)
        msgpack_zone_destroy(&v->zone);
    v->open = 0;
}

int evt_mp_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s); /* ptr is NULL for an empty str from msgpack-c */
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *evt_mp_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (evt_mp_str_eq(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

char *evt_mp_strdup(const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *s = malloc(o->via.str.size + 1);
    if (!s)
        return NULL;
    if (o->via.str.size)
        memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    return s;
}

int evt_mp_double(const msgpack_object *o, double *out)
{
    if (!o)
        return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
    default: return -1;
    }
}

int evt_mp_int64(const msgpack_object *o, int64_t *out)
{
    if (!o)
        return -1;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return -1;
}

int evt_mp_py_number(struct evt_buf *b, const msgpack_object *o)
{
    char num[32];
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
        evt_buf_puts(b, num);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(num, sizeof num, "%" PRId64, o->via.i64);
        evt_buf_puts(b, num);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        evt_buf_put(b, num, evt_py_float_repr(o->via.f64, num));
        return 0;
    default:
        return -1;
    }
}
