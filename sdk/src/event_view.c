/* event_view.c -- read an event's fields in a sink (event_view.h). */
#include "evtrack/sdk/event_view.h"

#include <stdlib.h>
#include <string.h>

int evt_view_open_bytes(struct evt_view *v, const void *buf, size_t len)
{
    v->open = 0;
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
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
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
