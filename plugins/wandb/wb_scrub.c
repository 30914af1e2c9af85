/* wb_scrub.c -- secrets out of events and text (wb_scrub.h). */
#define _GNU_SOURCE /* memmem */
#include "wb_scrub.h"

#include <string.h>

#include <msgpack.h>

#define REDACTED "[REDACTED]"
#define INNER_MIN 8 /* shorter secrets are matched as whole strings only */

static int has_any(const char *p, size_t len, const char *const *secrets,
                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = secrets[i] ? strlen(secrets[i]) : 0;
        if (k && memmem(p, len, secrets[i], k))
            return 1;
    }
    return 0;
}

int wb_scrub_text(const char *s, size_t len, const char *const *secrets,
                  size_t n, struct evt_buf *out)
{
    if (!has_any(s, len, secrets, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = secrets[i] ? strlen(secrets[i]) : 0;
        if (k && k == len && memcmp(s, secrets[i], k) == 0) {
            evt_buf_puts(out, REDACTED);
            return 1;
        }
    }
    for (size_t at = 0; at < len;) {
        size_t hit = 0;
        for (size_t i = 0; i < n && !hit; i++) {
            size_t k = secrets[i] ? strlen(secrets[i]) : 0;
            if (k >= INNER_MIN && k <= len - at &&
                memcmp(s + at, secrets[i], k) == 0)
                hit = k;
        }
        if (hit) {
            evt_buf_puts(out, REDACTED);
            at += hit;
        } else {
            evt_buf_put(out, s + at, 1);
            at++;
        }
    }
    return 1;
}

static int buf_write(void *data, const char *buf, size_t len)
{
    struct evt_buf *b = data;
    evt_buf_put(b, buf, len);
    return b->oom ? -1 : 0;
}

struct walker {
    msgpack_packer pk;
    const char *const *secrets;
    size_t n;
    struct evt_buf tmp;
};

static int pack_str(struct walker *w, const msgpack_object *o)
{
    w->tmp.len = 0;
    const char *p = o->via.str.ptr;
    size_t len = o->via.str.size;
    if (wb_scrub_text(p, len, w->secrets, w->n, &w->tmp) == 1) {
        if (w->tmp.oom)
            return -1;
        p = w->tmp.data;
        len = w->tmp.len;
    }
    return msgpack_pack_str(&w->pk, len) ||
           msgpack_pack_str_body(&w->pk, p, len);
}

static int pack(struct walker *w, const msgpack_object *o)
{
    int rc = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR: return pack_str(w, o);
    case MSGPACK_OBJECT_ARRAY:
        rc = msgpack_pack_array(&w->pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++)
            rc = pack(w, &o->via.array.ptr[i]);
        return rc;
    case MSGPACK_OBJECT_MAP:
        rc = msgpack_pack_map(&w->pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++)
            rc = pack(w, &o->via.map.ptr[i].key) ||
                 pack(w, &o->via.map.ptr[i].val);
        return rc;
    default: return msgpack_pack_object(&w->pk, *o);
    }
}

int wb_scrub_msgpack(const void *mp, size_t len, const char *const *secrets,
                     size_t n, struct evt_buf *out)
{
    if (!has_any(mp, len, secrets, n))
        return 0;
    msgpack_zone zone;
    msgpack_object root;
    size_t off = 0;
    if (!msgpack_zone_init(&zone, 2048))
        return -1;
    int rc = -1;
    if (msgpack_unpack(mp, len, &off, &zone, &root) ==
        MSGPACK_UNPACK_SUCCESS) {
        struct walker w = {.secrets = secrets, .n = n};
        evt_buf_init(&w.tmp);
        msgpack_packer_init(&w.pk, out, buf_write);
        rc = pack(&w, &root) == 0 && !out->oom ? 1 : -1;
        evt_buf_free(&w.tmp);
    }
    msgpack_zone_destroy(&zone);
    return rc;
}
